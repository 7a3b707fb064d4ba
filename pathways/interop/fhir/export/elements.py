"""The small FHIR data types every exported resource is built from."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Protocol

from pathways.interop.fhir import codes

# A FHIR resource or element as a JSON-able dict.
JSON = dict[str, Any]

# The namespace of the ids of resources that have no row of their own
# (Condition, Organization, Bundle, the edema Observation of an imaging study).
FHIR_NAMESPACE = uuid.UUID("6f1d8c52-53a4-4c7e-9a1e-2f0c1b7d9e41")


def ref(kind: str, rid: uuid.UUID | str) -> JSON:
    """A Reference in the form every entry's fullUrl uses (``urn:uuid:<id>``)."""
    return {"reference": f"urn:uuid:{rid}", "type": kind}


def iso(value: date | datetime) -> str:
    return value.isoformat()


def concept(text: str, *codings: tuple[str, str, str]) -> JSON:
    """A CodeableConcept: readable text, with (system, code, display) codings."""
    out: JSON = {"text": text}
    if codings:
        out["coding"] = [{"system": s, "code": c, "display": d} for s, c, d in codings]
    return out


def local(kind: str, code: str, display: str) -> tuple[str, str, str]:
    """A coding in vcftrack's own code system for ``kind``."""
    return (codes.system_uri("CodeSystem", kind), code, display)


def level_site(level: str) -> JSON:
    """A vertebral level as a body site (SNOMED CT when the level has a code)."""
    snomed = codes.VERTEBRA_SNOMED.get(level)
    if snomed is None:
        return {"text": level}
    return concept(f"{level} vertebra", (codes.SNOMED, snomed, f"{level} vertebra"))


def derived_id(*parts: object) -> uuid.UUID:
    """The stable id of a resource with no row of its own."""
    return uuid.uuid5(FHIR_NAMESPACE, "/".join(str(p) for p in parts))


def quantity(value: float, unit: str, code: str) -> JSON:
    return {"value": value, "unit": unit, "system": codes.UCUM, "code": code}


class Versioned(Protocol):
    """A row that carries an optimistic-lock version and its last update."""

    @property
    def version(self) -> int: ...

    @property
    def updated_at(self) -> datetime: ...


def meta(row: Versioned) -> JSON:
    """Resource.meta of a versioned row: its version and last update."""
    return {"versionId": str(row.version), "lastUpdated": iso(row.updated_at)}
