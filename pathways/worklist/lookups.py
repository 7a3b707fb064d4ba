"""Small reads behind the worklist's controls: one task's row, the tasks of a
bulk action, who can be assigned, the rule and outcome choices."""

from __future__ import annotations

import uuid
from typing import Any

from pathways.engine import get_ruleset
from pathways.models import (
    FollowUpTask,
)
from patients.models import Membership


def task_row(task_id: uuid.UUID, clinic_ids: list[uuid.UUID]) -> FollowUpTask | None:
    return (
        FollowUpTask.objects.alive()
        .filter(id=task_id, clinic_id__in=clinic_ids)
        .select_related("patient", "episode", "clinic", "assignee", "closed_by")
        .first()
    )


def tasks_for_bulk(task_ids: list[uuid.UUID], clinic_ids: list[uuid.UUID]) -> list[FollowUpTask]:
    return list(
        FollowUpTask.objects.open()
        .filter(id__in=task_ids, clinic_id__in=clinic_ids)
        .select_related("clinic")
    )


def assignable_by_clinic(clinic_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """Members who can act on tasks, per clinic (coordinators, physicians): one query."""
    out: dict[uuid.UUID, list[Any]] = {cid: [] for cid in clinic_ids}
    for m in (
        Membership.objects.filter(
            clinic_id__in=clinic_ids, role__in=["coordinator", "physician"], user__is_active=True
        )
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    ):
        # Per membership: the same person may hold another role elsewhere.
        m.user.clinic_role = m.role  # type: ignore[attr-defined]
        out[m.clinic_id].append(m.user)
    return out


def distinct_users(by_clinic: dict[uuid.UUID, list[Any]]) -> list[Any]:
    seen: dict[int, Any] = {}
    for users in by_clinic.values():
        for u in users:
            seen.setdefault(u.pk, u)
    return sorted(seen.values(), key=lambda u: (u.last_name, u.first_name, u.username))


def member_ids(clinic_id: uuid.UUID) -> set[int]:
    return set(Membership.objects.filter(clinic_id=clinic_id).values_list("user_id", flat=True))


def rule_choices(version: str = "v1") -> list[tuple[str, str]]:
    return sorted(((r.code, r.title) for r in get_ruleset(version).rules), key=lambda c: c[1])


def rule_outcomes(version: str = "v1") -> dict[str, tuple[str, ...]]:
    return {r.code: r.outcomes for r in get_ruleset(version).rules if r.outcomes}


# --------------------------------------------------------------- timeline --
