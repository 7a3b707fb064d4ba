"""Follow-up tasks, their events, and the phase-transition history."""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

from pathways.models.episodes import Episode, Phase
from patients.models import (
    Clinic,
    Patient,
    SyncedModel,
    tracked_history,
)


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    CANCELLED = "cancelled", "Cancelled"
    MISSED = "missed", "Missed"


class TaskPriority(models.TextChoices):
    ROUTINE = "routine"
    HIGH = "high"
    URGENT = "urgent"


class TaskState(models.TextChoices):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"


class CallOutcome(models.TextChoices):
    NO_ANSWER = "no_answer", "No answer"
    LEFT_MESSAGE = "left_message", "Left message"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    DECLINED = "declined", "Declined"


class TaskQuerySet(models.QuerySet["FollowUpTask"]):
    def alive(self) -> TaskQuerySet:
        return self.filter(deleted_at__isnull=True)

    def open(self) -> TaskQuerySet:
        return self.alive().filter(status=TaskStatus.OPEN)

    def for_clinics(self, clinic_ids: list[uuid.UUID]) -> TaskQuerySet:
        return self.filter(clinic_id__in=clinic_ids)

    def in_state(self, state: str, as_of: date) -> TaskQuerySet:
        """Open tasks by their date state; the state is derived, never stored.

        A task is upcoming until max(due date, snooze date), overdue from
        ``overdue_from`` (kept in step with the grace and any snooze), due between.
        """
        upcoming = Q(due_date__gt=as_of) | Q(snoozed_until__gt=as_of)
        qs = self.open()
        if state == TaskState.UPCOMING:
            return qs.filter(upcoming)
        if state == TaskState.DUE:
            return qs.exclude(upcoming).filter(overdue_from__gt=as_of)
        if state == TaskState.OVERDUE:
            return qs.filter(overdue_from__lte=as_of)
        raise ValueError(f"unknown task state {state!r}")


class FollowUpTask(SyncedModel):
    # Served by (episode, rule, occurrence) / (episode, status) and
    # (clinic, change_seq): a task row is rewritten by every status change.
    # NULL for a task of the patient's programme (v2, pathway-spec V2.1).
    episode = models.ForeignKey(
        Episode,
        on_delete=models.CASCADE,
        related_name="tasks",
        db_index=False,
        null=True,
        blank=True,
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="tasks", db_index=False
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="tasks", db_index=False
    )
    # The rule set that raised the task (v1 / v2).
    rule_set = models.CharField(max_length=16, default="v1")
    rule = models.CharField(max_length=48)
    occurrence = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    guidance = models.TextField()
    seed_refs = models.JSONField(default=list)
    due_date = models.DateField()
    grace_days = models.PositiveSmallIntegerField(default=7)
    # First day the task counts as overdue: due (or snooze) date + grace + 1.
    # Stored so that the worklist's overdue/due split is an index range scan.
    overdue_from = models.DateField()
    priority = models.CharField(
        max_length=8, choices=TaskPriority.choices, default=TaskPriority.ROUTINE
    )
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    snoozed_until = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tasks",
    )
    outcome = models.CharField(max_length=48, blank=True, default="")
    note = models.TextField(blank=True, default="")
    reason = models.TextField(blank=True, default="")
    # Human-readable facts that raised the task ("why is this here?").
    triggers = models.JSONField(default=list)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="closed_tasks",
    )
    # True when a person (not a rule) closed the task: the engine never
    # reopens or overrides a person's decision.
    closed_by_person = models.BooleanField(default=False)
    # The last phone call about the task (the retry date is the snooze).
    call_outcome = models.CharField(
        max_length=16, choices=CallOutcome.choices, blank=True, default=""
    )
    call_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()
    # The rule's texts are copied from the catalogue, not changed by anyone.
    history = tracked_history(also_excluded=("guidance", "seed_refs", "triggers", "overdue_from"))

    class Meta:
        ordering = ["due_date", "rule"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "rule", "occurrence"], name="task_unique_episode_rule_occurrence"
            ),
            models.UniqueConstraint(
                fields=["patient", "rule", "occurrence"],
                condition=Q(episode__isnull=True),
                name="task_unique_programme_rule_occurrence",
            ),
            models.CheckConstraint(
                condition=Q(status__in=TaskStatus.values), name="task_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=TaskPriority.values), name="task_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | ~Q(status="open") & Q(closed_at__isnull=False),
                name="task_closed_has_time",
            ),
            models.CheckConstraint(condition=Q(occurrence__gte=1), name="task_occurrence_positive"),
        ]
        indexes = [
            models.Index(
                fields=["clinic", "overdue_from", "due_date"],
                name="task_open_worklist",
                condition=Q(status="open", deleted_at__isnull=True),
            ),
            models.Index(fields=["clinic", "change_seq"]),
            models.Index(fields=["episode", "status"]),
            models.Index(fields=["patient", "status"], name="task_by_patient_status"),
            models.Index(fields=["rule", "status"]),
            # Dashboard and worklist by rule: overdue tasks per rule of a
            # clinic is an index-only scan (11 ms instead of 0.5 s on a
            # 10,000-episode clinic); the rule filter is an index range.
            models.Index(
                fields=["clinic", "rule", "overdue_from"],
                name="task_open_by_rule",
                condition=Q(status="open", deleted_at__isnull=True),
                # The physician's augmentation candidates (a due-date window,
                # deadline order, ids first) read this index alone: 35,000
                # open reviews across 10 clinics in 12 ms instead of 180 ms
                # of heap visits. SQLite ignores INCLUDE.
                include=["due_date", "id"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule}#{self.occurrence} due {self.due_date} ({self.status})"

    @property
    def scope(self) -> str:
        """``programme`` for the patient's bone-health programme, else ``episode``."""
        return "programme" if self.episode_id is None else "episode"

    @property
    def effective_due(self) -> date:
        if self.snoozed_until and self.snoozed_until > self.due_date:
            return self.snoozed_until
        return self.due_date

    def state_on(self, as_of: date) -> str | None:
        if self.status != TaskStatus.OPEN:
            return None
        if as_of < self.effective_due:
            return TaskState.UPCOMING
        if as_of < self.overdue_from:
            return TaskState.DUE
        return TaskState.OVERDUE


class ActorKind(models.TextChoices):
    SYSTEM = "system"
    USER = "user"


class PhaseTransition(models.Model):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="transitions")
    at = models.DateTimeField()
    effective_date = models.DateField()
    from_phase = models.CharField(max_length=24, choices=Phase.choices, blank=True)
    to_phase = models.CharField(max_length=24, choices=Phase.choices)
    cause = models.CharField(max_length=300)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["episode", "at"])]

    def __str__(self) -> str:
        return f"{self.from_phase or '-'} -> {self.to_phase} ({self.cause})"


class TaskEvent(models.Model):
    """Audit of what a person did to a task, with the task's state before:
    the basis of "undo" (restore ``before``) and of reopening with a reason."""

    task = models.ForeignKey(FollowUpTask, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    # complete | not_applicable | snooze | assign | call | reopen | undo
    action = models.CharField(max_length=16)
    reason = models.TextField(blank=True, default="")
    before = models.JSONField(default=dict)
    undone = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["task", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.task_id}"
