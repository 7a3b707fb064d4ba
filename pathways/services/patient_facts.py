"""Patient-level writes that change what the pathway sees: the date of death,
medications, DXA scans, deleting the patient.

Each one marks the patient's open episodes (and programme) for re-evaluation
first in its transaction - that also takes their row locks in the lock order
- then writes through the patients app's checks (``patients.services``). The
patients app knows nothing of pathways; these are the only writes of its
rows that need to.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction

from pathways.models import Episode
from pathways.services.evaluation import schedule_reevaluation
from patients.models import BoneDensity, Medication, Patient
from patients.services import (
    bone_density_values,
    check_void_reason,
    death_date_value,
    lock_row,
    medication_changes,
    medication_values,
    patient_change,
    patient_changes,
)
from patients.sync import stamp
from vcftrack.core.errors import DomainError

__all__ = [
    "bone_density_delete",
    "bone_density_record",
    "medication_delete",
    "medication_record",
    "medication_update",
    "medication_verify",
    "patient_delete",
    "patient_fact_void",
    "patient_record_death",
    "patient_update",
]


def _reevaluate_patient(patient: Patient, *, now: datetime, actor_id: int | None) -> None:
    """Lock and mark the patient's open episodes; call first in the transaction."""
    ids = list(Episode.objects.active().filter(patient=patient).values_list("id", flat=True))
    # A patient whose episodes are all closed still has a programme to review.
    schedule_reevaluation(episode_ids=ids, patient_ids=[patient.id], now=now, actor_id=actor_id)


# --------------------------------------------------------------- patients --
def patient_update(
    *, patient: Patient, data: dict[str, Any], now: datetime, actor_id: int | None = None
) -> Patient:
    """Change a patient's details; a changed date of death re-evaluates their episodes."""
    today = patient.clinic.today(now)
    values = patient_changes(patient=patient, data=data, today=today)
    with transaction.atomic():
        if "deceased_date" in values and values["deceased_date"] != patient.deceased_date:
            _reevaluate_patient(patient, now=now, actor_id=actor_id)
        return patient_change(patient=patient, values=values, today=today, now=now)


def patient_record_death(
    *, patient: Patient, deceased_date: Any, actor: Any, now: datetime
) -> Patient:
    """Record the patient's date of death (or correct it).

    1. Validate the date: required, not in the future, not before birth.
    2. Lock and mark the patient's active episodes for re-evaluation (the
       engine closes what a deceased patient no longer needs), then write
       the date. Recording the date already held changes nothing.
    """
    today = patient.clinic.today(now)
    death = death_date_value(patient=patient, deceased_date=deceased_date, today=today)
    with transaction.atomic():
        lock_row(patient)
        if death == patient.deceased_date:
            return patient
        _reevaluate_patient(patient, now=now, actor_id=getattr(actor, "pk", None))
        return patient_change(
            patient=patient, values={"deceased_date": death}, today=today, now=now
        )


def patient_delete(*, patient: Patient, now: datetime) -> Patient:
    """Soft delete: the row stays as a tombstone for syncing clients."""
    if Episode.objects.alive().filter(patient=patient).exists():
        raise DomainError("Delete or close the patient's episodes first.", field="patient")
    with transaction.atomic():
        patient.deleted_at = now
        stamp([patient], now=now)
        patient.save()
    return patient


# ------------------------------------------------------------ medications --
def medication_record(
    *,
    patient: Patient,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
    medication_id: uuid.UUID | None = None,
    unverified: bool = False,
) -> Medication:
    """Record a medication; every episode of the patient is re-evaluated after commit.

    ``unverified`` is for importers: a prescription with no recent evidence
    that a person has yet to confirm (pathway-spec V2.4).
    """
    today = patient.clinic.today(now)
    values = medication_values(patient=patient, data=data, today=today)
    med = Medication(
        id=medication_id or uuid.uuid4(),
        patient=patient,
        recorded_on=today,
        unverified=unverified,
        **values,
    )
    with transaction.atomic():
        _reevaluate_patient(patient, now=now, actor_id=actor_id)
        stamp([med], now=now, new=True)
        med.save(force_insert=True)
    return med


def medication_update(
    *, medication: Medication, data: dict[str, Any], now: datetime, actor_id: int | None = None
) -> Medication:
    patient = medication.patient
    today = patient.clinic.today(now)
    values = medication_changes(medication=medication, data=data, today=today)
    with transaction.atomic():
        _reevaluate_patient(patient, now=now, actor_id=actor_id)
        for key, value in values.items():
            setattr(medication, key, value)
        medication.recorded_on = max(medication.recorded_on, today)
        stamp([medication], now=now)
        medication.save()
    return medication


def medication_verify(*, medication: Medication, actor: Any, now: datetime) -> Medication:
    """A person confirms an imported prescription: it is no longer unverified.

    The patient's episodes are re-evaluated after commit (the reconciliation
    task the prescription raised is no longer needed).
    """
    with transaction.atomic():
        lock_row(medication)
        if medication.deleted_at is not None:
            raise DomainError("This medication has been deleted.", field="medication")
        if not medication.unverified:
            raise DomainError("This medication is already verified.", field="unverified")
        _reevaluate_patient(medication.patient, now=now, actor_id=getattr(actor, "pk", None))
        medication.unverified = False
        stamp([medication], now=now)
        medication.save()
    return medication


def medication_delete(
    *, medication: Medication, now: datetime, actor_id: int | None = None
) -> None:
    with transaction.atomic():
        _reevaluate_patient(medication.patient, now=now, actor_id=actor_id)
        medication.deleted_at = now
        stamp([medication], now=now)
        medication.save()


# ------------------------------------------------------------ bone density --
def bone_density_record(
    *,
    patient: Patient,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
    scan_id: uuid.UUID | None = None,
) -> BoneDensity:
    today = patient.clinic.today(now)
    values = bone_density_values(patient=patient, data=data, today=today)
    scan = BoneDensity(id=scan_id or uuid.uuid4(), patient=patient, recorded_on=today, **values)
    with transaction.atomic():
        _reevaluate_patient(patient, now=now, actor_id=actor_id)
        stamp([scan], now=now, new=True)
        scan.save(force_insert=True)
    return scan


def bone_density_delete(*, scan: BoneDensity, now: datetime, actor_id: int | None = None) -> None:
    with transaction.atomic():
        _reevaluate_patient(scan.patient, now=now, actor_id=actor_id)
        scan.deleted_at = now
        stamp([scan], now=now)
        scan.save()


def patient_fact_void(
    *, record: Medication | BoneDensity, reason: Any, now: datetime, actor_id: int | None = None
) -> None:
    """Void a medication or DXA entered by mistake: a tombstone that keeps the
    reason; the patient's episodes are re-evaluated without it."""
    text = check_void_reason(reason)
    if record.deleted_at is not None:
        raise DomainError("This entry is already voided.")
    with transaction.atomic():
        _reevaluate_patient(record.patient, now=now, actor_id=actor_id)
        record.void_reason = text
        record.deleted_at = now
        stamp([record], now=now)
        record.save()
