"""A patient's and an episode's change history, for the web pages.

Each tracked object (the patient, each medication, DXA scan, episode, fact
and task) is one section: what it is, then who changed what and when,
newest first. One query per kind of object, plus one for the users named.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from pathways.levels import mask_to_levels
from pathways.models import Episode, FollowUpTask, Imaging, Observation, Procedure
from patients.models import BoneDensity, Medication, Patient
from vcftrack.core.history import PlainEntry, entries, plain
from vcftrack.core.labels import label


@dataclass(frozen=True)
class Section:
    title: str
    changes: list[PlainEntry]

    @property
    def last_at(self) -> Any:
        return self.changes[0].at if self.changes else None


def _d(value: Any) -> str:
    return f"{value:%-d %b %Y}" if value else "—"


TITLES: dict[type[Any], Callable[[Any], str]] = {
    Patient: lambda r: "The patient's details",
    Medication: lambda r: f"Medication: {label(r.drug)} from {_d(r.start_date)}",
    BoneDensity: lambda r: f"DXA scan, {label(r.site).lower()}, {_d(r.performed_date)}",
    Episode: lambda r: (
        f"Episode {'/'.join(mask_to_levels(r.levels_mask))}, identified {_d(r.identified_date)}"
    ),
    Observation: lambda r: f"{label(r.kind)}, {_d(r.effective_date)}",
    Imaging: lambda r: f"{label(r.modality)} of the {r.region or 'spine'}, {_d(r.performed_date)}",
    Procedure: lambda r: f"{label(r.kind)} {r.level}, {_d(r.performed_date)}",
    FollowUpTask: lambda r: f"Task: {r.title}",
}

FORMATTERS: dict[str, Callable[[Any], str]] = {
    "levels_mask": lambda v: "/".join(mask_to_levels(v)) or "—",
}


def _sections(queries: list[tuple[type[Any], Q]]) -> list[Section]:
    grouped: list[tuple[type[Any], list[Any]]] = []
    for model, where in queries:
        by_object: dict[Any, list[Any]] = {}
        rows = model.history.filter(where).select_related("history_user").order_by("history_id")
        for row in rows:
            by_object.setdefault(row.id, []).append(row)
        grouped.extend((model, rows) for rows in by_object.values())
    users = _user_names(grouped)
    sections = [
        Section(
            title=TITLES[model](rows[-1]),
            changes=plain(entries(rows), users=users, formatters=FORMATTERS),
        )
        for model, rows in grouped
    ]
    sections = [s for s in sections if s.changes]
    sections.sort(key=lambda s: s.last_at, reverse=True)
    return sections


def _user_names(grouped: list[tuple[type[Any], list[Any]]]) -> dict[int, str]:
    ids = {
        value
        for _model, rows in grouped
        for row in rows
        for value in (getattr(row, "assignee_id", None), getattr(row, "closed_by_id", None))
        if value is not None
    }
    if not ids:
        return {}
    return {
        u.pk: u.get_full_name() or u.get_username()
        for u in get_user_model().objects.filter(pk__in=ids)
    }


def patient_history(patient_id: uuid.UUID) -> list[Section]:
    episode_ids = list(Episode.objects.filter(patient_id=patient_id).values_list("id", flat=True))
    return _sections(
        [
            (Patient, Q(id=patient_id)),
            (Medication, Q(patient_id=patient_id)),
            (BoneDensity, Q(patient_id=patient_id)),
            (Episode, Q(patient_id=patient_id)),
            (Observation, Q(episode_id__in=episode_ids)),
            (Imaging, Q(episode_id__in=episode_ids)),
            (Procedure, Q(episode_id__in=episode_ids)),
            (FollowUpTask, Q(patient_id=patient_id)),
        ]
    )


def episode_history(episode_id: uuid.UUID) -> list[Section]:
    return _sections(
        [
            (Episode, Q(id=episode_id)),
            (Observation, Q(episode_id=episode_id)),
            (Imaging, Q(episode_id=episode_id)),
            (Procedure, Q(episode_id=episode_id)),
            (FollowUpTask, Q(episode_id=episode_id)),
        ]
    )
