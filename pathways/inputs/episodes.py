"""The parsers of the episode writes: create, change, close."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict

from pathways.levels import InvalidLevel, levels_to_mask, mask_to_levels
from pathways.models import CloseReason, Etiology, NeuroStatus
from patients.inputs import parse_choice, parse_date, refuse_unknown
from vcftrack.core.errors import FieldErrors


class EpisodeValues(TypedDict):
    """The keyword arguments ``episode_create`` takes from a parsed input."""

    levels: list[str]
    onset_date: date | None
    # None: the clinic's today ("identified: defaults to the presentation date").
    identified_date: date | None
    etiology: str
    neuro_status: str


class EpisodeChanges(TypedDict, total=False):
    """The keyword arguments ``episode_update`` takes: the fields sent."""

    levels: list[str]
    onset_date: date | None
    identified_date: date | None
    etiology: str
    neuro_status: str


class CloseValues(TypedDict):
    reason: str
    note: str


EPISODE_FIELDS = tuple(EpisodeValues.__annotations__)
CLOSE_FIELDS = tuple(CloseValues.__annotations__)
MAX_NOTE = 200


def _levels(errors: FieldErrors, value: Any) -> list[str]:
    if value is None or value == [] or value == "":
        errors.add("levels", "At least one vertebral level (T1-L5) is required.")
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, list | tuple):
        errors.add("levels", 'Must be a list of vertebral levels, e.g. ["T12", "L1"].')
        return []
    try:
        mask = levels_to_mask(value)
    except InvalidLevel as exc:
        errors.add("levels", f"{exc}.")
        return []
    return mask_to_levels(mask)


def _field(errors: FieldErrors, field: str, value: Any, *, change: bool = False) -> Any:
    """One episode field, parsed (a change must not empty identified_date)."""
    if field == "levels":
        return _levels(errors, value)
    if field in ("onset_date", "identified_date"):
        return parse_date(errors, field, value, required=change or field == "onset_date")
    choices = Etiology.values if field == "etiology" else NeuroStatus.values
    # Absent or null: "unknown".
    return parse_choice(errors, field, value or "unknown", choices)


def parse_episode(data: Mapping[str, Any], errors: FieldErrors) -> EpisodeValues:
    """A new episode's fields; each bad one is named in ``errors``."""
    refuse_unknown(errors, data, EPISODE_FIELDS)
    return EpisodeValues(
        levels=_field(errors, "levels", data.get("levels")),
        onset_date=_field(errors, "onset_date", data.get("onset_date")),
        identified_date=_field(errors, "identified_date", data.get("identified_date")),
        etiology=_field(errors, "etiology", data.get("etiology")),
        neuro_status=_field(errors, "neuro_status", data.get("neuro_status")),
    )


def parse_episode_changes(data: Mapping[str, Any], errors: FieldErrors) -> EpisodeChanges:
    """The fields an episode change sends (the others stay as they are)."""
    refuse_unknown(errors, data, EPISODE_FIELDS)
    changes = EpisodeChanges()
    for field in EPISODE_FIELDS:
        if field in data:
            changes[field] = _field(errors, field, data[field], change=True)  # type: ignore[literal-required]
    return changes


def parse_close(data: Mapping[str, Any], errors: FieldErrors) -> CloseValues:
    """Why an episode is closed, and a short note."""
    refuse_unknown(errors, data, CLOSE_FIELDS)
    reason = parse_choice(errors, "reason", data.get("reason"), CloseReason.values)
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        errors.add("note", f"Must be a string of at most {MAX_NOTE} characters.")
        note = ""
    return CloseValues(reason=reason, note=note)
