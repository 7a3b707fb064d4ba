"""A person acting on a follow-up task: complete, not applicable, snooze,
assign, a phone call; and taking it back: undo (right after) and reopen.

Every action is logged as a ``TaskEvent`` holding the task's state before it,
so an undo restores exactly that state and a reopen is audited with its
reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction

from pathways.engine import get_ruleset
from pathways.engine.dates import overdue_from
from pathways.events import publish_task_assigned, publish_task_changes
from pathways.models import CallOutcome, Episode, FollowUpTask, Programme, TaskEvent, TaskStatus
from pathways.services.evaluation import schedule_reevaluation
from pathways.services.task_log import log_event, restore, snapshot
from patients.inputs import check_day
from patients.models import Membership
from patients.sync import stamp
from vcftrack.core.errors import DomainError, FieldErrors, PermissionDenied
from vcftrack.core.labels import label
from vcftrack.core.scoping import WRITE_ROLES, Role, can_write, role_in

# Only a physician records the decision of the 3-month augmentation review
# (and the early-augmentation decision, which is the same decision earlier).
PHYSICIAN_DECISIONS = frozenset(
    {"augmentation_review_3m", "augmentation_consider_early", "augmentation_reconsider"}
)


# The browser offers "undo" for 10 seconds; the server allows a little more
# for a slow network, and only to the person who acted.
UNDO_SECONDS = 60
# A task a person closed can be reopened; one the engine closed (done by a
# recorded fact, missed, cancelled) follows the facts: void the fact instead.
REOPENABLE = (TaskStatus.DONE, TaskStatus.NOT_APPLICABLE)


def _lock(task: FollowUpTask) -> FollowUpTask:
    # Lock order everywhere: the patient's programme, the episode, then its
    # tasks, then the change counter (the sweep holds programme and episode
    # locks while it takes the counter).
    list(Programme.objects.select_for_update().filter(patient_id=task.patient_id).values_list("pk"))
    if task.episode_id is not None:
        list(Episode.objects.select_for_update().filter(pk=task.episode_id).values_list("pk"))
    return (
        FollowUpTask.objects.select_for_update(of=("self",))
        .select_related("clinic", "episode", "patient")
        .get(pk=task.pk)
    )


def _lock_open(task: FollowUpTask) -> FollowUpTask:
    locked = _lock(task)
    if locked.status != TaskStatus.OPEN:
        raise DomainError(
            f"The task is already {locked.get_status_display().lower()}.", field="status"
        )
    return locked


def _reevaluate_after(task: FollowUpTask, *, now: datetime, actor_id: int | None) -> None:
    """The phase can move on a person's decision (3-month review -> bone health).

    An episode's task: that episode (and, through it, its patient's programme
    if there is one). A programme's task: the patient. Naming the patient for
    an episode's task would also forget its sibling episodes' dashboard rows,
    which nothing then re-evaluates (tests/dashboard/test_facts_table.py)."""
    schedule_reevaluation(
        episode_ids=[task.episode_id] if task.episode_id is not None else [],
        patient_ids=[task.patient_id] if task.episode_id is None else [],
        now=now,
        actor_id=actor_id,
    )


def require_writer(actor: Any, task: FollowUpTask) -> None:
    if not can_write(actor, task.clinic_id):
        raise PermissionDenied("Your role in this clinic cannot change tasks.")


def task_complete(
    *,
    task: FollowUpTask,
    actor: Any,
    outcome: str = "",
    note: str = "",
    now: datetime,
    errors: FieldErrors | None = None,
) -> FollowUpTask:
    """Close a task as done by a person, with the outcome a decision task
    requires (parsed by ``pathways.inputs.tasks.parse_complete``)."""
    require_writer(actor, task)
    rule = get_ruleset(task.rule_set).get(task.rule)
    errors = errors if errors is not None else FieldErrors()
    if rule.outcomes and not outcome and "outcome" not in errors.errors:
        errors.add("outcome", "This field is required.")
    # A task a recorded result closes (a DXA, an MRI, a drug start) is done
    # by recording that result; closing it by hand says where it was done.
    done_elsewhere = bool(rule.completes_by and not rule.outcomes)
    if done_elsewhere and not note:
        errors.add(
            "note",
            f"Record the result ({rule.completes_by}), or say where it was done and when.",
        )
    if rule.outcomes and outcome and outcome not in rule.outcomes:
        errors.add("outcome", f"Choose one of: {', '.join(label(o) for o in rule.outcomes)}.")
    errors.raise_if_any()
    if task.rule in PHYSICIAN_DECISIONS and role_in(actor, task.clinic_id) != Role.PHYSICIAN:
        raise PermissionDenied("Only a physician records the augmentation decision.")
    with transaction.atomic():
        # The phase can move on a person's decision (3-month review -> bone health).
        _reevaluate_after(task, now=now, actor_id=actor.pk)
        locked = _lock_open(task)
        before = snapshot(locked)
        _close(locked, TaskStatus.DONE, actor=actor, now=now, outcome=outcome, note=note)
        log_event(locked, actor=actor, action="complete", before=before, now=now)
    return locked


def task_not_applicable(
    *,
    task: FollowUpTask,
    actor: Any,
    reason: str,
    now: datetime,
    errors: FieldErrors | None = None,
) -> FollowUpTask:
    require_writer(actor, task)
    _reason_given(errors, reason)
    if task.rule in PHYSICIAN_DECISIONS and role_in(actor, task.clinic_id) != Role.PHYSICIAN:
        raise PermissionDenied("Only a physician records the augmentation decision.")
    with transaction.atomic():
        _reevaluate_after(task, now=now, actor_id=actor.pk)
        locked = _lock_open(task)
        before = snapshot(locked)
        _close(locked, TaskStatus.NOT_APPLICABLE, actor=actor, now=now, reason=reason)
        log_event(
            locked, actor=actor, action="not_applicable", before=before, now=now, reason=reason
        )
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
    *,
    task: FollowUpTask,
    actor: Any,
    until: date | None,
    reason: str,
    now: datetime,
    errors: FieldErrors | None = None,
) -> FollowUpTask:
    require_writer(actor, task)
    today = task.clinic.today(now)
    errors = errors if errors is not None else FieldErrors()
    if until is None and "until" not in errors.errors:
        errors.add("until", "This field is required.")
    _check_later(errors, "until", until, today=today)
    _reason_given(errors, reason)
    assert until is not None  # named above
    until_date = until
    with transaction.atomic():
        locked = _lock_open(task)
        before = snapshot(locked)
        _snooze(locked, until_date)
        locked.note = f"Snoozed to {until_date:%-d %b %Y}: {reason}"
        stamp([locked], now=now)
        locked.save()
        log_event(locked, actor=actor, action="snooze", before=before, now=now, reason=reason)
    return locked


def _check_later(errors: FieldErrors, field: str, day: date | None, *, today: date) -> None:
    """A date after today and at most a year ahead (a snooze, a call's retry)."""
    check_day(errors, field, day, today=date.max)
    if day is not None and day <= today:
        errors.add(field, f"Choose a date after today ({today:%-d %b %Y}).")
    if day is not None and (day - today).days > 366:
        errors.add(field, "Choose a date at most a year ahead.")


def _reason_given(errors: FieldErrors | None, reason: str) -> None:
    """Raise every bad field; a direct caller's empty reason is named too."""
    errors = errors if errors is not None else FieldErrors()
    if not reason.strip() and "reason" not in errors.errors:
        errors.add("reason", "This field is required.")
    errors.raise_if_any()


def _snooze(task: FollowUpTask, until: date) -> None:
    task.snoozed_until = until
    task.overdue_from = overdue_from(task.due_date, until, task.grace_days)


def task_assign(
    *,
    task: FollowUpTask,
    actor: Any,
    assignee: int | None,
    now: datetime,
    errors: FieldErrors | None = None,
) -> FollowUpTask:
    """Assign the task to a user id (``parse_assign``), or unassign (None)."""
    require_writer(actor, task)
    errors = errors if errors is not None else FieldErrors()
    user = None
    if assignee is not None:
        # One message whether the id is unknown, someone of another clinic
        # or a viewer here: the answer must not tell a caller which user ids
        # exist. Only those who can act on tasks (as the web app's choice
        # offers) can be assigned one.
        membership = (
            Membership.objects.select_related("user")
            .filter(
                user_id=assignee,
                clinic_id=task.clinic_id,
                role__in=WRITE_ROLES,
                user__is_active=True,
            )
            .first()
        )
        if membership is None:
            errors.add("assignee", "Choose a coordinator or physician of this task's clinic.")
        else:
            user = membership.user
    errors.raise_if_any()
    with transaction.atomic():
        locked = _lock_open(task)
        before = snapshot(locked)
        locked.assignee = user
        stamp([locked], now=now)
        locked.save()
        log_event(locked, actor=actor, action="assign", before=before, now=now)
        publish_task_assigned(task_id=locked.pk, actor_id=actor.pk, now=now)
    return locked


def task_call(
    *,
    task: FollowUpTask,
    actor: Any,
    outcome: str,
    retry_on: date | None,
    note: str = "",
    now: datetime,
    errors: FieldErrors | None = None,
) -> FollowUpTask:
    """Record a phone call about the task (``parse_call``). A call to try
    again later snoozes the task to the retry date, so it leaves "Overdue"
    until then."""
    require_writer(actor, task)
    today = task.clinic.today(now)
    errors = errors if errors is not None else FieldErrors()
    if outcome not in CallOutcome.values and "call_outcome" not in errors.errors:
        errors.add("call_outcome", "Choose what happened on the call.")
    _check_later(errors, "retry_on", retry_on, today=today)
    errors.raise_if_any()
    retry = retry_on
    with transaction.atomic():
        locked = _lock_open(task)
        before = snapshot(locked)
        locked.call_outcome = outcome
        locked.call_at = now
        label = CallOutcome(outcome).label
        if retry is not None:
            _snooze(locked, retry)
            label += f", try again {retry:%-d %b %Y}"
        locked.note = f"Call: {label}" + (f" — {note}" if note else "")
        stamp([locked], now=now)
        locked.save()
        log_event(locked, actor=actor, action="call", before=before, now=now, reason=note)
    return locked


def task_reopen(
    *,
    task: FollowUpTask,
    actor: Any,
    reason: str,
    now: datetime,
    errors: FieldErrors | None = None,
) -> FollowUpTask:
    """Open again a task a person closed (done or not applicable), with the reason."""
    require_writer(actor, task)
    _reason_given(errors, reason)
    with transaction.atomic():
        _reevaluate_after(task, now=now, actor_id=actor.pk)
        locked = _lock(task)
        if locked.status == TaskStatus.OPEN:
            raise DomainError("The task is already open.", field="status")
        if locked.status not in REOPENABLE or not locked.closed_by_person:
            raise DomainError(
                "This task was closed by the pathway, not by a person: correct or void "
                "the recorded fact instead.",
                field="status",
            )
        before = snapshot(locked)
        locked.status = TaskStatus.OPEN
        locked.outcome = ""
        locked.closed_at = None
        locked.closed_on = None
        locked.closed_by = None
        locked.closed_by_person = False
        locked.reason = ""
        locked.note = f"Reopened: {reason}"
        stamp([locked], now=now)
        locked.save()
        log_event(locked, actor=actor, action="reopen", before=before, now=now, reason=reason)
    return locked


def task_undo(*, task: FollowUpTask, actor: Any, now: datetime) -> FollowUpTask:
    """Take back the person's own last action on the task, right after it."""
    require_writer(actor, task)
    with transaction.atomic():
        _reevaluate_after(task, now=now, actor_id=actor.pk)
        locked = _lock(task)
        last = (
            TaskEvent.objects.select_for_update()
            .filter(task=locked)
            .exclude(action="undo")
            .order_by("-at", "-id")
            .first()
        )
        if (
            last is None
            or last.undone
            or last.actor_id != actor.pk
            or now - last.at > timedelta(seconds=UNDO_SECONDS)
        ):
            raise DomainError("There is nothing of yours to undo on this task any more.")
        before = snapshot(locked)
        restore(locked, last.before)
        stamp([locked], now=now)
        locked.save()
        last.undone = True
        last.save(update_fields=["undone"])
        log_event(locked, actor=actor, action="undo", before=before, now=now, reason=last.action)
    return locked
