"""One patient's part of a bundle, and the few things every importing step
does with it: pick resources, refuse future dates, write in a savepoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction

from pathways.interop.fhir import codes
from pathways.interop.fhir.importer.report import BundleResult
from pathways.interop.fhir.importer.values import JSON, codes_in
from patients.models import Clinic
from vcftrack.core.errors import DomainError

# Namespace of the ids of imported rows: uuid5(IMPORT_NAMESPACE, clinic/resource).
IMPORT_NAMESPACE = uuid.UUID("0b5e1f3e-8f0a-4d38-9a57-3c1f6e2d4b90")

T = TypeVar("T")


def patient_name(patient: JSON) -> tuple[str, str]:
    """(given, family) of the official name, else the first one."""
    names = [n for n in patient.get("name", []) if isinstance(n, dict)]
    official = [n for n in names if n.get("use") == "official"] or names
    if not official:
        return "", ""
    name = official[0]
    given = " ".join(str(g) for g in name.get("given", []) if g)
    return given, str(name.get("family", ""))


class PatientRecord:
    """A Patient resource with the resources that refer to it, read for one clinic."""

    def __init__(
        self,
        *,
        clinic: Clinic,
        now: datetime,
        out: BundleResult,
        patient: JSON,
        resources: list[JSON],
    ) -> None:
        self.clinic = clinic
        self.now = now
        self.today = clinic.today(now)
        self.tz = clinic.tzinfo
        self.out = out
        self.resource = patient
        self.resources = resources
        given, family = patient_name(patient)
        self.label = f"{given} {family}".strip() or f"Patient/{patient.get('id')}"

    def of(self, kind: str) -> list[JSON]:
        return [r for r in self.resources if r.get("resourceType") == kind]

    def conditions(self) -> list[JSON]:
        """The Conditions, without those entered in error or refuted."""
        out = []
        for cond in self.of("Condition"):
            status = codes_in(cond.get("verificationStatus"), codes.CONDITION_VER_STATUS)
            if status & {"entered-in-error", "refuted"}:
                continue
            out.append(cond)
        return out

    def medications(self) -> list[JSON]:
        return self.of("MedicationRequest") + self.of("MedicationStatement")

    def row_id(self, kind: str, key: str) -> uuid.UUID:
        """The id of the row imported from resource ``kind``/``key``: the same
        on every re-import into this clinic."""
        return uuid.uuid5(IMPORT_NAMESPACE, f"{self.clinic.id}/{kind}/{key}")

    def future(self, day: date, what: str) -> bool:
        """True (and reported) when ``day`` is after the import date."""
        if day > self.today:
            self.out.skip(
                f"{self.label}: {what} dated {day} is after the import date {self.today}; skipped"
            )
            return True
        return False

    def write(self, kind: str, what: str, write: Callable[[], T]) -> T | None:
        """Run one service call in a savepoint; a refusal skips that item only."""
        try:
            with transaction.atomic():
                row = write()
        except ValidationError as exc:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            self.out.skip(f"{self.label}: {what} refused by vcftrack ({detail})")
            return None
        except DomainError as exc:
            self.out.skip(f"{self.label}: {what} refused by vcftrack ({exc.message})")
            return None
        self.out.created[kind] += 1
        return row
