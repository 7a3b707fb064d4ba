"""Domain events: what changed, published inside the writing transaction.

The writing apps (patients, pathways) publish; the notifications app
subscribes (in its ``AppConfig.ready``) and turns events into outbox rows in
the same transaction. This module keeps the dependency pointing one way:
patients and pathways know nothing of notifications.

An event carries ids, codes and the clinic only (never names or other
identifiers): its ``data`` may leave the system in a webhook.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The public event types (webhooks); "task.assigned" is internal.
TASK_CREATED = "task.created"
TASK_CLOSED = "task.closed"
TASK_ESCALATED = "task.escalated"
TASK_ASSIGNED = "task.assigned"
EPISODE_PHASE_CHANGED = "episode.phase_changed"
PATIENT_UPDATED = "patient.updated"
PUBLIC_EVENT_TYPES = (
    TASK_CREATED,
    TASK_CLOSED,
    TASK_ESCALATED,
    EPISODE_PHASE_CHANGED,
    PATIENT_UPDATED,
)


@dataclass(frozen=True)
class DomainEvent:
    type: str
    clinic_id: uuid.UUID
    # Unique per occurrence ("task.closed:<task id>:<version>"): the outbox's
    # unique keys make a re-published event a no-op.
    key: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Sequence[DomainEvent]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def publish(events: Sequence[DomainEvent]) -> None:
    """Hand events to the subscribers. Call it inside the writing transaction."""
    if not events:
        return
    for subscriber in _subscribers:
        subscriber(events)
