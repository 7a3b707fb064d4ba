"""Recording the facts of an episode: observations, imaging, procedures.

Recording a fact re-evaluates the episode once the transaction commits
(design.md): the fact is written first, ``next_review_at`` is set to now in
the same transaction so that a crash after commit is caught by the sweep.

A fact's input is parsed once, at the door, by ``pathways.inputs.facts``
(the same parser for the API, the web forms, the FHIR importer and the
worklist); the services take the typed input and check what needs the
episode and the clinic's date: not in the future, not before the episode's
onset (imaging: not before birth), the episode open.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.db import transaction

from pathways.inputs.facts import FactInput, ImagingInput, ObservationInput, ProcedureInput
from pathways.models import (
    Episode,
    EpisodeStatus,
    Imaging,
    NeuroStatus,
    Observation,
    Procedure,
)
from pathways.services.evaluation import schedule_reevaluation
from patients.inputs import check_day
from patients.services import check_void_reason
from patients.sync import stamp
from vcftrack.core.errors import DomainError, FieldErrors

Fact = Observation | Imaging | Procedure
MODELS: dict[type[FactInput], type[Fact]] = {
    ObservationInput: Observation,
    ImagingInput: Imaging,
    ProcedureInput: Procedure,
}


def _model_values(
    episode: Episode, values: FactInput, *, today: date, errors: FieldErrors | None
) -> dict[str, Any]:
    """The model fields of a parsed fact, its dates checked; raises every bad field."""
    errors = errors if errors is not None else FieldErrors()
    out: dict[str, Any] = dict(vars(values))
    if isinstance(values, ObservationInput):
        field = "effective_date"
        not_before = (episode.onset_date, "the episode's onset")
        value = out.pop("value")
        out["value_bool"] = value if isinstance(value, bool) else None
        out["value_number"] = None if isinstance(value, bool) else value
    elif isinstance(values, ImagingInput):
        # Imaging may predate the episode (the film that found the fracture),
        # never the patient (pathway-spec V2.4).
        field = "performed_date"
        not_before = (episode.patient.birth_date, "the date of birth")
    else:
        field = "performed_date"
        not_before = (episode.onset_date, "the episode's onset")
    check_day(errors, field, out[field], today=today, not_before=not_before)
    errors.raise_if_any()
    return out


def fact_record(
    *,
    episode: Episode,
    values: FactInput,
    now: datetime,
    actor_id: int | None = None,
    fact_id: uuid.UUID | None = None,
    errors: FieldErrors | None = None,
) -> Fact:
    """Record an observation, imaging study or procedure on an episode.

    A neuro-status observation also updates the episode's neuro status, which
    completes ``neuro_exam`` (pathway-spec, "Recording the fact a task asks for").
    ``errors``: what the caller's parser found; raised with the service's own.
    """
    if episode.deleted_at is not None or episode.status != EpisodeStatus.ACTIVE:
        raise DomainError("Facts cannot be recorded on a closed episode.", field="episode")
    today = episode.clinic.today(now)
    fields = _model_values(episode, values, today=today, errors=errors)
    fact = MODELS[type(values)](
        id=fact_id or uuid.uuid4(), episode=episode, recorded_on=today, **fields
    )
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[episode.id], now=now, actor_id=actor_id)
        stamped: list[Any] = [fact]
        if isinstance(values, ObservationInput) and values.kind == "neuro_deficit":
            episode.neuro_status = NeuroStatus.DEFICIT if values.value else NeuroStatus.INTACT
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
    fact: Fact,
    values: FactInput,
    now: datetime,
    actor_id: int | None = None,
    errors: FieldErrors | None = None,
) -> Fact:
    """Change a fact to ``values`` (the whole fact: ``parse_fact_change``)."""
    episode = fact.episode
    if episode.status != EpisodeStatus.ACTIVE:
        raise DomainError("Facts of a closed episode cannot be changed.", field="episode")
    if not isinstance(fact, MODELS[type(values)]):
        raise DomainError("A fact keeps its kind.", field="kind")
    fields = _model_values(episode, values, today=episode.clinic.today(now), errors=errors)
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[episode.id], now=now, actor_id=actor_id)
        for key, value in fields.items():
            setattr(fact, key, value)
        fact.recorded_on = max(fact.recorded_on, episode.clinic.today(now))
        stamp([fact], now=now)
        fact.save()
    return fact


def fact_delete(*, fact: Fact, now: datetime, actor_id: int | None = None) -> None:
    """Soft delete; tasks the fact had completed reopen on re-evaluation."""
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[fact.episode_id], now=now, actor_id=actor_id)
        fact.deleted_at = now
        stamp([fact], now=now)
        fact.save()


def fact_void(
    *,
    fact: Fact,
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
