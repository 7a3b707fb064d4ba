from __future__ import annotations

from django.db import migrations


def create_row(apps, schema_editor):  # type: ignore[no-untyped-def]
    ChangeCounter = apps.get_model("patients", "ChangeCounter")
    ChangeCounter.objects.get_or_create(id=1, defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
