"""Reading values out of FHIR JSON that may be partial or malformed.

Every helper accepts whatever the file holds (``object``) and answers with
an empty value where the shape is not the expected one: a bundle from
another system is input, not a contract.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

# A FHIR resource or element as parsed from JSON.
JSON = dict[str, Any]


def codings(concept: object) -> list[JSON]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def codes_in(concept: object, system: str) -> set[str]:
    """The codes of ``system`` in a CodeableConcept."""
    return {str(c.get("code")) for c in codings(concept) if c.get("system") == system}


def texts(concept: object) -> str:
    """The concept's text and every coding's display, for matching words."""
    if not isinstance(concept, dict):
        return ""
    parts = [str(concept.get("text", ""))]
    parts += [str(c.get("display", "")) for c in codings(concept)]
    return " ".join(p for p in parts if p)


def label(concept: object) -> str:
    """What a person would call the concept: its text, else the first display."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    displays = [str(c["display"]) for c in codings(concept) if c.get("display")]
    return displays[0] if displays else ""


def ref_id(ref: object) -> str:
    """The id part of a reference: 'urn:uuid:X', 'Patient/X' or 'http://…/Patient/X'."""
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return ""
    value: str = ref["reference"]
    if value.startswith("urn:uuid:"):
        return value[len("urn:uuid:") :]
    return value.rstrip("/").rsplit("/", 1)[-1]


def fhir_date(value: object, tz: ZoneInfo) -> date | None:
    """A FHIR date/dateTime as a date in the clinic's zone; None if absent or partial."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


def at_path(resource: JSON, dotted: str) -> object:
    """resource["a"]["b"] for "a.b"; None where a step is missing."""
    value: object = resource
    for step in dotted.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return value


def quantity(element: JSON) -> tuple[float, str] | None:
    """An element's valueQuantity as (value, unit code), if it has a number."""
    qty = element.get("valueQuantity")
    if not isinstance(qty, dict) or not isinstance(qty.get("value"), int | float):
        return None
    unit = str(qty.get("code") or qty.get("unit") or "")
    return float(qty["value"]), unit


def items(value: object) -> list[JSON]:
    """The dicts of a JSON list (nothing when it is not a list)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
