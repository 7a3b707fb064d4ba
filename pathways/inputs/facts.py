"""The parsers of an episode's facts: observations, imaging, procedures.

Each gives a typed, frozen input (``ObservationInput``, ...) that
``fact_record`` and ``fact_update`` take. A change is parsed as the whole
fact: the stored values with the sent ones over them, so that a new kind is
checked against the value it keeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from pathways.levels import LEVEL_BIT
from pathways.models import (
    BOOLEAN_KINDS,
    NUMERIC_KINDS,
    Imaging,
    Modality,
    Observation,
    ObservationKind,
    Procedure,
    ProcedureKind,
)
from patients.inputs import parse_choice, parse_date, parse_text, refuse_unknown
from vcftrack.core.errors import FieldErrors
from vcftrack.core.labels import label


@dataclass(frozen=True)
class ObservationInput:
    kind: str
    # A number for the numeric kinds, a boolean for the others.
    value: float | bool | None
    effective_date: date | None


@dataclass(frozen=True)
class ImagingInput:
    modality: str
    contrast: bool
    region: str
    performed_date: date | None
    edema: bool | None


@dataclass(frozen=True)
class ProcedureInput:
    kind: str
    level: str
    performed_date: date | None


FactInput = ObservationInput | ImagingInput | ProcedureInput
INPUTS: dict[str, type[ObservationInput] | type[ImagingInput] | type[ProcedureInput]] = {
    "observation": ObservationInput,
    "imaging": ImagingInput,
    "procedure": ProcedureInput,
}
FACT_FIELDS = {kind: tuple(f.name for f in fields(cls)) for kind, cls in INPUTS.items()}


def _bool(errors: FieldErrors, field: str, value: Any, *, nullable: bool) -> bool | None:
    if value is None:
        if not nullable:
            errors.add(field, "Must be true or false.")
        return None
    if not isinstance(value, bool):
        errors.add(field, "Must be true or false." + (" or null" if nullable else ""))
        return None
    return value


def _what(obs_kind: str) -> str:
    """An observation kind as people say it: "A pain score", "Kyphosis"."""
    return "A pain score" if obs_kind == "pain_nrs" else label(obs_kind).removesuffix(" (%)")


def _observation_value(errors: FieldErrors, obs_kind: str, value: Any) -> float | bool | None:
    if obs_kind in BOOLEAN_KINDS:
        if not isinstance(value, bool):
            errors.add("value", f"{_what(obs_kind)} takes yes or no (true or false).")
            return None
        return value
    if obs_kind not in NUMERIC_KINDS:
        return None
    low, high = NUMERIC_KINDS[obs_kind]
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add("value", f"Enter a number from {low:g} to {high:g}.")
        return None
    if not math.isfinite(value) or value < low or value > high:
        errors.add(
            "value",
            f"{_what(obs_kind)} goes from {low:g} to {high:g}; {value:g} is outside that range.",
        )
        return None
    return float(value)


def parse_observation(data: Mapping[str, Any], errors: FieldErrors) -> ObservationInput:
    refuse_unknown(errors, data, FACT_FIELDS["observation"])
    obs_kind = parse_choice(errors, "kind", data.get("kind"), ObservationKind.values)
    return ObservationInput(
        kind=obs_kind,
        value=_observation_value(errors, obs_kind, data.get("value")),
        effective_date=parse_date(errors, "effective_date", data.get("effective_date")),
    )


def parse_imaging(data: Mapping[str, Any], errors: FieldErrors) -> ImagingInput:
    refuse_unknown(errors, data, FACT_FIELDS["imaging"])
    region = data.get("region", "spine")
    return ImagingInput(
        modality=parse_choice(errors, "modality", data.get("modality"), Modality.values),
        contrast=bool(_bool(errors, "contrast", data.get("contrast", False), nullable=False)),
        region=parse_text(errors, "region", region, max_length=64, required=False) or "spine",
        performed_date=parse_date(errors, "performed_date", data.get("performed_date")),
        edema=_bool(errors, "edema", data.get("edema"), nullable=True),
    )


def parse_procedure(data: Mapping[str, Any], errors: FieldErrors) -> ProcedureInput:
    refuse_unknown(errors, data, FACT_FIELDS["procedure"])
    level = data.get("level") or ""
    if level and (not isinstance(level, str) or level.upper() not in LEVEL_BIT):
        errors.add("level", f"{level!r} is not a vertebral level (T1-L5).")
        level = ""
    return ProcedureInput(
        kind=parse_choice(errors, "kind", data.get("kind"), ProcedureKind.values),
        level=level.upper() if isinstance(level, str) else "",
        performed_date=parse_date(errors, "performed_date", data.get("performed_date")),
    )


PARSERS: dict[str, Callable[[Mapping[str, Any], FieldErrors], FactInput]] = {
    "observation": parse_observation,
    "imaging": parse_imaging,
    "procedure": parse_procedure,
}


def parse_fact(kind: str, data: Mapping[str, Any], errors: FieldErrors) -> FactInput:
    """A new fact of ``kind`` ("observation", "imaging", "procedure")."""
    return PARSERS[kind](data, errors)


def kind_of(fact: Observation | Imaging | Procedure) -> str:
    return {Observation: "observation", Imaging: "imaging", Procedure: "procedure"}[type(fact)]


def parse_fact_change(
    fact: Observation | Imaging | Procedure, data: Mapping[str, Any], errors: FieldErrors
) -> FactInput:
    """The fact as it will be: the stored values, the sent ones over them."""
    kind = kind_of(fact)
    current = {name: getattr(fact, name) for name in FACT_FIELDS[kind]}
    return parse_fact(kind, {**current, **data}, errors)
