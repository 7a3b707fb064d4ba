"""Celery tasks: thin. They read the clock once and call one service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="notifications.tasks.notify_due_tasks_task")
def notify_due_tasks_task() -> str:
    """Beat: overdue notices to assignees, then the escalation rules."""
    from notifications.services import escalate_overdue, notify_overdue

    now = timezone.now()
    notified = notify_overdue(now=now)
    escalated = escalate_overdue(now=now)
    return f"{notified} overdue notice(s), {escalated} escalation(s)"


@shared_task(name="notifications.tasks.send_daily_digest_task")
def send_daily_digest_task() -> int:
    """Beat (often): queues the digests whose hour has come; each once a day."""
    from notifications.digest import send_digests

    return send_digests(now=timezone.now())


@shared_task(name="notifications.tasks.dispatch_outbox_task")
def dispatch_outbox_task() -> str:
    """Beat, and kicked after each commit that wrote to the outbox."""
    from notifications.dispatch import dispatch_outbox

    return dispatch_outbox(now=timezone.now(), clock=timezone.now).summary()
