"""Writes of patients and patient-level facts (medications, bone density)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from patients.events import publish_patient_updated
from patients.models import (
    BoneDensity,
    Clinic,
    Drug,
    DxaSite,
    Medication,
    Patient,
    Route,
    Sex,
)
from patients.sync import stamp
from vcftrack.core.errors import DomainError, FieldErrors

MAX_AGE_YEARS = 130
EARLIEST_DATE = date(1850, 1, 1)


def check_text(
    errors: FieldErrors, field: str, value: Any, *, max_length: int, required: bool
) -> str:
    if value is None or value == "":
        if required:
            errors.add(field, "This field is required.")
        return ""
    if not isinstance(value, str):
        errors.add(field, "Must be a string.")
        return ""
    value = value.strip()
    if required and not value:
        errors.add(field, "This field may not be blank.")
    if len(value) > max_length:
        errors.add(field, f"At most {max_length} characters.")
    return value


def check_date(
    errors: FieldErrors,
    field: str,
    value: Any,
    *,
    today: date,
    required: bool = True,
    not_before: tuple[date, str] | None = None,
) -> date | None:
    if value is None or value == "":
        if required:
            errors.add(field, "This field is required.")
        return None
    if isinstance(value, datetime):
        errors.add(field, "Must be a date (YYYY-MM-DD), not a timestamp.")
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            errors.add(field, "Must be a date in the form YYYY-MM-DD.")
            return None
    if not isinstance(value, date):
        errors.add(field, "Must be a date in the form YYYY-MM-DD.")
        return None
    if value > today:
        errors.add(field, f"Must not be in the future (today is {today.isoformat()}).")
    if value < EARLIEST_DATE:
        # Also keeps the engine's date arithmetic (windows before a date) in range.
        errors.add(field, f"Must not be before {EARLIEST_DATE.isoformat()}.")
    if not_before is not None and value < not_before[0]:
        errors.add(field, f"Must not be before {not_before[1]} ({not_before[0].isoformat()}).")
    return value


def check_choice(
    errors: FieldErrors, field: str, value: Any, choices: list[str], *, required: bool = True
) -> str:
    if value is None or value == "":
        if required:
            errors.add(field, "This field is required.")
        return ""
    if not isinstance(value, str) or value not in choices:
        errors.add(field, f"{value!r} is not one of: {', '.join(choices)}.")
        return ""
    return value


def _now_date(clinic: Clinic, now: datetime) -> date:
    return clinic.today(now)


# --------------------------------------------------------------- patients --
def patient_create(
    *,
    clinic: Clinic,
    mrn: Any,
    given_name: Any,
    family_name: Any,
    birth_date: Any,
    sex: Any = "unknown",
    deceased_date: Any = None,
    phone: Any = "",
    phone_alt: Any = "",
    contact_time: Any = "",
    now: datetime,
    patient_id: uuid.UUID | None = None,
) -> Patient:
    today = _now_date(clinic, now)
    errors = FieldErrors()
    contact = check_contact(
        errors, {"phone": phone, "phone_alt": phone_alt, "contact_time": contact_time}
    )
    mrn = check_text(errors, "mrn", mrn, max_length=64, required=True)
    given = check_text(errors, "given_name", given_name, max_length=100, required=True)
    family = check_text(errors, "family_name", family_name, max_length=100, required=True)
    birth = check_date(errors, "birth_date", birth_date, today=today)
    if birth is not None and today.year - birth.year > MAX_AGE_YEARS:
        errors.add("birth_date", f"More than {MAX_AGE_YEARS} years ago.")
    sex = check_choice(errors, "sex", sex or "unknown", list(Sex.values))
    death = check_death_date(errors, deceased_date, birth=birth, today=today)
    errors.raise_if_any()
    if Patient.objects.alive().filter(clinic=clinic, mrn=mrn).exists():
        errors.add("mrn", f"A patient with MRN {mrn!r} already exists in this clinic.")
        errors.raise_if_any()
    assert birth is not None  # raise_if_any() refused a missing date
    patient = Patient(
        id=patient_id or uuid.uuid4(),
        clinic=clinic,
        mrn=mrn,
        given_name=given,
        family_name=family,
        birth_date=birth,
        sex=sex,
        deceased_date=death,
        recorded_on=today,
        **contact,
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


def errors_exc(errors: FieldErrors) -> Exception:
    from django.core.exceptions import ValidationError

    return ValidationError(errors.errors)  # type: ignore[arg-type]


def check_death_date(
    errors: FieldErrors, value: Any, *, birth: date | None, today: date
) -> date | None:
    """A date of death: optional, not in the future, not before the birth date."""
    return check_date(
        errors,
        "deceased_date",
        value,
        today=today,
        required=False,
        not_before=(birth, "the date of birth") if birth is not None else None,
    )


PATIENT_REQUIRED = ("mrn", "given_name", "family_name", "birth_date", "sex")
# Contact details: a follow-up list is worked by calling.
CONTACT_FIELDS = ("phone", "phone_alt", "contact_time")
PHONE_CHARS = set("0123456789+-() ./")


def check_contact(errors: FieldErrors, data: dict[str, Any]) -> dict[str, str]:
    """Phone numbers as people write them (+49 30 1234-567), checked loosely:
    only phone characters, and enough digits to dial."""
    out: dict[str, str] = {}
    for name in ("phone", "phone_alt"):
        if name not in data:
            continue
        text = check_text(errors, name, data[name], max_length=32, required=False)
        if text and (set(text) - PHONE_CHARS or sum(c.isdigit() for c in text) < 5):
            errors.add(
                name, "Enter a phone number: digits, spaces, + - ( ) only, 5 digits at least."
            )
        out[name] = text
    if "contact_time" in data:
        out["contact_time"] = check_text(
            errors, "contact_time", data["contact_time"], max_length=100, required=False
        )
    return out


# The fields a PUT must send are PATIENT_REQUIRED; deceased_date is optional
# (null: not deceased), and so are the contact details.
PATIENT_FIELDS = (*PATIENT_REQUIRED, *CONTACT_FIELDS, "deceased_date")


def patient_update(
    *, patient: Patient, data: dict[str, Any], now: datetime, actor_id: int | None = None
) -> Patient:
    """Change a patient's details; a changed date of death re-evaluates their episodes."""
    today = _now_date(patient.clinic, now)
    errors = FieldErrors()
    for field in data:
        if field not in PATIENT_FIELDS:
            errors.add(field, "Unknown or read-only field.")
    values: dict[str, Any] = {}
    if "mrn" in data:
        values["mrn"] = check_text(errors, "mrn", data["mrn"], max_length=64, required=True)
    for name in ("given_name", "family_name"):
        if name in data:
            values[name] = check_text(errors, name, data[name], max_length=100, required=True)
    if "birth_date" in data:
        values["birth_date"] = check_date(errors, "birth_date", data["birth_date"], today=today)
    if "sex" in data:
        values["sex"] = check_choice(errors, "sex", data["sex"], list(Sex.values))
    birth = values.get("birth_date", patient.birth_date)
    if "deceased_date" in data:
        values["deceased_date"] = check_death_date(
            errors, data["deceased_date"], birth=birth, today=today
        )
    elif "birth_date" in values and birth and patient.deceased_date:
        if birth > patient.deceased_date:
            errors.add(
                "birth_date",
                f"Must not be after the date of death ({patient.deceased_date.isoformat()}).",
            )
    values.update(check_contact(errors, {k: v for k, v in data.items() if k in CONTACT_FIELDS}))
    errors.raise_if_any()
    if "mrn" in values and values["mrn"] != patient.mrn:
        clash = Patient.objects.alive().filter(clinic_id=patient.clinic_id, mrn=values["mrn"])
        if clash.exclude(pk=patient.pk).exists():
            errors.add(
                "mrn", f"A patient with MRN {values['mrn']!r} already exists in this clinic."
            )
            errors.raise_if_any()
    with transaction.atomic():
        if "deceased_date" in values and values["deceased_date"] != patient.deceased_date:
            _after_patient_fact(patient, now=now, actor_id=actor_id)
        for key, value in values.items():
            setattr(patient, key, value)
        patient.recorded_on = max(patient.recorded_on, today)
        stamp([patient], now=now)
        patient.save()
        publish_patient_updated(patient=patient, fields=sorted(values), now=now)
    return patient


