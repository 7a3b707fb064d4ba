"""Writes of the notifications app: notifying, escalating, reading the inbox.

Everything here writes outbox rows under unique keys, in the caller's
transaction; workers send them after commit (notifications/outbox.py). Running
any of it twice, or on two workers at once, writes nothing twice.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string

from notifications import recipients
from notifications.escalation import ESCALATION_RULES, EscalationRule
from notifications.models import (
    MUTABLE_KINDS,
    Escalation,
    Notification,
    OutgoingEmail,
    Preference,
)
from notifications.outbox import kick_dispatch
from notifications.recipients import Draft, Member
from pathways.models import FollowUpTask, TaskState
from patients.models import Clinic, Membership
from vcftrack.core.errors import FieldErrors
from vcftrack.core.events import TASK_ESCALATED, DomainEvent, publish


@dataclass(frozen=True)
class Prefs:
    in_app: bool = True
    email: bool = False
    muted: frozenset[str] = frozenset()


def clinic_members(clinic_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Member]]:
    members: dict[uuid.UUID, list[Member]] = defaultdict(list)
    rows = Membership.objects.filter(clinic_id__in=set(clinic_ids), user__is_active=True)
    for clinic_id, user_id, role, lead in rows.values_list("clinic_id", "user_id", "role", "lead"):
        members[clinic_id].append(Member(user_id=user_id, role=role, lead=lead))
    return members


def notify(*, drafts: Sequence[Draft], now: datetime) -> int:
    """Write the in-app notifications and e-mails of ``drafts`` as each person prefers.

    1. Load the recipients' addresses and preferences (1 query).
    2. Drop what a person muted (never urgent work).
    3. Insert notifications and e-mails; their unique keys make a repeat a no-op.
    """
    if not drafts:
        return 0
    users = {
        row["id"]: row
        for row in get_user_model()
        .objects.filter(id__in={d.user_id for d in drafts}, is_active=True)
        .values(
            "id",
            "email",
            "notification_preference__in_app",
            "notification_preference__email",
            "notification_preference__muted_kinds",
        )
    }
    rows: list[Notification] = []
    mail: list[tuple[Draft, str]] = []
    for d in drafts:
        user = users.get(d.user_id)
        if user is None:
            continue
        prefs = _prefs(user)
        if d.kind in prefs.muted and not d.urgent:
            continue
        if prefs.in_app or d.urgent:
            rows.append(
                Notification(
                    user_id=d.user_id,
                    task_id=d.task_id,
                    patient_id=d.patient_id,
                    kind=d.kind,
                    key=d.key,
                    created_at=now,
                )
            )
        if prefs.email and user["email"]:
            mail.append((d, user["email"]))
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if mail:
        _queue_notification_emails(mail, now=now)
    return len(rows)


def _prefs(row: Any) -> Prefs:
    if row["notification_preference__in_app"] is None:
        return Prefs()
    return Prefs(
        in_app=row["notification_preference__in_app"],
        email=row["notification_preference__email"],
        muted=frozenset(row["notification_preference__muted_kinds"] or ()),
    )


def _queue_notification_emails(mail: list[tuple[Draft, str]], *, now: datetime) -> None:
    tasks = {
        row["id"]: row
        for row in FollowUpTask.objects.filter(id__in={d.task_id for d, _ in mail}).values(
            "id",
            "title",
            "due_date",
            "priority",
            "clinic__name",
            "patient_id",
            "patient__given_name",
            "patient__family_name",
        )
    }
    emails = []
    for d, address in mail:
        task = tasks.get(d.task_id)
        if task is None:
            continue
        context = {
            "task": task,
            "reason": KIND_SENTENCES[d.kind],
            "site_url": settings.SITE_URL,
        }
        emails.append(
            OutgoingEmail(
                key=f"notify:{d.user_id}:{d.key}",
                user_id=d.user_id,
                to=address,
                subject=f"vcftrack: {KIND_SUBJECTS[d.kind]}: {task['title']}"[:200],
                text=render_to_string("notifications/email/notification.txt", context),
                created_at=now,
                next_attempt_at=now,
            )
        )
    OutgoingEmail.objects.bulk_create(emails, ignore_conflicts=True)
    kick_dispatch()


KIND_SUBJECTS = {
    "assigned": "assigned to you",
    "urgent": "urgent task",
    "overdue": "your task is overdue",
    "escalated": "escalated to you",
}
KIND_SENTENCES = {
    "assigned": "A task was assigned to you.",
    "urgent": "An urgent task was raised in your clinic.",
    "overdue": "A task assigned to you is overdue.",
    "escalated": "A task has been left undone and is escalated to you.",
}


def on_events(events: Sequence[DomainEvent]) -> None:
    """Subscriber of vcftrack.core.events: notifications and webhooks, same transaction."""
    from notifications.webhooks import queue_deliveries

    urgent_clinics = {
        e.clinic_id
        for e in events
        if e.data.get("priority") == "urgent" and e.type == "task.created"
    }
    members = clinic_members(urgent_clinics) if urgent_clinics else {}
    drafts = [d for e in events for d in recipients.for_event(e, members.get(e.clinic_id, []))]
    notify(drafts=drafts, now=events[0].at)
    queue_deliveries(events=events)


# --------------------------------------------------------------- the notifier --
def _todays(now: datetime, as_of: date | None) -> list[tuple[Clinic, date]]:
    return [(c, as_of or c.today(now)) for c in Clinic.objects.all()]


def notify_overdue(*, now: datetime, as_of: date | None = None, limit: int = 2000) -> int:
    """Tell each assignee, once, that their task is overdue (unassigned work: no fan-out)."""
    created = 0
    for clinic, today in _todays(now, as_of):
        already = Notification.objects.filter(
            task_id=OuterRef("pk"), user_id=OuterRef("assignee_id"), key__startswith="overdue:"
        )
        tasks = (
            FollowUpTask.objects.in_state(TaskState.OVERDUE, today)
            .filter(clinic=clinic, assignee__isnull=False)
            .exclude(Exists(already))
            .values_list("id", "patient_id", "assignee_id", "priority")[:limit]
        )
        drafts = [
            d
            for task_id, patient_id, assignee_id, priority in tasks
            for d in recipients.for_overdue(
                task_id=task_id, patient_id=patient_id, assignee_id=assignee_id, priority=priority
            )
        ]
        with transaction.atomic():
            created += notify(drafts=drafts, now=now)
    return created


def escalation_candidates(rule: EscalationRule, clinic: Clinic, today: date) -> Any:
    """Open tasks of ``rule``'s priority, overdue, ``days_overdue`` past their effective due."""
    since = today - timedelta(days=rule.days_overdue)
    done = Escalation.objects.filter(task_id=OuterRef("pk"), level=rule.level)
    return (
        FollowUpTask.objects.in_state(TaskState.OVERDUE, today)
        .filter(clinic=clinic, priority=rule.priority, due_date__lte=since)
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=since))
        .exclude(Exists(done))
    )


