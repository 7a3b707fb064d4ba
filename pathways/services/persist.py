"""Write what an evaluation pass decided, in bulk: new tasks, updated tasks
(one ``UPDATE … FROM`` of values), phase transitions, episodes' and
programmes' next reviews, history rows and outbox events, in the caller's
transaction."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from pathways.dashboard.facts import FALLS_RULE, REVIEW_RULE
from pathways.dashboard.facts_table import cohort_rows_after_pass
from pathways.engine import (
    Evaluation,
    RuleSet,
    TaskSpec,
)
from pathways.engine.dates import overdue_from
from pathways.events import publish_phase_changes, publish_task_changes
from pathways.loaders.rows import (
    T_DUE,
    T_GRACE,
    T_ID,
    T_PRIORITY,
    T_SNOOZED,
    T_STATUS,
    T_TRIGGERS,
    T_VERSION,
    TaskRow,
)
from pathways.models import (
    ActorKind,
    Episode,
    FollowUpTask,
    PhaseTransition,
    Programme,
    TaskStatus,
)
from pathways.services.bulk import bulk_insert_values, bulk_update_values
from patients.sync import allocate_change_seq
from vcftrack.core.history import record_snapshots

# The rules whose tasks the dashboard's stored facts read.
COHORT_RULES = frozenset({FALLS_RULE, REVIEW_RULE})

ENGINE_TASK_FIELDS = (
    "status",
    "reason",
    "closed_at",
    "closed_on",
    "due_date",
    "grace_days",
    "overdue_from",
    "triggers",
    "change_seq",
    "version",
    "updated_at",
    "priority",
)


# A new task's values, in this order (plain values, no model instance; the
# other columns take their defaults). change_seq is set by ``write_all``.
NEW_TASK_FIELDS = (
    "id",
    "episode_id",
    "patient_id",
    "clinic_id",
    "rule_set",
    "rule",
    "occurrence",
    "title",
    "guidance",
    "seed_refs",
    "due_date",
    "grace_days",
    "overdue_from",
    "priority",
    "status",
    "reason",
    "triggers",
    "closed_at",
    "closed_on",
    "created_at",
    "updated_at",
    "recorded_on",
    "version",
    "change_seq",
)
_NEW_SEQ = NEW_TASK_FIELDS.index("change_seq")


class Transition(NamedTuple):
    """A phase transition to insert (``PhaseTransition``'s columns)."""

    # A UUID: the outbox keys episodes by UUID (transitions are few).
    episode_id: uuid.UUID
    at: datetime
    effective_date: date
    from_phase: str
    to_phase: str
    cause: str
    actor_kind: str
    actor_id: int | None


@dataclass
class Writes:
    """Rows one evaluation pass writes, collected first and written in bulk."""

    new_tasks: list[list[Any]] = field(default_factory=list)
    task_updates: list[list[Any]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    visible_episodes: list[tuple[dict[str, Any], Evaluation, datetime | None]] = field(
        default_factory=list
    )
    quiet_episodes: list[tuple[str, datetime | None]] = field(default_factory=list)
    programmes: list[list[Any]] = field(default_factory=list)
    # The dashboard's stored facts to write again: episodes with no current
    # row, episodes whose falls or 3-month-review task was written, patients
    # whose programme's falls task was (pathways/dashboard/facts_table.py).
    cohort_episodes: set[str] = field(default_factory=set)
    cohort_patients: set[str] = field(default_factory=set)

    def task_written(self, rule: str, owner: dict[str, Any]) -> None:
        if rule in COHORT_RULES:
            if owner["episode_id"] is None:
                self.cohort_patients.add(str(owner["patient_id"]))
            else:
                self.cohort_episodes.add(str(owner["episode_id"]))


def write_all(w: Writes, now: datetime) -> None:
    # The counter is taken last: its row lock is held until commit (patients/sync.py).
    visible = len(w.new_tasks) + len(w.task_updates) + len(w.visible_episodes)
    seq = allocate_change_seq(visible) if visible else 0
    for values in w.new_tasks:
        values[_NEW_SEQ] = seq
        seq += 1
    for values in w.task_updates:
        values[9] = seq  # change_seq, see ENGINE_TASK_FIELDS
        seq += 1
    # Set-based on PostgreSQL (INSERT … SELECT FROM unnest(…)): a task that
    # exists already (unique episode + rule + occurrence) is left as it is.
    bulk_insert_values(FollowUpTask, NEW_TASK_FIELDS, w.new_tasks, ignore_conflicts=True)
    bulk_update_values(FollowUpTask, ENGINE_TASK_FIELDS, w.task_updates)
    bulk_insert_values(PhaseTransition, Transition._fields, w.transitions)
    # The change history of what the engine did (no save() ran): tasks
    # raised and changed, episodes whose phase moved.
    new_ids = [values[0] for values in w.new_tasks]
    record_snapshots(FollowUpTask, new_ids, now=now, kind="+")
    record_snapshots(FollowUpTask, [v[0] for v in w.task_updates], now=now)
    episode_rows = []
    for ep, result, next_at in w.visible_episodes:
        episode_rows.append(
            [
                ep["id"],
                next_at,
                0,
                "",
                result.phase,
                list(result.flags),
                ep["version"] + 1,
                seq,
                now,
            ]
        )
        seq += 1
    bulk_update_values(
        Episode,
        (
            "next_review_at",
            "sweep_failures",
            "sweep_error",
            "phase",
            "flags",
            "version",
            "change_seq",
            "updated_at",
        ),
        episode_rows,
    )
    # next_review_at is the sweep's bookkeeping, not client-visible data: it
    # moves without a new version or change_seq.
    bulk_update_values(
        Episode,
        ("next_review_at", "sweep_failures", "sweep_error"),
        [[eid, next_at, 0, ""] for eid, next_at in w.quiet_episodes],
    )
    record_snapshots(Episode, [t.episode_id for t in w.transitions], now=now)
    # The dashboard's stored facts (pathways/dashboard/facts_table.py).
    cohort_rows_after_pass(episode_ids=w.cohort_episodes, patient_ids=w.cohort_patients)
    bulk_update_values(
        Programme, ("next_review_at", "sweep_failures", "sweep_error", "updated_at"), w.programmes
    )
    # Notifications and webhooks: outbox rows in this same transaction.
    publish_task_changes(created=new_ids, changed=[v[0] for v in w.task_updates], now=now)
    publish_phase_changes(transitions=w.transitions, now=now)


def new_task(owner: dict[str, Any], spec: TaskSpec, ruleset: RuleSet, now: datetime) -> list[Any]:
    """A new task's values, in NEW_TASK_FIELDS order."""
    closed = spec.status != TaskStatus.OPEN
    rule = ruleset.get(spec.rule)
    return [
        uuid.uuid4(),
        owner["episode_id"],
        owner["patient_id"],
        owner["clinic_id"],
        owner["rule_set"],
        spec.rule,
        spec.occurrence,
        rule.title,
        rule.guidance,
        list(rule.seed_refs),
        spec.due_date,
        spec.grace_days,
        overdue_from(spec.due_date, None, spec.grace_days),
        spec.priority,
        spec.status,
        spec.reason,
        list(spec.triggers),
        now if closed else None,
        spec.closed_on if closed else None,
        now,
        now,
        now.date(),
        1,
        0,
    ]


def transition(
    episode_id: str,
    *,
    now: datetime,
    effective: date,
    from_phase: str,
    to_phase: str,
    cause: str,
    actor_id: int | None,
) -> Transition:
    return Transition(
        uuid.UUID(episode_id),
        now,
        effective,
        from_phase,
        to_phase,
        cause[:300],
        ActorKind.USER if actor_id else ActorKind.SYSTEM,
        actor_id,
    )


def task_update_values(row: TaskRow, spec: TaskSpec, now: datetime) -> list[Any] | None:
    """The new values (ENGINE_TASK_FIELDS order, pk first), or None if nothing changes.

    A task the engine closed keeps its record once closed, unless its status
    changes (a back-dated fact can turn ``missed`` into ``done``, a deleted
    fact reopens it).
    """
    status = row[T_STATUS]
    was_open = status == TaskStatus.OPEN
    if not was_open and status == spec.status:
        return None
    if was_open and spec.status == TaskStatus.OPEN:
        if (
            row[T_DUE] == spec.due_date
            and row[T_GRACE] == spec.grace_days
            and row[T_PRIORITY] == spec.priority
            and same_triggers(row[T_TRIGGERS], spec.triggers)
        ):
            return None
    closing = spec.status != TaskStatus.OPEN
    if closing:
        reason = spec.reason
    else:
        reason = "" if was_open else "Reopened: the fact that closed it no longer holds"
    return [
        row[T_ID],
        spec.status,
        reason,
        now if closing else None,
        spec.closed_on if closing else None,
        # Back-dated facts move an anchor: the due date follows the facts.
        spec.due_date,
        spec.grace_days,
        overdue_from(spec.due_date, row[T_SNOOZED], spec.grace_days),
        list(spec.triggers),
        0,
        row[T_VERSION] + 1,
        now,
        spec.priority,
    ]


def cancel_values(row: TaskRow, reason: str, now: datetime, day: date) -> list[Any]:
    """An open task that no longer applies, cancelled (ENGINE_TASK_FIELDS order)."""
    return [
        row[T_ID],
        TaskStatus.CANCELLED,
        reason,
        now,
        day,
        row[T_DUE],
        row[T_GRACE],
        overdue_from(row[T_DUE], row[T_SNOOZED], row[T_GRACE]),
        stored_triggers(row[T_TRIGGERS]),
        0,
        row[T_VERSION] + 1,
        now,
        row[T_PRIORITY],
    ]


# jsonb's text form of a list of strings is what this encoder writes
# (", " between items, non-ASCII as is), so equal text is equal values;
# unequal text is decoded and compared as values.
_encode = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=4096)
def _encoded(triggers: tuple[str, ...]) -> str:
    # Many tasks share their triggers ("every fracture episode", a date).
    return _encode(list(triggers))


def same_triggers(stored: Any, triggers: tuple[str, ...]) -> bool:
    """Whether a task's stored triggers (jsonb text on PostgreSQL, the
    decoded list elsewhere) equal the engine's."""
    if isinstance(stored, str):
        return stored == _encoded(triggers) or json.loads(stored) == list(triggers)
    return list(stored or []) == list(triggers)


def stored_triggers(stored: Any) -> Any:
    return json.loads(stored) if isinstance(stored, str) else stored