def patient_record_death(
    *, patient: Patient, deceased_date: Any, actor: Any, now: datetime
) -> Patient:
    """Record the patient's date of death (or correct it).

    1. Validate the date: required, not in the future, not before birth.
    2. Lock and mark the patient's active episodes for re-evaluation (the
       engine closes what a deceased patient no longer needs), then write
       the date. Recording the date already held changes nothing.
    """
    today = _now_date(patient.clinic, now)
    errors = FieldErrors()
    if deceased_date is None or deceased_date == "":
        errors.add("deceased_date", "This field is required.")
    death = check_death_date(errors, deceased_date, birth=patient.birth_date, today=today)
    errors.raise_if_any()
    with transaction.atomic():
        _lock(patient)
        if death == patient.deceased_date:
            return patient
        _after_patient_fact(patient, now=now, actor_id=getattr(actor, "pk", None))
        patient.deceased_date = death
        patient.recorded_on = max(patient.recorded_on, today)
        stamp([patient], now=now)
        patient.save()
        publish_patient_updated(patient=patient, fields=["deceased_date"], now=now)
    return patient


def patient_delete(*, patient: Patient, now: datetime) -> Patient:
    """Soft delete: the row stays as a tombstone for syncing clients."""
    from pathways.models import Episode

    if Episode.objects.alive().filter(patient=patient).exists():
        raise DomainError("Delete or close the patient's episodes first.", field="patient")
    with transaction.atomic():
        patient.deleted_at = now
        stamp([patient], now=now)
        patient.save()
    return patient


