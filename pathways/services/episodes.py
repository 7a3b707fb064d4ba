"""Episode writes: create, update, close, delete, migrate the pathway version.

Input contract (issue 12): each write's input is parsed once, at the door,
by its parser in ``pathways.inputs.episodes`` (types, formats, choices,
unknown fields) - the same parser for the API, the web forms and the FHIR
importer - and the service takes typed keyword arguments. The service checks
what needs the database or the clinic's date: no date in the future of the
clinic's today or before the patient's birth, identified not before onset,
the patient not deleted. A caller whose parser found bad fields passes its
``errors``: the service adds its own and raises them together (nothing is
written), so one answer names every bad field.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Unpack

from django.db import transaction

from pathways.engine import CURRENT_VERSION, RuleSet, get_ruleset
from pathways.events import publish_phase_changes, publish_task_changes
from pathways.inputs.episodes import EpisodeChanges
from pathways.levels import InvalidLevel, levels_to_mask
from pathways.models import (
    ActorKind,
    CloseReason,
    Episode,
    EpisodeStatus,
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
from patients.inputs import check_day, parse_choice
from patients.models import Patient
from patients.sync import stamp
from vcftrack.core.errors import DomainError, FieldErrors

PROGRAMME_END_REASONS = ("deceased", "discharged", "transferred")


def _levels_mask(errors: FieldErrors, levels: list[str]) -> int:
    """The stored mask of parsed levels (none: named, unless the parser did)."""
    if not levels:
        if "levels" not in errors.errors:
            errors.add("levels", "At least one vertebral level (T1-L5) is required.")
        return 0
    try:
        return levels_to_mask(levels)
    except InvalidLevel as exc:
        errors.add("levels", f"{exc}.")
        return 0


def _required(errors: FieldErrors, field: str, value: object) -> None:
    """A required value the parser left None has been named by it; a direct
    caller's None is named here."""
    if value is None and field not in errors.errors:
        errors.add(field, "This field is required.")


def _check_dates(
    errors: FieldErrors,
    *,
    today: date,
    birth: date | None,
    onset_date: date | None,
    identified_date: date | None,
    sent: tuple[str, ...] = ("onset_date", "identified_date"),
) -> None:
    """The dates against the clinic's today and the patient's birth (pathway-spec
    V2.4: a clinical date before birth is bad input); identified not before onset."""
    born = (birth, "the date of birth") if birth is not None else None
    for field, value in (("onset_date", onset_date), ("identified_date", identified_date)):
        if field in sent:
            check_day(errors, field, value, today=today, not_before=born)
    if onset_date and identified_date and identified_date < onset_date:
        errors.add("identified_date", "Must not be before onset_date.")


def episode_create(
    *,
    patient: Patient,
    levels: list[str],
    onset_date: date | None,
    identified_date: date | None = None,
    etiology: str = "unknown",
    neuro_status: str = "unknown",
    now: datetime,
    actor_id: int | None = None,
    episode_id: uuid.UUID | None = None,
    pathway_version: str | None = None,
    errors: FieldErrors | None = None,
) -> Episode:
    """Create an episode and evaluate it as of today, in one transaction.

    ``identified_date`` None is the clinic's today. A new episode gets the
    current pathway version unless a caller (a migration tool, a test of
    version 1) names one.

    Dates in the past are fine (tasks whose dates have passed appear at once,
    with their original due dates); a date in the future is bad input.
    """
    errors = errors if errors is not None else FieldErrors()
    if patient.deleted_at is not None:
        errors.add("patient", "The patient has been deleted.")
    today = patient.clinic.today(now)
    if identified_date is None and "identified_date" not in errors.errors:
        # "identified: defaults to the presentation date" (pathway-spec).
        identified_date = today
    _required(errors, "onset_date", onset_date)
    mask = _levels_mask(errors, levels)
    _check_dates(
        errors,
        today=today,
        birth=patient.birth_date,
        onset_date=onset_date,
        identified_date=identified_date,
    )
    errors.raise_if_any()
    # Both were named above when None.
    assert onset_date is not None
    assert identified_date is not None
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
        levels_mask=mask,
        onset_date=onset_date,
        identified_date=identified_date,
        etiology=etiology,
        neuro_status=neuro_status,
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
    *, patient: Patient, reason: str, now: datetime, actor_id: int | None = None
) -> Programme:
    """End the patient's programme (a person, with a reason: V2.1); its open
    tasks are cancelled with the reason."""
    errors = FieldErrors()
    reason = parse_choice(errors, "reason", reason, PROGRAMME_END_REASONS)
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
    *,
    episode: Episode,
    now: datetime,
    actor_id: int | None = None,
    errors: FieldErrors | None = None,
    **changes: Unpack[EpisodeChanges],
) -> Episode:
    """Change the fields given in ``changes`` (parsed by ``parse_episode_changes``)."""
    errors = errors if errors is not None else FieldErrors()
    today = episode.clinic.today(now)
    values: dict[str, object] = {k: v for k, v in changes.items() if k != "levels"}
    if "levels" in changes:
        values["levels_mask"] = _levels_mask(errors, changes["levels"])
    for field in ("onset_date", "identified_date"):
        if field in changes:
            _required(errors, field, values[field])
    _check_dates(
        errors,
        today=today,
        birth=episode.patient.birth_date,
        onset_date=changes.get("onset_date") or episode.onset_date,
        identified_date=changes.get("identified_date") or episode.identified_date,
        sent=tuple(changes),
    )
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
    reason: str,
    now: datetime,
    actor_id: int | None = None,
    note: str = "",
    errors: FieldErrors | None = None,
) -> Episode:
    """Closing is a person's act, with a reason; a closed episode raises nothing more."""
    errors = errors if errors is not None else FieldErrors()
    if reason not in CloseReason.values and "reason" not in errors.errors:
        parse_choice(errors, "reason", reason, CloseReason.values)
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
