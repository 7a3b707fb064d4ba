"""Recording the facts of an episode: observations, imaging, procedures.

Recording a fact re-evaluates the episode once the transaction commits
(design.md): the fact is written first, ``next_review_at`` is set to now in
the same transaction so that a crash after commit is caught by the sweep.

The values are checked here for every door (API, web forms, FHIR importer);
the API's edge checks only the body's shape against the write serializer,
whose fields ``FACT_FIELDS`` must equal (``tests/api/test_contract.py``).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction

from pathways.levels import LEVEL_BIT
from pathways.models import (
    BOOLEAN_KINDS,
    NUMERIC_KINDS,
    Episode,
    EpisodeStatus,
    Imaging,
    Modality,
    NeuroStatus,
    Observation,
    ObservationKind,
    Procedure,
    ProcedureKind,
)
from pathways.services.evaluation import schedule_reevaluation
from patients.services import check_choice, check_date, check_text, check_void_reason
from patients.sync import stamp
from vcftrack.core.errors import DomainError, FieldErrors
from vcftrack.core.labels import label

FACT_MODELS: dict[str, type[Observation] | type[Imaging] | type[Procedure]] = {
    "observation": Observation,
    "imaging": Imaging,
    "procedure": Procedure,
}
FACT_FIELDS = {
    "observation": ("kind", "value", "effective_date"),
    "imaging": ("modality", "contrast", "region", "performed_date", "edema"),
    "procedure": ("kind", "level", "performed_date"),
}


def _check_bool(errors: FieldErrors, field: str, value: Any, *, nullable: bool) -> bool | None:
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


def _validate(kind: str, episode: Episode, data: dict[str, Any], today: Any) -> dict[str, Any]:
    errors = FieldErrors()
    for field in data:
        if field not in FACT_FIELDS[kind]:
            errors.add(field, "Unknown or read-only field.")
    onset = (episode.onset_date, "the episode's onset")
    out: dict[str, Any] = {}
    if kind == "observation":
        obs_kind = check_choice(errors, "kind", data.get("kind"), list(ObservationKind.values))
        out["kind"] = obs_kind
        out["effective_date"] = check_date(
            errors, "effective_date", data.get("effective_date"), today=today, not_before=onset
        )
        value = data.get("value")
        out["value_number"] = None
        out["value_bool"] = None
        if obs_kind in BOOLEAN_KINDS:
            if not isinstance(value, bool):
                errors.add("value", f"{_what(obs_kind)} takes yes or no (true or false).")
            out["value_bool"] = value if isinstance(value, bool) else None
        elif obs_kind in NUMERIC_KINDS:
            low, high = NUMERIC_KINDS[obs_kind]
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors.add("value", f"Enter a number from {low:g} to {high:g}.")
            elif not math.isfinite(value) or value < low or value > high:
                errors.add(
                    "value",
                    f"{_what(obs_kind)} goes from {low:g} to {high:g}; {value:g} is outside "
                    "that range.",
                )
            else:
                out["value_number"] = float(value)
    elif kind == "imaging":
        out["modality"] = check_choice(
            errors, "modality", data.get("modality"), list(Modality.values)
        )
        out["contrast"] = bool(
            _check_bool(errors, "contrast", data.get("contrast", False), nullable=False)
        )
        out["region"] = (
            check_text(errors, "region", data.get("region", "spine"), max_length=64, required=False)
            or "spine"
        )
        # Imaging may predate the episode (the film that found the fracture),
        # never the patient (pathway-spec V2.4).
        out["performed_date"] = check_date(
            errors,
            "performed_date",
            data.get("performed_date"),
            today=today,
            not_before=(episode.patient.birth_date, "the date of birth"),
        )
        out["edema"] = _check_bool(errors, "edema", data.get("edema"), nullable=True)
    else:
        out["kind"] = check_choice(errors, "kind", data.get("kind"), list(ProcedureKind.values))
        level = data.get("level") or ""
        if level and (not isinstance(level, str) or level.upper() not in LEVEL_BIT):
            errors.add("level", f"{level!r} is not a vertebral level (T1-L5).")
            level = ""
        out["level"] = level.upper() if isinstance(level, str) else ""
        out["performed_date"] = check_date(
            errors, "performed_date", data.get("performed_date"), today=today, not_before=onset
        )
    errors.raise_if_any()
    return out


def fact_record(
    *,
    episode: Episode,
    kind: str,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
    fact_id: uuid.UUID | None = None,
) -> Observation | Imaging | Procedure:
    """Record an observation, imaging study or procedure on an episode.

    A neuro-status observation also updates the episode's neuro status, which
    completes ``neuro_exam`` (pathway-spec, "Recording the fact a task asks for").
    """
    if kind not in FACT_MODELS:
        raise DomainError(f"Unknown fact kind {kind!r}.", field="kind")
    if episode.deleted_at is not None or episode.status != EpisodeStatus.ACTIVE:
        raise DomainError("Facts cannot be recorded on a closed episode.", field="episode")
    today = episode.clinic.today(now)
    values = _validate(kind, episode, data, today)
    model = FACT_MODELS[kind]
    fact = model(id=fact_id or uuid.uuid4(), episode=episode, recorded_on=today, **values)
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[episode.id], now=now, actor_id=actor_id)
        stamped: list[Any] = [fact]
        if kind == "observation" and values["kind"] == "neuro_deficit":
            episode.neuro_status = (
                NeuroStatus.DEFICIT if values["value_bool"] else NeuroStatus.INTACT
            )
            stamped.append(episode)
        stamp(stamped, now=now, new=False)
        fact.version = 1
        fact.created_at = now
        fact.save(force_insert=True)
        if len(stamped) > 1:
            episode.save(update_fields=["neuro_status", "version", "change_seq", "updated_at"])
    return fact


def fact_update(
    *,
    fact: Observation | Imaging | Procedure,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
) -> Observation | Imaging | Procedure:
    kind = {Observation: "observation", Imaging: "imaging", Procedure: "procedure"}[type(fact)]
    episode = fact.episode
    if episode.status != EpisodeStatus.ACTIVE:
        raise DomainError("Facts of a closed episode cannot be changed.", field="episode")
    current: dict[str, Any] = {f: getattr(fact, f) for f in FACT_FIELDS[kind] if f != "value"}
    if kind == "observation":
        current["value"] = fact.value  # type: ignore[union-attr]
    unknown = [f for f in data if f not in FACT_FIELDS[kind]]
    merged = {**current, **{k: v for k, v in data.items() if k not in unknown}}
    if unknown:
        merged.update({k: data[k] for k in unknown})
    values = _validate(kind, episode, merged, episode.clinic.today(now))
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[episode.id], now=now, actor_id=actor_id)
        for key, value in values.items():
            setattr(fact, key, value)
        fact.recorded_on = max(fact.recorded_on, episode.clinic.today(now))
        stamp([fact], now=now)
        fact.save()
    return fact


def fact_delete(
    *, fact: Observation | Imaging | Procedure, now: datetime, actor_id: int | None = None
) -> None:
    """Soft delete; tasks the fact had completed reopen on re-evaluation."""
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[fact.episode_id], now=now, actor_id=actor_id)
        fact.deleted_at = now
        stamp([fact], now=now)
        fact.save()


def fact_void(
    *,
    fact: Observation | Imaging | Procedure,
    reason: Any,
    now: datetime,
    actor_id: int | None = None,
) -> None:
    """Void a fact entered by mistake, with the reason: a tombstone the record
    keeps; tasks the fact had completed reopen on re-evaluation."""
    text = check_void_reason(reason)
    if fact.deleted_at is not None:
        raise DomainError("This entry is already voided.")
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[fact.episode_id], now=now, actor_id=actor_id)
        fact.void_reason = text
        fact.deleted_at = now
        stamp([fact], now=now)
        fact.save()