# ------------------------------------------------------------ medications --
def _born(patient: Patient) -> tuple[date, str]:
    # pathway-spec V2.4: a clinical date before the patient's birth is bad input.
    return patient.birth_date, "the date of birth"


def _validate_medication(
    errors: FieldErrors, data: dict[str, Any], today: date, patient: Patient
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    born = _born(patient)
    out["drug"] = check_choice(errors, "drug", data.get("drug"), list(Drug.values))
    out["start_date"] = check_date(
        errors, "start_date", data.get("start_date"), today=today, not_before=born
    )
    out["stop_date"] = check_date(
        errors, "stop_date", data.get("stop_date"), today=today, required=False, not_before=born
    )
    if out["start_date"] and out["stop_date"] and out["stop_date"] < out["start_date"]:
        errors.add("stop_date", "Must not be before start_date.")
    out["dose"] = check_text(errors, "dose", data.get("dose"), max_length=100, required=False)
    out["route"] = check_choice(
        errors, "route", data.get("route") or "", list(Route.values), required=False
    )
    return out


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
    today = _now_date(patient.clinic, now)
    errors = FieldErrors()
    values = _validate_medication(errors, data, today, patient)
    errors.raise_if_any()
    med = Medication(
        id=medication_id or uuid.uuid4(),
        patient=patient,
        recorded_on=today,
        unverified=unverified,
        **values,
    )
    with transaction.atomic():
        _after_patient_fact(patient, now=now, actor_id=actor_id)
        stamp([med], now=now, new=True)
        med.save(force_insert=True)
    return med


def medication_update(
    *, medication: Medication, data: dict[str, Any], now: datetime, actor_id: int | None = None
) -> Medication:
    patient = medication.patient
    today = _now_date(patient.clinic, now)
    merged = {
        "drug": medication.drug,
        "start_date": medication.start_date,
        "stop_date": medication.stop_date,
        "dose": medication.dose,
        "route": medication.route,
    }
    merged.update(data)
    errors = FieldErrors()
    for field in data:
        if field not in merged:
            errors.add(field, "Unknown or read-only field.")
    values = _validate_medication(errors, merged, today, patient)
    errors.raise_if_any()
    with transaction.atomic():
        _after_patient_fact(patient, now=now, actor_id=actor_id)
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
        _lock(medication)
        if medication.deleted_at is not None:
            raise DomainError("This medication has been deleted.", field="medication")
        if not medication.unverified:
            raise DomainError("This medication is already verified.", field="unverified")
        _after_patient_fact(medication.patient, now=now, actor_id=getattr(actor, "pk", None))
        medication.unverified = False
        stamp([medication], now=now)
        medication.save()
    return medication


def medication_delete(
    *, medication: Medication, now: datetime, actor_id: int | None = None
) -> None:
    with transaction.atomic():
        _after_patient_fact(medication.patient, now=now, actor_id=actor_id)
        medication.deleted_at = now
        stamp([medication], now=now)
        medication.save()


# ------------------------------------------------------------ bone density --
def _validate_dxa(
    errors: FieldErrors, data: dict[str, Any], today: date, patient: Patient
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["performed_date"] = check_date(
        errors, "performed_date", data.get("performed_date"), today=today, not_before=_born(patient)
    )
    out["site"] = check_choice(errors, "site", data.get("site"), list(DxaSite.values))
    out["bmd_g_cm2"] = _decimal(
        errors,
        "bmd_g_cm2",
        data.get("bmd_g_cm2"),
        low=Decimal("0.1"),
        high=Decimal("2.5"),
        places=3,
        required=True,
    )
    out["t_score"] = _decimal(
        errors,
        "t_score",
        data.get("t_score"),
        low=Decimal("-7"),
        high=Decimal("5"),
        places=1,
        required=False,
    )
    return out


def _decimal(
    errors: FieldErrors,
    field: str,
    value: Any,
    *,
    low: Decimal,
    high: Decimal,
    places: int,
    required: bool,
) -> Decimal | None:
    if value is None or value == "":
        if required:
            errors.add(field, "This field is required.")
        return None
    if isinstance(value, bool):
        errors.add(field, "Must be a number.")
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.add(field, "Must be a number.")
        return None
    if not number.is_finite():
        errors.add(field, "Must be a finite number.")
        return None
    if number < low or number > high:
        errors.add(field, f"Must be between {low} and {high}.")
        return None
    return number.quantize(Decimal(1).scaleb(-places))


def bone_density_record(
    *,
    patient: Patient,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
    scan_id: uuid.UUID | None = None,
) -> BoneDensity:
    today = _now_date(patient.clinic, now)
    errors = FieldErrors()
    values = _validate_dxa(errors, data, today, patient)
    errors.raise_if_any()
    scan = BoneDensity(id=scan_id or uuid.uuid4(), patient=patient, recorded_on=today, **values)
    with transaction.atomic():
        _after_patient_fact(patient, now=now, actor_id=actor_id)
        stamp([scan], now=now, new=True)
        scan.save(force_insert=True)
    return scan


def bone_density_delete(*, scan: BoneDensity, now: datetime, actor_id: int | None = None) -> None:
    with transaction.atomic():
        _after_patient_fact(scan.patient, now=now, actor_id=actor_id)
        scan.deleted_at = now
        stamp([scan], now=now)
        scan.save()


def _lock(row: Patient | Medication) -> None:
    """Lock the row and reload it, so a check and the write see the same state
    (the web form holds no lock; a second tab or an API client may have written)."""
    list(type(row).objects.select_for_update().filter(pk=row.pk).values_list("pk"))
    row.refresh_from_db()


def check_void_reason(reason: Any) -> str:
    """A void always says why (a mistyped value, the wrong patient, ...)."""
    errors = FieldErrors()
    text = check_text(errors, "reason", reason, max_length=2000, required=True)
    errors.raise_if_any()
    return text


def patient_fact_void(
    *, record: Medication | BoneDensity, reason: Any, now: datetime, actor_id: int | None = None
) -> None:
    """Void a medication or DXA entered by mistake: a tombstone that keeps the
    reason; the patient's episodes are re-evaluated without it."""
    text = check_void_reason(reason)
    if record.deleted_at is not None:
        raise DomainError("This entry is already voided.")
    with transaction.atomic():
        _after_patient_fact(record.patient, now=now, actor_id=actor_id)
        record.void_reason = text
        record.deleted_at = now
        stamp([record], now=now)
        record.save()


def _after_patient_fact(patient: Patient, *, now: datetime, actor_id: int | None) -> None:
    """Lock and mark the patient's open episodes; call first in the transaction."""
    from pathways.models import Episode
    from pathways.services.evaluation import schedule_reevaluation

    ids = list(Episode.objects.active().filter(patient=patient).values_list("id", flat=True))
    # A patient whose episodes are all closed still has a programme to review.
    schedule_reevaluation(episode_ids=ids, patient_ids=[patient.id], now=now, actor_id=actor_id)
