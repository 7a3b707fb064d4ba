"""Writes of the patient record, and the checks of its fields.

This app sits below the pathway app and imports nothing of it. A write that
changes what a pathway sees of the patient - the date of death, a
medication, a DXA, deleting the patient - re-evaluates their episodes, so it
lives one layer up (``patient_facts`` among the pathway services), which
marks the episodes and then calls the checks and writes here
(``patient_changes`` + ``patient_change``, ``medication_values``,
``bone_density_values``, ...).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from patients.events import publish_patient_updated
from patients.inputs import check_day, parse_choice, parse_date, parse_text
from patients.models import (
    Clinic,
    Drug,
    DxaSite,
    Medication,
    Patient,
    Route,
    Sex,
)
from patients.sync import stamp
from vcftrack.core.errors import FieldErrors

MAX_AGE_YEARS = 130


def check_text(
    errors: FieldErrors, field: str, value: Any, *, max_length: int, required: bool
) -> str:
    return parse_text(errors, field, value, max_length=max_length, required=required)


def check_date(
    errors: FieldErrors,
    field: str,
    value: Any,
    *,
    today: date,
    required: bool = True,
    not_before: tuple[date, str] | None = None,
) -> date | None:
    parsed = parse_date(errors, field, value, required=required)
    check_day(errors, field, parsed, today=today, not_before=not_before)
    return parsed


def check_choice(
    errors: FieldErrors, field: str, value: Any, choices: list[str], *, required: bool = True
) -> str:
    return parse_choice(errors, field, value, choices, required=required)


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

    return ValidationError(errors.errors)


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


def patient_changes(*, patient: Patient, data: dict[str, Any], today: date) -> dict[str, Any]:
    """The checked new values of a change to a patient's details (raises on bad input)."""
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
    _check_life_dates(errors, patient, data, values, today=today)
    values.update(check_contact(errors, {k: v for k, v in data.items() if k in CONTACT_FIELDS}))
    errors.raise_if_any()
    if "mrn" in values and values["mrn"] != patient.mrn:
        clash = Patient.objects.alive().filter(clinic_id=patient.clinic_id, mrn=values["mrn"])
        if clash.exclude(pk=patient.pk).exists():
            errors.add(
                "mrn", f"A patient with MRN {values['mrn']!r} already exists in this clinic."
            )
            errors.raise_if_any()
    return values


def _check_life_dates(
    errors: FieldErrors,
    patient: Patient,
    data: dict[str, Any],
    values: dict[str, Any],
    *,
    today: date,
) -> None:
    """A new date of death (into ``values``), or a new birth date after the one held."""
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


def patient_change(
    *, patient: Patient, values: dict[str, Any], today: date, now: datetime
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


def death_date_value(*, patient: Patient, deceased_date: Any, today: date) -> date:
    """A date of death being recorded: required, not in the future, not before birth."""
    errors = FieldErrors()
    if deceased_date is None or deceased_date == "":
        errors.add("deceased_date", "This field is required.")
    death = check_death_date(errors, deceased_date, birth=patient.birth_date, today=today)
    errors.raise_if_any()
    assert death is not None  # raise_if_any() refused a missing date
    return death


# ------------------------------------------------------------ medications --
MEDICATION_FIELDS = ("drug", "start_date", "stop_date", "dose", "route")
DXA_FIELDS = ("performed_date", "site", "bmd_g_cm2", "t_score")


def _born(patient: Patient) -> tuple[date, str]:
    # pathway-spec V2.4: a clinical date before the patient's birth is bad input.
    return patient.birth_date, "the date of birth"


def medication_values(
    *, patient: Patient, data: dict[str, Any], today: date, errors: FieldErrors | None = None
) -> dict[str, Any]:
    """The checked fields of a medication (raises on bad input)."""
    errors = errors if errors is not None else FieldErrors()
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
    errors.raise_if_any()
    return out


def medication_changes(
    *, medication: Medication, data: dict[str, Any], today: date
) -> dict[str, Any]:
    """The checked fields of a medication after a change (unknown fields refused)."""
    merged: dict[str, Any] = {name: getattr(medication, name) for name in MEDICATION_FIELDS}
    merged.update(data)
    errors = FieldErrors()
    for field in data:
        if field not in MEDICATION_FIELDS:
            errors.add(field, "Unknown or read-only field.")
    return medication_values(patient=medication.patient, data=merged, today=today, errors=errors)


# ------------------------------------------------------------ bone density --
def bone_density_values(*, patient: Patient, data: dict[str, Any], today: date) -> dict[str, Any]:
    """The checked fields of a DXA scan (raises on bad input)."""
    errors = FieldErrors()
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
    errors.raise_if_any()
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


def lock_row(row: Patient | Medication) -> None:
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
