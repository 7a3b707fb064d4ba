"""API tokens expire (issue 9): ``expires_at``, set for tokens issued before
from their creation plus the default lifetime (90 days)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import migrations, models

DEFAULT_LIFETIME = timedelta(days=90)


def set_expiry(apps: Any, schema_editor: Any) -> None:
    ApiToken = apps.get_model("api", "ApiToken")
    for token in ApiToken.objects.filter(expires_at__isnull=True).iterator():
        token.expires_at = token.created_at + DEFAULT_LIFETIME
        token.save(update_fields=["expires_at"])


class Migration(migrations.Migration):
    dependencies = [("api", "0002_listing_indexes")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(set_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
