"""Who gets what. Pure functions over plain data: unit-tested by the case.

- a task assigned to you (unless you assigned it to yourself);
- an urgent task raised in your clinic (coordinators and physicians);
- your task overdue (the assignee only; unassigned overdue work is on the
  worklist and in the clinic coordinators' digest, not fanned out);
- a task escalated to you (by the rules of notifications/escalation.py).

Nothing else raises an in-app notification: routine and high-priority work
that nobody owns reaches people through the worklist and the digest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from notifications.models import EscalationTarget, NotificationKind
from vcftrack.core.events import TASK_ASSIGNED, TASK_CREATED, DomainEvent
from vcftrack.core.scoping import Role


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str
    lead: bool = False


@dataclass(frozen=True)
class Draft:
    """A notification to write: to whom, about which task, and why."""

    user_id: int
    task_id: uuid.UUID
    patient_id: uuid.UUID
    kind: str
    key: str
    # Urgent work is delivered even when its kind is muted.
    urgent: bool = False


def for_event(event: DomainEvent, members: Sequence[Member]) -> list[Draft]:
    data = event.data
    if event.type == TASK_ASSIGNED:
        if data["assignee"] == data.get("actor"):
            return []  # you took it yourself
        return [
            Draft(
                user_id=data["assignee"],
                task_id=uuid.UUID(data["task"]),
                patient_id=uuid.UUID(data["patient"]),
                kind=NotificationKind.ASSIGNED,
                key=f"assigned:{event.key}",
                urgent=data["priority"] == "urgent",
            )
        ]
    if event.type == TASK_CREATED and data["priority"] == "urgent" and data["status"] == "open":
        return [
            Draft(
                user_id=m.user_id,
                task_id=uuid.UUID(data["task"]),
                patient_id=uuid.UUID(data["patient"]),
                kind=NotificationKind.URGENT,
                key=f"urgent:{data['task']}",
                urgent=True,
            )
            for m in members
            if m.role in (Role.COORDINATOR, Role.PHYSICIAN)
        ]
    return []


def for_overdue(
    *, task_id: uuid.UUID, patient_id: uuid.UUID, assignee_id: int | None, priority: str
) -> list[Draft]:
    if assignee_id is None:
        return []  # the worklist and the digest carry unowned work
    return [
        Draft(
            user_id=assignee_id,
            task_id=task_id,
            patient_id=patient_id,
            kind=NotificationKind.OVERDUE,
            key=f"overdue:{task_id}",
            urgent=priority == "urgent",
        )
    ]


def escalation_targets(target: str, members: Iterable[Member]) -> list[int]:
    if target == EscalationTarget.PHYSICIANS:
        return [m.user_id for m in members if m.role == Role.PHYSICIAN]
    if target == EscalationTarget.LEAD_COORDINATOR:
        return [m.user_id for m in members if m.role == Role.COORDINATOR and m.lead]
    return []  # EscalationTarget.DIGEST: the digest's escalated section


def for_escalation(
    *,
    task_id: uuid.UUID,
    patient_id: uuid.UUID,
    level: int,
    target: str,
    priority: str,
    members: Iterable[Member],
) -> list[Draft]:
    return [
        Draft(
            user_id=user_id,
            task_id=task_id,
            patient_id=patient_id,
            kind=NotificationKind.ESCALATED,
            key=f"escalated:{task_id}:{level}",
            urgent=priority == "urgent",
        )
        for user_id in escalation_targets(target, members)
    ]
