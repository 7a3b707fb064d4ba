"""The pieces every write's parser is built from: the shape of a value.

A write's parser (``pathways.inputs``, ``patients.inputs``) turns the raw
input of any door - a JSON body, a web form, a FHIR resource - into the
typed keyword arguments of its service, once, and names each bad field in
plain English. What needs the database or the clinic's date (not in the
future, not before the date of birth, the patient deleted) is the
service's to check: ``check_day`` below is that check, called by services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from patients.models import Drug, DxaSite, Medication, Route, Sex
from vcftrack.core.errors import FieldErrors

EARLIEST_DATE = date(1850, 1, 1)
UNKNOWN_FIELD = "Unknown or read-only field."
REQUIRED = "This field is required."


def refuse_unknown(errors: FieldErrors, data: Mapping[str, Any], fields: Iterable[str]) -> None:
    """Name every field of ``data`` that the write does not take."""
    known = set(fields)
    for field in data:
        if field not in known:
            errors.add(field, UNKNOWN_FIELD)


def parse_date(
    errors: FieldErrors, field: str, value: Any, *, required: bool = True
) -> date | None:
    """A date (or its ISO text); None when absent or bad (bad is named)."""
    if value is None or value == "":
        if required:
            errors.add(field, REQUIRED)
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
    return value


def parse_choice(
    errors: FieldErrors, field: str, value: Any, choices: Iterable[str], *, required: bool = True
) -> str:
    """One of ``choices``; "" when absent or bad (bad is named)."""
    options = list(choices)
    if value is None or value == "":
        if required:
            errors.add(field, REQUIRED)
        return ""
    if not isinstance(value, str) or value not in options:
        errors.add(field, f"{value!r} is not one of: {', '.join(options)}.")
        return ""
    return value


def parse_text(
    errors: FieldErrors, field: str, value: Any, *, max_length: int, required: bool
) -> str:
    """Stripped text of at most ``max_length`` characters."""
    if value is None or value == "":
        if required:
            errors.add(field, REQUIRED)
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


def check_day(
    errors: FieldErrors,
    field: str,
    value: date | None,
    *,
    today: date,
    not_before: tuple[date, str] | None = None,
) -> None:
    """A service's check of a parsed date: not after the clinic's today, not
    before 1850, not before ``not_before`` (e.g. the date of birth)."""
    if value is None:
        return
    if value > today:
        errors.add(field, f"Must not be in the future (today is {today.isoformat()}).")
    if value < EARLIEST_DATE:
        # Also keeps the engine's date arithmetic (windows before a date) in range.
        errors.add(field, f"Must not be before {EARLIEST_DATE.isoformat()}.")
    if not_before is not None and value < not_before[0]:
        errors.add(field, f"Must not be before {not_before[1]} ({not_before[0].isoformat()}).")


# --------------------------------------------------------------- patients --
class PatientValues(TypedDict):
    """The keyword arguments ``patient_create`` takes from a parsed input."""

    mrn: str
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    # None: not deceased.
    deceased_date: date | None
    phone: str
    phone_alt: str
    contact_time: str


class PatientChanges(TypedDict, total=False):
    """The keyword arguments ``patient_update`` takes: the fields sent."""

    mrn: str
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    deceased_date: date | None
    phone: str
    phone_alt: str
    contact_time: str


PATIENT_FIELDS = tuple(PatientValues.__annotations__)
PHONE_CHARS = set("0123456789+-() ./")


def _phone(errors: FieldErrors, field: str, value: Any) -> str:
    """Phone numbers as people write them (+49 30 1234-567), checked loosely:
    only phone characters, and enough digits to dial."""
    text = parse_text(errors, field, value, max_length=32, required=False)
    if text and (set(text) - PHONE_CHARS or sum(c.isdigit() for c in text) < 5):
        errors.add(field, "Enter a phone number: digits, spaces, + - ( ) only, 5 digits at least.")
    return text


def _patient_field(errors: FieldErrors, field: str, value: Any) -> Any:
    if field == "mrn":
        return parse_text(errors, field, value, max_length=64, required=True)
    if field in ("given_name", "family_name"):
        return parse_text(errors, field, value, max_length=100, required=True)
    if field in ("birth_date", "deceased_date"):
        return parse_date(errors, field, value, required=field == "birth_date")
    if field == "sex":
        return parse_choice(errors, field, value, Sex.values)
    if field in ("phone", "phone_alt"):
        return _phone(errors, field, value)
    return parse_text(errors, field, value, max_length=100, required=False)


def parse_patient(data: Mapping[str, Any], errors: FieldErrors) -> PatientValues:
    """A new patient's details; each bad one is named in ``errors``."""
    refuse_unknown(errors, data, PATIENT_FIELDS)
    # Absent or blank sex: "unknown".
    sent = {**data, "sex": data.get("sex") or "unknown"}
    return PatientValues(
        **{field: _patient_field(errors, field, sent.get(field)) for field in PATIENT_FIELDS}  # type: ignore[typeddict-item]
    )


