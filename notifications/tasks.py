from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="notifications.tasks.notify_due_tasks_task")
def notify_due_tasks_task() -> int:
    from notifications.services import notify_due_tasks

    return notify_due_tasks(now=timezone.now())


@shared_task(name="notifications.tasks.send_daily_digest_task")
def send_daily_digest_task() -> int:
    from notifications.services import send_daily_digest

    return send_daily_digest(now=timezone.now())
