"""A person acting on a follow-up task: complete, not applicable, snooze, assign."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from pathways.engine import get_ruleset
from pathways.events import publish_task_assigned, publish_task_changes
from pathways.models import Episode, FollowUpTask, Programme, TaskStatus
from pathways.services.evaluation import _overdue_from, schedule_reevaluation
from patients.models import Membership, Role
from patients.selectors import role_in
from patients.services import check_date, check_text
from patients.sync import stamp
from vcftrack.errors import DomainError, FieldErrors, PermissionDenied

# Only a physician records the decision of the 3-month augmentation review
# (and the early-augmentation decision, which is the same decision earlier).
PHYSICIAN_DECISIONS = frozenset(
    {"augmentation_review_3m", "augmentation_consider_early", "augmentation_reconsider"}
)


def _lock_open(task: FollowUpTask) -> FollowUpTask:
    # Lock order everywhere: the patient's programme, the episode, then its
    # tasks, then the change counter (the sweep holds programme and episode
    # locks while it takes the counter).
    list(Programme.objects.select_for_update().filter(patient_id=task.patient_id).values_list("pk"))
    if task.episode_id is not None:
        list(Episode.objects.select_for_update().filter(pk=task.episode_id).values_list("pk"))
    locked = FollowUpTask.objects.select_for_update().select_related("clinic").get(pk=task.pk)
    if locked.status != TaskStatus.OPEN:
        raise DomainError(f"The task is already {locked.status.replace('_', ' ')}.", field="status")
    return locked


def _reevaluate_after(task: FollowUpTask, *, now: datetime, actor_id: int | None) -> None:
    """The phase can move on a person's decision (3-month review -> bone health)."""
    schedule_reevaluation(
        episode_ids=[task.episode_id] if task.episode_id is not None else [],
        patient_ids=[task.patient_id],
        now=now,
        actor_id=actor_id,
    )


def _require_writer(actor: Any, task: FollowUpTask) -> None:
    role = role_in(actor, task.clinic_id)
    if role not in (Role.COORDINATOR, Role.PHYSICIAN):
        raise PermissionDenied("Your role in this clinic cannot change tasks.")


def task_complete(
    *, task: FollowUpTask, actor: Any, outcome: Any = "", note: Any = "", now: datetime
) -> FollowUpTask:
    """Close a task as done by a person, with the outcome a decision task requires."""
    _require_writer(actor, task)
    rule = get_ruleset(task.rule_set).get(task.rule)
    errors = FieldErrors()
    outcome = check_text(errors, "outcome", outcome, max_length=48, required=bool(rule.outcomes))
    note = check_text(errors, "note", note, max_length=2000, required=False)
    if rule.outcomes and outcome and outcome not in rule.outcomes:
        errors.add("outcome", f"{outcome!r} is not one of: {', '.join(rule.outcomes)}.")
    errors.raise_if_any()
    if task.rule in PHYSICIAN_DECISIONS and role_in(actor, task.clinic_id) != Role.PHYSICIAN:
        raise PermissionDenied("Only a physician records the augmentation decision.")
    with transaction.atomic():
        # The phase can move on a person's decision (3-month review -> bone health).
        _reevaluate_after(task, now=now, actor_id=actor.pk)
        locked = _lock_open(task)
        _close(locked, TaskStatus.DONE, actor=actor, now=now, outcome=outcome, note=note)
    return locked


def task_not_applicable(
    *, task: FollowUpTask, actor: Any, reason: Any, now: datetime
) -> FollowUpTask:
    _require_writer(actor, task)
    errors = FieldErrors()
    reason = check_text(errors, "reason", reason, max_length=2000, required=True)
    errors.raise_if_any()
    if task.rule in PHYSICIAN_DECISIONS and role_in(actor, task.clinic_id) != Role.PHYSICIAN:
        raise PermissionDenied("Only a physician records the augmentation decision.")
    with transaction.atomic():
        _reevaluate_after(task, now=now, actor_id=actor.pk)
        locked = _lock_open(task)
        _close(locked, TaskStatus.NOT_APPLICABLE, actor=actor, now=now, reason=reason)
    return locked


def _close(
    task: FollowUpTask,
    status: str,
    *,
    actor: Any,
    now: datetime,
    outcome: str = "",
    note: str = "",
    reason: str = "",
) -> None:
    task.status = status
    task.outcome = outcome
    task.note = note
    task.reason = reason
    task.closed_at = now
    task.closed_on = task.clinic.today(now)
    task.closed_by = actor
    task.closed_by_person = True
    stamp([task], now=now)
    task.save()
    publish_task_changes(created=[], changed=[task.pk], now=now)


def task_snooze(
    *, task: FollowUpTask, actor: Any, until: Any, reason: Any, now: datetime
) -> FollowUpTask:
    _require_writer(actor, task)
    today = task.clinic.today(now)
    errors = FieldErrors()
    reason = check_text(errors, "reason", reason, max_length=2000, required=True)
    from datetime import date

    until_date = check_date(errors, "until", until, today=date.max)
    if until_date is not None and until_date <= today:
        errors.add("until", f"Must be after today ({today.isoformat()}).")
    if until_date is not None and (until_date - today).days > 366:
        errors.add("until", "A task can be snoozed for at most a year.")
    errors.raise_if_any()
    assert until_date is not None
    with transaction.atomic():
        locked = _lock_open(task)
        locked.snoozed_until = until_date
        locked.overdue_from = _overdue_from(locked.due_date, until_date, locked.grace_days)
        locked.note = f"Snoozed to {until_date.isoformat()}: {reason}"
        stamp([locked], now=now)
        locked.save()
    return locked


def task_assign(*, task: FollowUpTask, actor: Any, assignee: Any, now: datetime) -> FollowUpTask:
    _require_writer(actor, task)
    errors = FieldErrors()
    user = None
    if assignee not in (None, ""):
        user_model = get_user_model()
        try:
            user = user_model.objects.get(pk=int(assignee))
        except (TypeError, ValueError, user_model.DoesNotExist):
            errors.add("assignee", "No such user.")
        else:
            if not Membership.objects.filter(user=user, clinic_id=task.clinic_id).exists():
                errors.add("assignee", "The user is not a member of this task's clinic.")
    errors.raise_if_any()
    with transaction.atomic():
        locked = _lock_open(task)
        locked.assignee = user
        stamp([locked], now=now)
        locked.save()
        publish_task_assigned(task_id=locked.pk, actor_id=actor.pk, now=now)
    return locked
