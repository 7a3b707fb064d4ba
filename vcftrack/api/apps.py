from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "vcftrack.api"
    label = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The web session's clocks (vcftrack.sessions) start at sign-in. This
        # is the project's one app config, so the cross-cutting hook lives here.
        from django.contrib.auth.signals import user_logged_in

        from vcftrack.sessions import start_session_clock

        user_logged_in.connect(start_session_clock, dispatch_uid="vcftrack-session-clock")
