"""The log of a person's actions on a task: each ``TaskEvent`` holds the
task's state before the action, so an undo restores exactly that state."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pathways.models import FollowUpTask, TaskEvent

# Fields an undo restores (the task's state a person can change).
SNAPSHOT_FIELDS = (
    "status",
    "outcome",
    "note",
    "reason",
    "snoozed_until",
    "overdue_from",
    "assignee_id",
    "closed_at",
    "closed_on",
    "closed_by_id",
    "closed_by_person",
    "call_outcome",
    "call_at",
)
DATE_FIELDS = ("snoozed_until", "overdue_from", "closed_on")
DATETIME_FIELDS = ("closed_at", "call_at")


def snapshot(task: FollowUpTask) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SNAPSHOT_FIELDS:
        value = getattr(task, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def restore(task: FollowUpTask, before: dict[str, Any]) -> None:
    for name in SNAPSHOT_FIELDS:
        value = before.get(name)
        if value is not None and name in DATE_FIELDS:
            value = date.fromisoformat(value)
        elif value is not None and name in DATETIME_FIELDS:
            value = datetime.fromisoformat(value)
        setattr(task, name, value)


def log_event(
    task: FollowUpTask,
    *,
    actor: Any,
    action: str,
    before: dict[str, Any],
    now: datetime,
    reason: str = "",
) -> TaskEvent:
    return TaskEvent.objects.create(
        task=task, at=now, actor=actor, action=action, before=before, reason=reason
    )
