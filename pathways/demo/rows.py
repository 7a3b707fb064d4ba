"""The unsaved rows of a demo panel, and their bulk insert."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from pathways.models import Episode, Imaging, Observation, Procedure, Programme
from patients.models import BoneDensity, Medication, Patient
from patients.sync import allocate_change_seq


@dataclass
class Rows:
    patients: list[Patient] = field(default_factory=list)
    programmes: list[Programme] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    imaging: list[Imaging] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    dxa: list[BoneDensity] = field(default_factory=list)

    def all(self) -> Iterator[list[Any]]:
        yield self.patients
        yield self.programmes
        yield self.episodes
        yield self.observations
        yield self.imaging
        yield self.procedures
        yield self.medications
        yield self.dxa

    def stamp(self, now: datetime) -> None:
        """Set ``created_at`` and ``updated_at`` on every row, as a write would."""
        for kind_rows in self.all():
            for obj in kind_rows:
                obj.created_at = now
                obj.updated_at = now


def save_rows(
    rows: Rows,
    *,
    now: datetime,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Insert the rows in bulk, each stamped with a change_seq, in one transaction per kind."""
    for kind_rows in rows.all():
        if not kind_rows:
            continue
        model = type(kind_rows[0])
        for start in range(0, len(kind_rows), batch_size):
            chunk = kind_rows[start : start + batch_size]
            with transaction.atomic():
                first = allocate_change_seq(len(chunk))
                for offset, obj in enumerate(chunk):
                    obj.change_seq = first + offset
                    if model is Episode and obj.next_review_at is None:
                        obj.next_review_at = now
                model.objects.bulk_create(chunk, batch_size=batch_size)
            if progress:
                progress(len(chunk))
