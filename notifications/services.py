"""Due-task notifications and the daily digest; both idempotent."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from notifications.models import DigestLog, Notification, NotificationKind
from pathways.models import FollowUpTask, TaskState
from patients.models import Clinic, Membership, Role


def notify_due_tasks(*, now: datetime, limit: int = 5000) -> int:
    """Notify the assignee (or the clinic's coordinators) of tasks now due or overdue.

    1. For each clinic, take open tasks in state due / overdue on its date.
    2. Create one notification per (user, task, kind); the unique constraint
       makes a second run, or two workers at once, a no-op.
    """
    created = 0
    coordinators: dict[object, list[int]] = defaultdict(list)
    for clinic_id, user_id in Membership.objects.filter(role=Role.COORDINATOR).values_list(
        "clinic_id", "user_id"
    ):
        coordinators[clinic_id].append(user_id)
    for clinic in Clinic.objects.all():
        today = clinic.today(now)
        for state, kind in (
            (TaskState.DUE, NotificationKind.TASK_DUE),
            (TaskState.OVERDUE, NotificationKind.TASK_OVERDUE),
        ):
            tasks = (
                FollowUpTask.objects.in_state(state, today)
                .filter(clinic=clinic)
                .exclude(notifications__kind=kind)
                .values_list("id", "assignee_id")[:limit]
            )
            rows = []
            for task_id, assignee_id in tasks:
                for user_id in [assignee_id] if assignee_id else coordinators.get(clinic.id, []):
                    rows.append(
                        Notification(user_id=user_id, task_id=task_id, kind=kind, created_at=now)
                    )
            if rows:
                Notification.objects.bulk_create(rows, ignore_conflicts=True)
                created += len(rows)
    return created


def send_daily_digest(*, now: datetime) -> int:
    """One e-mail a day per member with an address: counts of overdue and due tasks."""
    sent = 0
    memberships = Membership.objects.select_related("user", "clinic").exclude(user__email="")
    per_user: dict[int, tuple[object, list[Clinic]]] = {}
    for m in memberships:
        per_user.setdefault(m.user_id, (m.user, []))[1].append(m.clinic)
    for user_id, (user, clinics) in per_user.items():
        day: date = clinics[0].today(now)
        overdue = due = 0
        for clinic in clinics:
            today = clinic.today(now)
            overdue += (
                FollowUpTask.objects.in_state(TaskState.OVERDUE, today)
                .filter(clinic=clinic)
                .count()
            )
            due += FollowUpTask.objects.in_state(TaskState.DUE, today).filter(clinic=clinic).count()
        try:
            with transaction.atomic():
                DigestLog.objects.create(
                    user_id=user_id, day=day, sent_at=now, overdue=overdue, due=due
                )
                send_mail(
                    subject=f"vcftrack: {overdue} overdue, {due} due today",
                    message=(
                        f"Good morning. Your clinics have {overdue} overdue and {due} due "
                        "follow-up tasks. Open your worklist to work them."
                    ),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[user.email],  # type: ignore[attr-defined]
                )
        except IntegrityError:
            continue  # already sent today
        sent += 1
    return sent
