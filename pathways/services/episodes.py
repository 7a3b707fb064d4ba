"""Episode writes: create, update, close, delete, migrate the pathway version.

Input contract (decided for issue 12): the values are checked here, once, by
the same parsers whatever the door - the API, the web forms, the FHIR
importer - so a bad value gets the same message everywhere and a direct call
is refused as an API call would be. The API's edge checks only the shape of
the body against the write's input serializer (the OpenAPI schema: known
fields, required ones; ``vcftrack.core.api.serializers``); ``EPISODE_FIELDS``
must equal that serializer's fields (``tests/api/test_contract.py``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.db import transaction

from pathways.engine import CURRENT_VERSION, RuleSet, get_ruleset
from pathways.events import publish_phase_changes, publish_task_changes
from pathways.levels import InvalidLevel, levels_to_mask
from pathways.models import (
    ActorKind,
    CloseReason,
    Episode,
    EpisodeStatus,
    Etiology,
    NeuroStatus,
    Phase,
    PhaseTransition,
    Programme,
    ProgrammeStatus,
)
from pathways.services.evaluation import (
    evaluate_batch,
    evaluate_patients,
    schedule_reevaluation,
)
from patients.models import Patient
from patients.services import check_choice, check_date
from patients.sync import stamp
from vcftrack.core.errors import DomainError, FieldErrors

EPISODE_FIELDS = ("levels", "onset_date", "identified_date", "etiology", "neuro_status")


def _check_levels(errors: FieldErrors, value: Any) -> int:
    if value is None or value == [] or value == "":
        errors.add("levels", "At least one vertebral level (T1-L5) is required.")
        return 0
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, list | tuple):
        errors.add("levels", 'Must be a list of vertebral levels, e.g. ["T12", "L1"].')
        return 0
    try:
        return levels_to_mask(value)
    except InvalidLevel as exc:
        errors.add("levels", f"{exc}.")
        return 0


def _validate(
    errors: FieldErrors,
    data: dict[str, Any],
    *,
    today: Any,
    birth: date | None,
    partial: bool = False,
) -> dict[str, Any]:
    # pathway-spec V2.4: a clinical date before the patient's birth is bad input.
    born = (birth, "the date of birth") if birth is not None else None
    out: dict[str, Any] = {}
    if not partial or "levels" in data:
        out["levels_mask"] = _check_levels(errors, data.get("levels"))
    if not partial or "onset_date" in data:
        out["onset_date"] = check_date(
            errors, "onset_date", data.get("onset_date"), today=today, not_before=born
        )
    if not partial or "identified_date" in data:
        ident = data.get("identified_date")
        if ident in (None, "") and not partial:
            # "identified: defaults to the presentation date" (pathway-spec).
            ident = today
        out["identified_date"] = check_date(
            errors, "identified_date", ident, today=today, not_before=born
        )
    if not partial or "etiology" in data:
        out["etiology"] = check_choice(
            errors, "etiology", data.get("etiology") or "unknown", list(Etiology.values)
        )
    if not partial or "neuro_status" in data:
        out["neuro_status"] = check_choice(
            errors, "neuro_status", data.get("neuro_status") or "unknown", list(NeuroStatus.values)
        )
    return out


def episode_create(
    *,
    patient: Patient,
    data: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
    episode_id: uuid.UUID | None = None,
    pathway_version: str | None = None,
) -> Episode:
    """Create an episode and evaluate it as of today, in one transaction.

    A new episode gets the current pathway version unless a caller (a
    migration tool, a test of version 1) names one.

    Dates in the past are fine (tasks whose dates have passed appear at once,
    with their original due dates); a date in the future is bad input.
    """
    errors = FieldErrors()
    for field in data:
        if field not in EPISODE_FIELDS:
            errors.add(field, "Unknown or read-only field.")
    if patient.deleted_at is not None:
        errors.add("patient", "The patient has been deleted.")
    today = patient.clinic.today(now)
    values = _validate(errors, data, today=today, birth=patient.birth_date)
    if values.get("onset_date") and values.get("identified_date"):
        if values["identified_date"] < values["onset_date"]:
            errors.add("identified_date", "Must not be before onset_date.")
    errors.raise_if_any()
    version = pathway_version or CURRENT_VERSION
    ruleset = get_ruleset(version)
    episode = Episode(
        id=episode_id or uuid.uuid4(),
        patient=patient,
        clinic_id=patient.clinic_id,
        recorded_on=today,
        phase=Phase.TRIAGE,
        pathway_version=version,
        created_at=now,
        updated_at=now,
        # version 0 until the first evaluation records the opening transition.
        version=0,
        next_review_at=now,
        **values,
    )
    with transaction.atomic():
        programme = _programme_for(patient, ruleset, now=now)
        if programme is not None:
            # The patient is the unit of evaluation (pathway-spec V2.1): the
            # new episode joins the programme and the patient is evaluated
            # whole, under the programme's lock.
            _join_programme(patient, programme)
            episode.programme = programme
            episode.save(force_insert=True)
            evaluate_patients([patient.id], now=now, actor_id=actor_id)
        else:
            # A new episode takes over the patient-level rules from the older
            # ones. Their rows are locked before the change counter is taken
            # (lock order: episodes, then tasks, then the counter -- as the
            # sweep does).
            siblings = list(
                Episode.objects.active().filter(patient_id=patient.id).values_list("id", flat=True)
            )
            schedule_reevaluation(episode_ids=siblings, now=now, actor_id=actor_id)
            episode.save(force_insert=True)
            evaluate_batch([episode.id], now=now, actor_id=actor_id)
    episode.refresh_from_db()
    return episode


def _programme_for(patient: Patient, ruleset: RuleSet, *, now: datetime) -> Programme | None:
    """The patient's programme, locked; created when a rule set with a
    programme reaches a patient who has none. Lock order: programme, episodes."""
    existing = Programme.objects.select_for_update().filter(patient_id=patient.id).first()
    if existing is not None or not ruleset.has_programme:
        return existing
    # Two first v2 episodes of one patient at once: the patient's row lock
    # serialises them; the unique patient key is the final guard.
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()
    existing = Programme.objects.select_for_update().filter(patient_id=patient.id).first()
    if existing is not None:
        return existing
    # The programme's record entered vcftrack with the patient's first
    # episode (a migrated v1 patient's history is not a late import: V2.4).
    today = patient.clinic.today(now)
    first = Episode.objects.alive().filter(patient_id=patient.id).order_by("recorded_on").first()
    return Programme.objects.create(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        rule_set=ruleset.version,
        started_on=min(first.recorded_on, today) if first is not None else today,
        next_review_at=now,
        created_at=now,
        updated_at=now,
    )


def _join_programme(patient: Patient, programme: Programme) -> None:
    """Every episode of the patient belongs to the programme from now on: its
    v1 episodes raise no programme rule and their open programme-kind tasks
    are cancelled ("continued in the patient's programme", V2.1)."""
    Episode.objects.filter(patient_id=patient.id, programme__isnull=True).update(
        programme=programme
    )


def _lock_programme(patient_id: uuid.UUID) -> None:
    """Take the patient's programme lock first (lock order), if there is one."""
    Programme.objects.select_for_update().filter(patient_id=patient_id).values_list("pk").first()