def escalate_overdue(*, now: datetime, as_of: date | None = None, limit: int = 2000) -> int:
    """Apply the escalation rules: once per task and level.

    1. For each clinic and rule, find open tasks past the rule's threshold
       that have no escalation of its level.
    2. In one transaction per clinic and rule: insert the escalations
       (unique task + level: a second worker's insert is ignored), notify the
       rule's target people, and publish task.escalated (webhooks).
    """
    escalated = 0
    for clinic, today in _todays(now, as_of):
        members: list[Member] | None = None
        for rule in ESCALATION_RULES:
            tasks = list(
                escalation_candidates(rule, clinic, today).values(
                    "id", "episode_id", "patient_id", "rule", "occurrence", "priority"
                )[:limit]
            )
            if not tasks:
                continue
            if members is None:
                members = clinic_members([clinic.id]).get(clinic.id, [])
            with transaction.atomic():
                Escalation.objects.bulk_create(
                    [
                        Escalation(
                            task_id=t["id"],
                            clinic=clinic,
                            rule=rule.code,
                            level=rule.level,
                            target=rule.target,
                            created_at=now,
                        )
                        for t in tasks
                    ],
                    ignore_conflicts=True,
                )
                drafts = [
                    d
                    for t in tasks
                    for d in recipients.for_escalation(
                        task_id=t["id"],
                        patient_id=t["patient_id"],
                        level=rule.level,
                        target=rule.target,
                        priority=t["priority"],
                        members=members,
                    )
                ]
                notify(drafts=drafts, now=now)
                publish([_escalated_event(t, clinic, rule, now) for t in tasks])
            escalated += len(tasks)
    return escalated


def _escalated_event(
    task: dict[str, Any], clinic: Clinic, rule: EscalationRule, now: datetime
) -> DomainEvent:
    data = {
        "task": str(task["id"]),
        "episode": str(task["episode_id"]) if task["episode_id"] else None,
        "patient": str(task["patient_id"]),
        "rule": task["rule"],
        "occurrence": task["occurrence"],
        "priority": task["priority"],
        "escalation": rule.code,
        "level": rule.level,
        "target": rule.target,
    }
    return DomainEvent(
        TASK_ESCALATED, clinic.id, f"{TASK_ESCALATED}:{task['id']}:{rule.level}", now, data
    )


# ------------------------------------------------------------------ the inbox --
def notification_mark_read(*, user: Any, notification_id: int, now: datetime) -> int:
    """Mark one of the user's notifications read; another person's is not found (0)."""
    return Notification.objects.unread().filter(user=user, pk=notification_id).update(read_at=now)


def notification_mark_all_read(*, user: Any, now: datetime) -> int:
    return Notification.objects.unread().filter(user=user).update(read_at=now)


def preference_update(*, user: Any, data: dict[str, Any]) -> Preference:
    """Channels, muted kinds (never urgent) and the digest hour, validated at once."""
    errors = FieldErrors()
    muted = [str(k) for k in data.get("muted_kinds", [])]
    for kind in muted:
        if kind not in MUTABLE_KINDS:
            errors.add("muted_kinds", "Urgent notifications cannot be muted.")
            break
    try:
        hour = int(data.get("digest_hour", 7))
    except (TypeError, ValueError):
        hour = -1
    if not 0 <= hour <= 23:
        errors.add("digest_hour", "Pick an hour between 0 and 23.")
    errors.raise_if_any()
    pref, _ = Preference.objects.update_or_create(
        user=user,
        defaults={
            "in_app": bool(data.get("in_app")),
            "email": bool(data.get("email")),
            "digest": bool(data.get("digest")),
            "muted_kinds": sorted(set(muted)),
            "digest_hour": hour,
        },
    )
    return pref
