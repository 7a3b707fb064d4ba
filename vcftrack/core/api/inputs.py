"""Checks on raw input that the services cannot see or would crash on.

Each write's parser (``pathways.inputs``, ``patients.inputs``) checks every
field it knows (types, ranges, dates, enums, lengths) and names each bad one;
its service checks what needs the database or the clinic's date. What is
left for the API layer: the body
must be a JSON object, unknown fields are refused, and no string or number
may reach the database driver that it cannot store (NUL characters, lone
surrogates, integers beyond 64 bits) - those would be 500s, not 400s.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.request import Request

from vcftrack.core.api.errors import ApiError, invalid

MAX_DEPTH = 8
# Field (or query parameter, or header) -> its messages.
Errors = dict[str, list[str]]
# JSON numbers a float64 holds exactly; anything larger is a client bug.
MAX_SAFE_INT = 2**53


def _bad_string(value: str) -> str | None:
    if "\x00" in value:
        return "Must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode (no lone surrogates)."
    return None


def scan(value: Any, field: str, errors: dict[str, list[str]], depth: int = 0) -> None:
    """Add an error for ``field`` if a value inside it cannot be stored."""
    if depth > MAX_DEPTH:
        errors.setdefault(field, []).append("Nested too deeply.")
        return
    message: str | None = None
    if isinstance(value, str):
        message = _bad_string(value)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            message = "Number out of range."
    elif isinstance(value, list):
        for item in value:
            scan(item, field, errors, depth + 1)
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            scan(key, field, errors, depth + 1)
            scan(item, field, errors, depth + 1)
        return
    if message and message not in errors.get(field, []):
        errors.setdefault(field, []).append(message)


def body_object(
    request: Request, *, allowed: Iterable[str], required: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The JSON object of the body and the errors found so far (unknown fields, ...)."""
    data = request.data
    if not isinstance(data, dict):
        raise ApiError(
            "The request body must be a JSON object.",
            status_code=400,
            code="parse_error",
            errors={"body": ["Expected a JSON object."]},
        )
    return check_object(dict(data), allowed=allowed, required=required)


def check_object(
    data: dict[str, Any], *, allowed: Iterable[str], required: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    allowed_set = set(allowed)
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if key not in allowed_set:
            scan(key, "body", errors)
            if isinstance(key, str) and not _bad_string(key):
                errors.setdefault(key, []).append("Unknown or read-only field.")
            continue
        scan(value, key, errors)
    for key in required:
        if key not in data:
            errors.setdefault(key, []).append("This field is required.")
    clean = {k: v for k, v in data.items() if k in allowed_set and k not in errors}
    return clean, errors


def merge(*many: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for errors in many:
        for field, messages in errors.items():
            for message in messages:
                if message not in out.setdefault(field, []):
                    out[field].append(message)
    return out


def raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise invalid(errors)


def check_query(request: Request) -> None:
    """Refuse query strings the database could not compare against."""
    errors: dict[str, list[str]] = {}
    for key, values in request.query_params.lists():
        for value in values:
            scan(value, key, errors)
        scan(key, key, errors)
    raise_if(errors)


def parse_uuid(value: Any, field: str, errors: dict[str, list[str]]) -> uuid.UUID | None:
    if value is None or value == "":
        errors.setdefault(field, []).append("This field is required.")
        return None
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Must be a UUID string.")
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        errors.setdefault(field, []).append(f"{value[:60]!r} is not a valid UUID.")
        return None


def parse_timestamp(value: str, field: str) -> datetime:
    """An ISO 8601 timestamp (a date alone means its midnight UTC); naive means UTC."""
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            day: date | None = parse_date(value)
        except ValueError:
            day = None
        if day is None:
            raise invalid(
                {field: ["Must be an ISO 8601 timestamp, e.g. 2026-11-22T09:00:00Z."]}
            ) from None
        parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise invalid({field: ["Out of range."]}) from None
