from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "vcftrack.core.api"
    label = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        _check_rates()


def _check_rates() -> None:
    """A malformed API_RATE_* stops the start-up, not the first request."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from vcftrack.core.api.throttling import parse_rate

    for name in ("API_RATE_PER_TOKEN", "API_RATE_PER_USER", "API_RATE_ANONYMOUS"):
        try:
            parse_rate(getattr(settings, name))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from exc
