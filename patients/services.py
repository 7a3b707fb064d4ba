"""Writes of the patient record, and the checks of its fields that need the
database or the clinic's date (the shape of each field is its parser's:
``patients.inputs``).

This app sits below the pathway app and imports nothing of it. A write that
changes what a pathway sees of the patient - the date of death, a
medication, a DXA, deleting the patient - re-evaluates their episodes, so it
lives one layer up (``patient_facts`` among the pathway services), which
marks the episodes and then calls the checks and writes here
(``patient_changes`` + ``patient_change``, ``check_medication``,
``check_bone_density``, ...).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction

from patients.events import publish_patient_updated
from patients.inputs import PatientChanges, check_day, parse_text
from patients.models import (
    Clinic,
    Medication,
    Patient,
)
from patients.sync import stamp
from vcftrack.core.errors import FieldErrors

MAX_AGE_YEARS = 130


def _now_date(clinic: Clinic, now: datetime) -> date:
    return clinic.today(now)


# --------------------------------------------------------------- patients --
def patient_create(
    *,
    clinic: Clinic,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: date | None,
    sex: str = "unknown",
    deceased_date: date | None = None,
    phone: str = "",
    phone_alt: str = "",
    contact_time: str = "",
    now: datetime,
    patient_id: uuid.UUID | None = None,
    errors: FieldErrors | None = None,
) -> Patient:
    """Create a patient from parsed details (``patients.inputs.parse_patient``).

    ``errors``: what the caller's parser found; raised with the service's own
    (dates against the clinic's today, the MRN unique in the clinic)."""
    today = _now_date(clinic, now)
    errors = errors if errors is not None else FieldErrors()
    _required(errors, "birth_date", birth_date)
    check_day(errors, "birth_date", birth_date, today=today)
    if birth_date is not None and today.year - birth_date.year > MAX_AGE_YEARS:
        errors.add("birth_date", f"More than {MAX_AGE_YEARS} years ago.")
    check_death_date(errors, deceased_date, birth=birth_date, today=today)
    errors.raise_if_any()
    if Patient.objects.alive().filter(clinic=clinic, mrn=mrn).exists():
        errors.add("mrn", f"A patient with MRN {mrn!r} already exists in this clinic.")
        errors.raise_if_any()
    assert birth_date is not None  # raise_if_any() refused a missing date
    patient = Patient(
        id=patient_id or uuid.uuid4(),
        clinic=clinic,
        mrn=mrn,
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
        sex=sex,
        deceased_date=deceased_date,
        recorded_on=today,
        phone=phone,
        phone_alt=phone_alt,
        contact_time=contact_time,
    )
    try:
        with transaction.atomic():
            stamp([patient], now=now, new=True)
            patient.save(force_insert=True)
    except IntegrityError as exc:
        # Two clients creating the same MRN at once: the unique constraint wins.
        errors.add("mrn", f"A patient with MRN {mrn!r} already exists in this clinic.")
        raise errors_exc(errors) from exc
    return patient


def _required(errors: FieldErrors, field: str, value: object) -> None:
    """A required value the parser left None has been named by it; a direct
    caller's None is named here."""
    if value is None and field not in errors.errors:
        errors.add(field, "This field is required.")


def errors_exc(errors: FieldErrors) -> Exception:
    from django.core.exceptions import ValidationError

    return ValidationError(errors.errors)


def check_death_date(
    errors: FieldErrors, value: date | None, *, birth: date | None, today: date
) -> None:
    """A date of death: not in the future, not before the birth date."""
    born = (birth, "the date of birth") if birth is not None else None
    check_day(errors, "deceased_date", value, today=today, not_before=born)


def patient_changes(
    *, patient: Patient, changes: PatientChanges, today: date, errors: FieldErrors | None = None
) -> PatientChanges:
    """Check parsed changes (``parse_patient_changes``) against the patient's
    record and the clinic's today; raises every bad field, the parser's too."""
    errors = errors if errors is not None else FieldErrors()
    for field in ("mrn", "given_name", "family_name", "birth_date", "sex"):
        if field in changes:
            _required(errors, field, changes[field])
    if "birth_date" in changes:
        check_day(errors, "birth_date", changes["birth_date"], today=today)
    birth = changes.get("birth_date", patient.birth_date)
    if "deceased_date" in changes:
        check_death_date(errors, changes["deceased_date"], birth=birth, today=today)
    elif "birth_date" in changes and birth and patient.deceased_date:
        if birth > patient.deceased_date:
            errors.add(
                "birth_date",
                f"Must not be after the date of death ({patient.deceased_date.isoformat()}).",
            )
    errors.raise_if_any()
    mrn = changes.get("mrn")
    if mrn is not None and mrn != patient.mrn:
        clash = Patient.objects.alive().filter(clinic_id=patient.clinic_id, mrn=mrn)
        if clash.exclude(pk=patient.pk).exists():
            errors.add("mrn", f"A patient with MRN {mrn!r} already exists in this clinic.")
            errors.raise_if_any()
    return changes


def patient_change(
    *, patient: Patient, values: PatientChanges, today: date, now: datetime
) -> Patient:
    """Write checked values (``patient_changes``) to the patient; call inside
    the caller's transaction, after it marked what the change re-evaluates."""
    for key, value in values.items():
        setattr(patient, key, value)
    patient.recorded_on = max(patient.recorded_on, today)
    stamp([patient], now=now)
    patient.save()
    publish_patient_updated(patient=patient, fields=sorted(values), now=now)
    return patient


def death_date_value(
    *, patient: Patient, deceased_date: date | None, today: date, errors: FieldErrors | None = None
) -> date:
    """A date of death being recorded: required, not in the future, not before birth."""
    errors = errors if errors is not None else FieldErrors()
    _required(errors, "deceased_date", deceased_date)
    check_death_date(errors, deceased_date, birth=patient.birth_date, today=today)
    errors.raise_if_any()
    assert deceased_date is not None  # raise_if_any() refused a missing date
    return deceased_date


# ------------------------------------------------------------ medications --
def _born(patient: Patient) -> tuple[date, str]:
    # pathway-spec V2.4: a clinical date before the patient's birth is bad input.
    return patient.birth_date, "the date of birth"


def check_medication(
    errors: FieldErrors,
    *,
    patient: Patient,
    start_date: date | None,
    stop_date: date | None,
    today: date,
) -> None:
    """A medication's dates against the clinic's today and the patient's
    birth, stopped not before started; raises every bad field."""
    _required(errors, "start_date", start_date)
    for field, value in (("start_date", start_date), ("stop_date", stop_date)):
        check_day(errors, field, value, today=today, not_before=_born(patient))
    if start_date and stop_date and stop_date < start_date:
        errors.add("stop_date", "Must not be before start_date.")
    errors.raise_if_any()


# ------------------------------------------------------------ bone density --
def check_bone_density(
    errors: FieldErrors, *, patient: Patient, performed_date: date | None, today: date
) -> None:
    """A DXA's date against the clinic's today and the patient's birth."""
    _required(errors, "performed_date", performed_date)
    check_day(errors, "performed_date", performed_date, today=today, not_before=_born(patient))
    errors.raise_if_any()


def lock_row(row: Patient | Medication) -> None:
    """Lock the row and reload it, so a check and the write see the same state
    (the web form holds no lock; a second tab or an API client may have written)."""
    list(type(row).objects.select_for_update().filter(pk=row.pk).values_list("pk"))
    row.refresh_from_db()


def check_void_reason(reason: Any) -> str:
    """A void always says why (a mistyped value, the wrong patient, ...)."""
    errors = FieldErrors()
    text = parse_text(errors, "reason", reason, max_length=2000, required=True)
    errors.raise_if_any()
    return text
