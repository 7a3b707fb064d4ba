from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer's own start-up hooks (it has no models)."""

    name = "vcftrack.core"
    label = "core"
    verbose_name = "vcftrack core"

    def ready(self) -> None:
        # The web session's clocks (vcftrack.core.sessions) start at sign-in.
        from django.contrib.auth.signals import user_logged_in

        from vcftrack.core.sessions import start_session_clock

        user_logged_in.connect(start_session_clock, dispatch_uid="vcftrack-session-clock")