def programme_end(
    *, patient: Patient, reason: Any, now: datetime, actor_id: int | None = None
) -> Programme:
    """End the patient's programme (a person, with a reason: V2.1); its open
    tasks are cancelled with the reason."""
    errors = FieldErrors()
    reason = check_choice(errors, "reason", reason, ["deceased", "discharged", "transferred"])
    errors.raise_if_any()
    with transaction.atomic():
        programme = Programme.objects.select_for_update().filter(patient_id=patient.id).first()
        if programme is None:
            raise DomainError("The patient has no bone-health programme.", field="patient")
        if programme.status == ProgrammeStatus.ENDED:
            raise DomainError("The programme has already ended.", field="status")
        programme.status = ProgrammeStatus.ENDED
        programme.end_reason = reason
        programme.ended_at = now
        programme.updated_at = now
        programme.save()
        evaluate_patients([patient.id], now=now, actor_id=actor_id)
    return programme


def episode_update(
    *, episode: Episode, data: dict[str, Any], now: datetime, actor_id: int | None = None
) -> Episode:
    errors = FieldErrors()
    for field in data:
        if field not in EPISODE_FIELDS:
            errors.add(field, "Unknown or read-only field.")
    today = episode.clinic.today(now)
    values = _validate(errors, data, today=today, birth=episode.patient.birth_date, partial=True)
    onset = values.get("onset_date") or episode.onset_date
    ident = values.get("identified_date") or episode.identified_date
    if onset and ident and ident < onset:
        errors.add("identified_date", "Must not be before onset_date.")
    errors.raise_if_any()
    if episode.status != EpisodeStatus.ACTIVE:
        raise DomainError("A closed episode cannot be changed.", field="status")
    with transaction.atomic():
        schedule_reevaluation(episode_ids=[episode.id], now=now, actor_id=actor_id)
        for key, value in values.items():
            setattr(episode, key, value)
        episode.recorded_on = max(episode.recorded_on, today)
        stamp([episode], now=now)
        episode.save()
    return episode


