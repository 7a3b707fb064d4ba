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
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Unpack

from django.db import transaction

from pathways.models import Episode
from pathways.services.evaluation import schedule_reevaluation
from patients.inputs import PatientChanges
from patients.models import BoneDensity, Medication, Patient
from patients.services import (
    check_bone_density,
    check_medication,
    check_void_reason,
    death_date_value,
    lock_row,
    patient_change,
    patient_changes,
)
from patients.sync import stamp
from vcftrack.core.errors import DomainError, FieldErrors

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
    *,
    patient: Patient,
    now: datetime,
    actor_id: int | None = None,
    errors: FieldErrors | None = None,
    **changes: Unpack[PatientChanges],
) -> Patient:
    """Change a patient's details (parsed by ``parse_patient_changes``); a
    changed date of death re-evaluates their episodes."""
    today = patient.clinic.today(now)
    values = patient_changes(patient=patient, changes=changes, today=today, errors=errors)
    with transaction.atomic():
        if "deceased_date" in values and values["deceased_date"] != patient.deceased_date:
            _reevaluate_patient(patient, now=now, actor_id=actor_id)
        return patient_change(patient=patient, values=values, today=today, now=now)


def patient_record_death(
    *,
    patient: Patient,
    deceased_date: date | None,
    actor: Any,
    now: datetime,
    errors: FieldErrors | None = None,
) -> Patient:
    """Record the patient's date of death (or correct it).

    1. Validate the date: required, not in the future, not before birth.
    2. Lock and mark the patient's active episodes for re-evaluation (the
       engine closes what a deceased patient no longer needs), then write
       the date. Recording the date already held changes nothing.
    """
    today = patient.clinic.today(now)
    death = death_date_value(
        patient=patient, deceased_date=deceased_date, today=today, errors=errors
    )
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
    drug: str,
    start_date: date | None,
    stop_date: date | None = None,
    dose: str = "",
    route: str = "",
    now: datetime,
    actor_id: int | None = None,
    medication_id: uuid.UUID | None = None,
    unverified: bool = False,
    errors: FieldErrors | None = None,
) -> Medication:
    """Record a medication (parsed by ``parse_medication``); every episode of
    the patient is re-evaluated after commit.

    ``unverified`` is for importers: a prescription with no recent evidence
    that a person has yet to confirm (pathway-spec V2.4).
    """
    today = patient.clinic.today(now)
    check_medication(
        errors if errors is not None else FieldErrors(),
        patient=patient,
        start_date=start_date,
        stop_date=stop_date,
        today=today,
    )
    assert start_date is not None  # check_medication refused a missing date
    med = Medication(
        id=medication_id or uuid.uuid4(),
        patient=patient,
        recorded_on=today,
        unverified=unverified,
        drug=drug,
        start_date=start_date,
        stop_date=stop_date,
        dose=dose,
        route=route,
    )
    with transaction.atomic():
        _reevaluate_patient(patient, now=now, actor_id=actor_id)
        stamp([med], now=now, new=True)
        med.save(force_insert=True)
    return med


def medication_update(
    *,
    medication: Medication,
    drug: str,
    start_date: date | None,
    stop_date: date | None,
    dose: str,
    route: str,
    now: datetime,
    actor_id: int | None = None,
    errors: FieldErrors | None = None,
) -> Medication:
    """Change a medication to the given fields (the whole medication:
    ``parse_medication_change``)."""
    patient = medication.patient
    today = patient.clinic.today(now)
    check_medication(
        errors if errors is not None else FieldErrors(),
        patient=patient,
        start_date=start_date,
        stop_date=stop_date,
        today=today,
    )
    values = {
        "drug": drug,
        "start_date": start_date,
        "stop_date": stop_date,
        "dose": dose,
        "route": route,
    }
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
    performed_date: date | None,
    site: str,
    bmd_g_cm2: Decimal | None,
    t_score: Decimal | None = None,
    now: datetime,
    actor_id: int | None = None,
    scan_id: uuid.UUID | None = None,
    errors: FieldErrors | None = None,
) -> BoneDensity:
    """Record a DXA scan (parsed by ``parse_bone_density``)."""
    today = patient.clinic.today(now)
    check_bone_density(
        errors if errors is not None else FieldErrors(),
        patient=patient,
        performed_date=performed_date,
        today=today,
    )
    assert performed_date is not None  # check_bone_density refused a missing date
    assert bmd_g_cm2 is not None  # the parser refused a missing value
    scan = BoneDensity(
        id=scan_id or uuid.uuid4(),
        patient=patient,
        recorded_on=today,
        performed_date=performed_date,
        site=site,
        bmd_g_cm2=bmd_g_cm2,
        t_score=t_score,
    )
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
