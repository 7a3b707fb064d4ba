"""Domain events of the pathways app, built after a write, inside its transaction.

Each writer calls one function here after its write; the payloads carry ids
and codes only (they may leave the system in a webhook).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

from pathways.models import Episode, FollowUpTask, TaskStatus
from vcftrack.core.events import (
    EPISODE_PHASE_CHANGED,
    TASK_ASSIGNED,
    TASK_CLOSED,
    TASK_CREATED,
    DomainEvent,
    publish,
)

TASK_EVENT_COLUMNS = (
    "id",
    "clinic_id",
    "episode_id",
    "patient_id",
    "rule",
    "occurrence",
    "priority",
    "status",
    "due_date",
    "overdue_from",
    "assignee_id",
    "version",
)


def task_data(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": str(row["id"]),
        "episode": str(row["episode_id"]) if row["episode_id"] else None,
        "patient": str(row["patient_id"]),
        "rule": row["rule"],
        "occurrence": row["occurrence"],
        "priority": row["priority"],
        "status": row["status"],
        "due_date": row["due_date"].isoformat(),
    }


def task_rows(task_ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
    ids = list(task_ids)
    if not ids:
        return []
    return list(FollowUpTask.objects.filter(id__in=ids).values(*TASK_EVENT_COLUMNS))


def publish_task_changes(
    *, created: Iterable[uuid.UUID], changed: Iterable[uuid.UUID], now: datetime
) -> None:
    """task.created for new tasks; task.closed for changed tasks that are now closed."""
    created_ids = set(created)
    events = []
    for row in task_rows([*created_ids, *changed]):
        data = task_data(row)
        if row["id"] in created_ids:
            events.append(
                DomainEvent(
                    TASK_CREATED, row["clinic_id"], f"{TASK_CREATED}:{row['id']}", now, data
                )
            )
        elif row["status"] != TaskStatus.OPEN:
            key = f"{TASK_CLOSED}:{row['id']}:{row['version']}"
            events.append(DomainEvent(TASK_CLOSED, row["clinic_id"], key, now, data))
    publish(events)


def publish_task_assigned(*, task_id: uuid.UUID, actor_id: int | None, now: datetime) -> None:
    for row in task_rows([task_id]):
        if row["assignee_id"] is None:
            continue
        data = {**task_data(row), "assignee": row["assignee_id"], "actor": actor_id}
        key = f"{TASK_ASSIGNED}:{row['id']}:{row['version']}"
        publish([DomainEvent(TASK_ASSIGNED, row["clinic_id"], key, now, data)])


class PhaseMove(Protocol):
    """A phase transition: a ``PhaseTransition`` or the sweep's plain tuple."""

    @property
    def episode_id(self) -> uuid.UUID: ...
    @property
    def at(self) -> datetime: ...
    @property
    def effective_date(self) -> date: ...
    @property
    def from_phase(self) -> str: ...
    @property
    def to_phase(self) -> str: ...


def publish_phase_changes(*, transitions: Iterable[PhaseMove], now: datetime) -> None:
    """episode.phase_changed for each transition out of a phase (not an episode's first)."""
    moves = [t for t in transitions if t.from_phase and t.from_phase != t.to_phase]
    if not moves:
        return
    episodes = {
        row["id"]: row
        for row in Episode.objects.filter(id__in={t.episode_id for t in moves}).values(
            "id", "clinic_id", "patient_id"
        )
    }
    events = []
    for t in moves:
        ep = episodes[t.episode_id]
        key = (
            f"{EPISODE_PHASE_CHANGED}:{t.episode_id}:{t.from_phase}:{t.to_phase}:{t.at.isoformat()}"
        )
        data = {
            "episode": str(t.episode_id),
            "patient": str(ep["patient_id"]),
            "from_phase": t.from_phase,
            "to_phase": t.to_phase,
            "effective_date": t.effective_date.isoformat(),
        }
        events.append(DomainEvent(EPISODE_PHASE_CHANGED, ep["clinic_id"], key, now, data))
    publish(events)