def episode_close(
    *,
    episode: Episode,
    reason: Any,
    now: datetime,
    actor_id: int | None = None,
    note: str = "",
) -> Episode:
    """Closing is a person's act, with a reason; a closed episode raises nothing more."""
    errors = FieldErrors()
    reason = check_choice(errors, "reason", reason, list(CloseReason.values))
    errors.raise_if_any()
    with transaction.atomic():
        _lock_programme(episode.patient_id)
        locked = Episode.objects.select_for_update().get(pk=episode.pk)
        if locked.status == EpisodeStatus.CLOSED:
            raise DomainError("The episode is already closed.", field="status")
        siblings = list(
            Episode.objects.active()
            .filter(patient_id=locked.patient_id)
            .exclude(id=locked.id)
            .values_list("id", flat=True)
        )
        schedule_reevaluation(episode_ids=siblings, now=now, actor_id=actor_id)
        closing = PhaseTransition.objects.create(
            episode=locked,
            at=now,
            effective_date=locked.clinic.today(now),
            from_phase=locked.phase,
            to_phase=Phase.CLOSED,
            cause=f"closed: {reason.replace('_', ' ')}" + (f" ({note})" if note else ""),
            actor_kind=ActorKind.USER if actor_id else ActorKind.SYSTEM,
            actor_id=actor_id,
        )
        locked.status = EpisodeStatus.CLOSED
        locked.close_reason = reason
        locked.closed_at = now
        locked.phase = Phase.CLOSED
        stamp([locked], now=now)
        locked.save()
        publish_phase_changes(transitions=[closing], now=now)
        # Cancels the open tasks with the reason (the engine's closed branch).
        evaluate_batch([locked.id], now=now, actor_id=actor_id)
    locked.refresh_from_db()
    return locked


def episode_delete(*, episode: Episode, now: datetime, actor_id: int | None = None) -> Episode:
    """Soft delete (a tombstone for syncing clients); its open tasks are cancelled."""
    from pathways.models import FollowUpTask, TaskStatus

    with transaction.atomic():
        _lock_programme(episode.patient_id)
        locked = Episode.objects.select_for_update().get(pk=episode.pk)
        siblings = list(
            Episode.objects.active()
            .filter(patient_id=locked.patient_id)
            .exclude(id=locked.id)
            .values_list("id", flat=True)
        )
        schedule_reevaluation(episode_ids=siblings, now=now, actor_id=actor_id)
        open_tasks = list(FollowUpTask.objects.filter(episode=locked, status=TaskStatus.OPEN))
        for task in open_tasks:
            task.status = TaskStatus.CANCELLED
            task.reason = "Episode deleted"
            task.closed_at = now
            task.closed_on = locked.clinic.today(now)
        stamp(open_tasks, now=now)
        for task in open_tasks:
            task.save()
        publish_task_changes(created=[], changed=[t.pk for t in open_tasks], now=now)
        locked.deleted_at = now
        locked.next_review_at = None
        stamp([locked], now=now)
        locked.save()
    return locked


def episode_migrate_pathway(
    *, episode: Episode, version: str, now: datetime, actor_id: int | None = None
) -> Episode:
    """Move an episode to another rule-set version on purpose (never automatic).

    Moving to a version with a programme starts the patient's programme (or
    joins it): the patient's v1 episodes then raise no programme rule, their
    open programme-kind tasks are cancelled, and the programme continues each
    series from the next occurrence (pathway-spec V2.1).
    """
    try:
        ruleset = get_ruleset(version)
    except KeyError as exc:
        raise DomainError(f"Unknown pathway version {version!r}.", field="pathway_version") from exc
    with transaction.atomic():
        programme = _programme_for(episode.patient, ruleset, now=now)
        locked = Episode.objects.select_for_update().get(pk=episode.pk)
        if locked.pathway_version != version:
            PhaseTransition.objects.create(
                episode=locked,
                at=now,
                effective_date=locked.clinic.today(now),
                from_phase=locked.phase,
                to_phase=locked.phase,
                cause=f"pathway moved from {locked.pathway_version} to {version}",
                actor_kind=ActorKind.USER if actor_id else ActorKind.SYSTEM,
                actor_id=actor_id,
            )
        locked.pathway_version = version
        stamp([locked], now=now)
        locked.save()
        if programme is not None:
            _join_programme(locked.patient, programme)
            evaluate_patients([locked.patient_id], now=now, actor_id=actor_id)
        else:
            evaluate_batch([locked.id], now=now, actor_id=actor_id)
    locked.refresh_from_db()
    return locked