def parse_patient_changes(data: Mapping[str, Any], errors: FieldErrors) -> PatientChanges:
    """The details a change sends (the others stay as they are)."""
    refuse_unknown(errors, data, PATIENT_FIELDS)
    changes = PatientChanges()
    for field in PATIENT_FIELDS:
        if field in data:
            changes[field] = _patient_field(errors, field, data[field])  # type: ignore[literal-required]
    return changes


# ------------------------------------------------------------ medications --
class MedicationValues(TypedDict):
    """The keyword arguments ``medication_record`` and ``medication_update`` take."""

    drug: str
    start_date: date | None
    # None: still taken.
    stop_date: date | None
    dose: str
    route: str


MEDICATION_FIELDS = tuple(MedicationValues.__annotations__)


def parse_medication(data: Mapping[str, Any], errors: FieldErrors) -> MedicationValues:
    """A medication's fields; each bad one is named in ``errors``."""
    refuse_unknown(errors, data, MEDICATION_FIELDS)
    return MedicationValues(
        drug=parse_choice(errors, "drug", data.get("drug"), Drug.values),
        start_date=parse_date(errors, "start_date", data.get("start_date")),
        stop_date=parse_date(errors, "stop_date", data.get("stop_date"), required=False),
        dose=parse_text(errors, "dose", data.get("dose"), max_length=100, required=False),
        route=parse_choice(errors, "route", data.get("route") or "", Route.values, required=False),
    )


def parse_medication_change(
    medication: Medication, data: Mapping[str, Any], errors: FieldErrors
) -> MedicationValues:
    """The medication as it will be: the stored fields, the sent ones over them."""
    current = {name: getattr(medication, name) for name in MEDICATION_FIELDS}
    return parse_medication({**current, **data}, errors)


# ------------------------------------------------------------ bone density --
class BoneDensityValues(TypedDict):
    """The keyword arguments ``bone_density_record`` takes."""

    performed_date: date | None
    site: str
    bmd_g_cm2: Decimal | None
    t_score: Decimal | None


DXA_FIELDS = tuple(BoneDensityValues.__annotations__)


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
            errors.add(field, REQUIRED)
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


def parse_bone_density(data: Mapping[str, Any], errors: FieldErrors) -> BoneDensityValues:
    """A DXA scan's fields; each bad one is named in ``errors``."""
    refuse_unknown(errors, data, DXA_FIELDS)
    return BoneDensityValues(
        performed_date=parse_date(errors, "performed_date", data.get("performed_date")),
        site=parse_choice(errors, "site", data.get("site"), DxaSite.values),
        bmd_g_cm2=_decimal(
            errors,
            "bmd_g_cm2",
            data.get("bmd_g_cm2"),
            low=Decimal("0.1"),
            high=Decimal("2.5"),
            places=3,
            required=True,
        ),
        t_score=_decimal(
            errors,
            "t_score",
            data.get("t_score"),
            low=Decimal("-7"),
            high=Decimal("5"),
            places=1,
            required=False,
        ),
    )
