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
from typing import Any

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
