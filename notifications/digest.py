"""The daily digest: the actual open tasks of a person, at the hour they chose.

Who sees which tasks: everyone their own (assigned) tasks; coordinators also
the unassigned tasks of their clinics (that is how unowned routine work
reaches people without a notification each), and the tasks escalated to the
digest (routine tasks 30 days overdue).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from notifications.models import DigestLog, Escalation, EscalationTarget, OutgoingEmail
from notifications.outbox import kick_dispatch
from pathways.models import FollowUpTask, TaskState
from patients.models import Membership
from vcftrack.core.scoping import Role

PRIORITIES = (("urgent", "Urgent"), ("high", "High priority"), ("routine", "Routine"))
# Rows per group in the mail; the rest is counted and left to the worklist.
GROUP_LIMIT = 25


@dataclass
class DigestRow:
    patient: str
    task: str
    due: date
    days_overdue: int
    link: str


@dataclass
class Digest:
    groups: list[tuple[str, list[DigestRow], int]] = field(default_factory=list)
    escalated: list[DigestRow] = field(default_factory=list)
    overdue: int = 0
    due: int = 0

    @property
    def empty(self) -> bool:
        return not any(rows for _, rows, _ in self.groups) and not self.escalated


def _row(task: dict[str, Any], today: date) -> DigestRow:
    effective = max(task["due_date"], task["snoozed_until"] or task["due_date"])
    overdue = (today - effective).days if task["overdue_from"] <= today else 0
    name = f"{task['patient__given_name']} {task['patient__family_name']}"
    link = settings.SITE_URL + reverse("patient_detail", args=[task["patient_id"]])
    return DigestRow(
        patient=name, task=task["title"], due=effective, days_overdue=overdue, link=link
    )


TASK_COLUMNS = (
    "id",
    "title",
    "priority",
    "due_date",
    "snoozed_until",
    "overdue_from",
    "patient_id",
    "patient__given_name",
    "patient__family_name",
)


def build_digest(
    *, user_id: int, clinic_days: dict[uuid.UUID, date], coordinator_of: set[uuid.UUID]
) -> Digest:
    digest = Digest()
    mine = Q(assignee_id=user_id)
    if coordinator_of:
        mine |= Q(assignee__isnull=True, clinic_id__in=coordinator_of)
    by_priority: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for clinic_id, today in clinic_days.items():
        for state in (TaskState.OVERDUE, TaskState.DUE):
            qs = FollowUpTask.objects.in_state(state, today).filter(mine, clinic_id=clinic_id)
            for task in qs.order_by("overdue_from", "due_date").values(*TASK_COLUMNS):
                task["today"] = today
                by_priority[task["priority"]].append(task)
                if state == TaskState.OVERDUE:
                    digest.overdue += 1
                else:
                    digest.due += 1
    for code, label in PRIORITIES:
        tasks = by_priority.get(code, [])
        rows = [_row(t, t["today"]) for t in tasks[:GROUP_LIMIT]]
        digest.groups.append((label, rows, len(tasks) - len(rows)))
    if coordinator_of:
        escalated = (
            Escalation.objects.filter(
                clinic_id__in=coordinator_of,
                target=EscalationTarget.DIGEST,
                task__status="open",
                task__deleted_at__isnull=True,
            )
            .order_by("task__due_date")
            .values_list("task_id", flat=True)[:GROUP_LIMIT]
        )
        tasks = FollowUpTask.objects.filter(id__in=list(escalated)).values(
            *TASK_COLUMNS, "clinic_id"
        )
        digest.escalated = sorted(
            (_row(t, clinic_days[t["clinic_id"]]) for t in tasks), key=lambda r: r.due
        )
    return digest


def send_digests(*, now: datetime, as_of: date | None = None) -> int:
    """Queue each person's digest once a day, at their hour, in their clinic's zone.

    1. For each active user with an e-mail address, a membership and the
       digest on: the day and hour in their first clinic's zone.
    2. Skip before their hour, and when today's digest is logged.
    3. Build it; in one transaction log the day (unique user + day: a
       second worker's insert fails and it moves on) and, unless nothing is
       open, queue the e-mail in the outbox.
    """
    memberships: dict[int, list[Membership]] = defaultdict(list)
    for m in (
        Membership.objects.filter(user__is_active=True)
        .exclude(user__email="")
        .select_related("clinic")
        .order_by("clinic__name")
    ):
        memberships[m.user_id].append(m)
    users = {
        u["id"]: u
        for u in get_user_model()
        .objects.filter(id__in=memberships)
        .values(
            "id",
            "email",
            "first_name",
            "notification_preference__digest",
            "notification_preference__digest_hour",
        )
    }
    logged = set(
        DigestLog.objects.filter(
            user_id__in=memberships, day__gte=(as_of or now.date()) - timedelta(days=1)
        ).values_list("user_id", "day")
    )
    queued = 0
    for user_id, ms in memberships.items():
        user = users[user_id]
        if user["notification_preference__digest"] is False:
            continue
        hour = user["notification_preference__digest_hour"]
        local = now.astimezone(ms[0].clinic.tzinfo)
        day = as_of or local.date()
        if (user_id, day) in logged:
            continue
        if as_of is None and local.hour < (7 if hour is None else hour):
            continue
        clinic_days = {m.clinic_id: as_of or m.clinic.today(now) for m in ms}
        coordinator_of = {m.clinic_id for m in ms if m.role == Role.COORDINATOR}
        digest = build_digest(
            user_id=user_id, clinic_days=clinic_days, coordinator_of=coordinator_of
        )
        try:
            with transaction.atomic():
                DigestLog.objects.create(
                    user_id=user_id,
                    day=day,
                    sent_at=now,
                    overdue=digest.overdue,
                    due=digest.due,
                    tasks=digest.overdue + digest.due,
                )
                if not digest.empty:
                    _queue(user, day, digest, now)
                    queued += 1
        except IntegrityError:
            continue  # another worker logged today's digest first
    return queued


def _queue(user: Any, day: date, digest: Digest, now: datetime) -> None:
    context = {
        "user": user,
        "day": day,
        "digest": digest,
        "worklist": settings.SITE_URL + reverse("worklist"),
    }
    OutgoingEmail.objects.create(
        key=f"digest:{user['id']}:{day.isoformat()}",
        user_id=user["id"],
        to=user["email"],
        subject=f"vcftrack: {digest.overdue} overdue, {digest.due} due today",
        text=render_to_string("notifications/email/digest.txt", context),
        html=render_to_string("notifications/email/digest.html", context),
        created_at=now,
        next_attempt_at=now,
    )
    kick_dispatch()
