"""Reads of the notifications app: the inbox and its unread count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from notifications.models import Notification

# The inbox shows the newest notifications; older ones stay in the database.
INBOX_LIMIT = 200


@dataclass
class PatientGroup:
    patient: Any
    notifications: list[Notification] = field(default_factory=list)

    @property
    def unread(self) -> int:
        return sum(1 for n in self.notifications if n.read_at is None)


def unread_count(*, user: Any, clinic_ids: list[uuid.UUID]) -> int:
    return (
        Notification.objects.unread().filter(user=user, patient__clinic_id__in=clinic_ids).count()
    )


def inbox(
    *, user: Any, clinic_ids: list[uuid.UUID], limit: int = INBOX_LIMIT
) -> list[PatientGroup]:
    """The user's notifications of their clinics' patients, grouped by patient.

    One query; groups come in the order of their newest notification.
    """
    rows = (
        Notification.objects.filter(user=user, patient__clinic_id__in=clinic_ids)
        .select_related("patient", "task")
        .order_by("-created_at", "-id")[:limit]
    )
    groups: dict[uuid.UUID, PatientGroup] = {}
    for n in rows:
        groups.setdefault(n.patient_id, PatientGroup(patient=n.patient)).notifications.append(n)
    return list(groups.values())
