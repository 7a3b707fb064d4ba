"""Episodes (one fracture each) and the patient's bone-health programme."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

from pathways.levels import ALL_LEVELS_MASK, mask_to_levels
from patients.models import (
    Clinic,
    Patient,
    SyncedModel,
    tracked_history,
)


class Etiology(models.TextChoices):
    OSTEOPOROTIC = "osteoporotic"
    OSTEOPENIC = "osteopenic"
    PATHOLOGIC_SUSPECTED = "pathologic_suspected"
    PATHOLOGIC_CONFIRMED = "pathologic_confirmed"
    TRAUMATIC = "traumatic"
    UNKNOWN = "unknown"


class NeuroStatus(models.TextChoices):
    INTACT = "intact"
    DEFICIT = "deficit"
    UNKNOWN = "unknown"


class Phase(models.TextChoices):
    TRIAGE = "triage"
    ACUTE = "acute"
    CONSERVATIVE = "conservative"
    AUGMENTATION_REVIEW = "augmentation_review"
    BONE_HEALTH = "bone_health"
    CLOSED = "closed"
    SURGICAL = "surgical"
    PATHOLOGIC_WORKUP = "pathologic_workup"


class EpisodeStatus(models.TextChoices):
    ACTIVE = "active"
    CLOSED = "closed"


class CloseReason(models.TextChoices):
    DISCHARGED = "discharged"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"


class EpisodeQuerySet(models.QuerySet["Episode"]):
    def alive(self) -> EpisodeQuerySet:
        return self.filter(deleted_at__isnull=True)

    def active(self) -> EpisodeQuerySet:
        return self.alive().filter(status=EpisodeStatus.ACTIVE)

    def for_clinics(self, clinic_ids: list[uuid.UUID]) -> EpisodeQuerySet:
        return self.filter(clinic_id__in=clinic_ids)


class Episode(SyncedModel):
    # No single-column FK indexes here or on tasks: each FK leads a composite
    # index of Meta.indexes (patient, identified_date), (clinic, change_seq),
    # and every index is rewritten by the sweep's updates.
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="episodes", db_index=False
    )
    # Denormalised from the patient: scoping and the worklist filter by clinic
    # without a join; a patient never changes clinic.
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="episodes", db_index=False
    )
    levels_mask = models.PositiveIntegerField()
    onset_date = models.DateField()
    identified_date = models.DateField()
    etiology = models.CharField(max_length=24, choices=Etiology.choices, default=Etiology.UNKNOWN)
    neuro_status = models.CharField(
        max_length=8, choices=NeuroStatus.choices, default=NeuroStatus.UNKNOWN
    )
    phase = models.CharField(max_length=24, choices=Phase.choices, default=Phase.TRIAGE)
    pathway_version = models.CharField(max_length=16, default="v1")
    status = models.CharField(
        max_length=8, choices=EpisodeStatus.choices, default=EpisodeStatus.ACTIVE
    )
    close_reason = models.CharField(max_length=24, choices=CloseReason.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The earliest moment the evaluation can change; the sweep reads only
    # episodes with next_review_at <= now (index range scan). NULL: nothing
    # will ever change by time alone (closed episode).
    next_review_at = models.DateTimeField(null=True, blank=True)
    # Flags the engine derives and shows (e.g. "calcitonin_window_passed").
    flags = models.JSONField(default=list, blank=True)
    # A row that keeps failing in the sweep is pushed back and marked.
    sweep_failures = models.PositiveSmallIntegerField(default=0)
    sweep_error = models.TextField(blank=True, default="")
    # Set once the patient has a bone-health programme (v2): the patient is
    # then the unit of evaluation, claimed through the programme's row.
    programme = models.ForeignKey(
        "Programme", on_delete=models.PROTECT, null=True, blank=True, related_name="episodes"
    )

    objects = EpisodeQuerySet.as_manager()
    # The engine's bookkeeping (next review, flags, sweep errors) is not history.
    history = tracked_history(
        also_excluded=("next_review_at", "flags", "sweep_failures", "sweep_error")
    )

    class Meta:
        ordering = ["-identified_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(levels_mask__gt=0, levels_mask__lte=ALL_LEVELS_MASK),
                name="episode_levels_valid",
            ),
            models.CheckConstraint(
                condition=Q(identified_date__gte=F("onset_date")),
                name="episode_identified_after_onset",
            ),
            models.CheckConstraint(
                condition=Q(identified_date__lte=F("recorded_on")),
                name="episode_identified_not_future",
            ),
            models.CheckConstraint(
                condition=Q(etiology__in=Etiology.values), name="episode_etiology_valid"
            ),
            models.CheckConstraint(
                condition=Q(neuro_status__in=NeuroStatus.values), name="episode_neuro_valid"
            ),
            models.CheckConstraint(condition=Q(phase__in=Phase.values), name="episode_phase_valid"),
            models.CheckConstraint(
                condition=Q(status="active", close_reason="")
                | Q(status="closed") & ~Q(close_reason=""),
                name="episode_closed_with_reason",
            ),
        ]
        indexes = [
            # The sweep's range scan.
            models.Index(
                fields=["next_review_at"],
                name="episode_due_for_review",
                condition=Q(status="active", deleted_at__isnull=True, programme__isnull=True),
            ),
            models.Index(fields=["clinic", "change_seq"]),
            models.Index(fields=["clinic", "phase"]),
            models.Index(fields=["patient", "identified_date"]),
            # The dashboard's cohort of a period: read from the index alone
            # (all ten clinics of the benchmark: a 41,600-row index-only scan
            # in 10 ms instead of a 40-70 ms scan of the whole table).
            models.Index(
                fields=["clinic", "identified_date"],
                include=["id", "patient", "etiology"],
                name="episode_cohort_by_period",
                condition=Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{'/'.join(self.levels)} {self.identified_date} ({self.phase})"

    @property
    def levels(self) -> list[str]:
        return mask_to_levels(self.levels_mask)


class ProgrammeStatus(models.TextChoices):
    ACTIVE = "active"
    ENDED = "ended"


class Programme(models.Model):
    """The patient's bone-health programme (pathway-spec V2.1): one per
    patient, started by the first v2 episode (or a migrated one), never closed
    by closing an episode; ended by a person (deceased, discharged)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="programme")
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="programmes", db_index=False
    )
    rule_set = models.CharField(max_length=16, default="v2")
    # The day the programme's record entered vcftrack (V2.4 late records).
    started_on = models.DateField()
    status = models.CharField(
        max_length=8, choices=ProgrammeStatus.choices, default=ProgrammeStatus.ACTIVE
    )
    end_reason = models.CharField(max_length=24, blank=True, default="")
    ended_at = models.DateTimeField(null=True, blank=True)
    # The earliest moment any of the patient's evaluations can change.
    next_review_at = models.DateTimeField(null=True, blank=True)
    sweep_failures = models.PositiveSmallIntegerField(default=0)
    sweep_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_review_at"],
                name="programme_due_for_review",
                condition=Q(status="active"),
            ),
        ]

    def __str__(self) -> str:
        return f"programme of {self.patient_id} ({self.status})"
