from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notifications import outbox
        from notifications.services import on_events
        from notifications.tasks import dispatch_outbox_task
        from vcftrack.core.events import subscribe

        subscribe(on_events)
        # A commit that wrote to the outbox asks a worker to send it at once.
        outbox.use_enqueue(lambda: dispatch_outbox_task.apply_async(retry=False))
