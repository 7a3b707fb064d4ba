"""Write what an evaluation pass decided, in bulk: new tasks, updated tasks
(one ``UPDATE … FROM`` of values), phase transitions, episodes' and
programmes' next reviews, history rows and outbox events, in the caller's
transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pathways.dashboard.facts import FALLS_RULE, REVIEW_RULE
from pathways.dashboard.facts_table import cohort_rows_after_pass
from pathways.engine import (
    Evaluation,
    RuleSet,
    TaskSpec,
)
from pathways.engine.dates import overdue_from
from pathways.events import publish_phase_changes, publish_task_changes
from pathways.models import (
    Episode,
    FollowUpTask,
    PhaseTransition,
    Programme,
    TaskStatus,
)
from pathways.services.bulk import bulk_update_values
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


# The fact tables the engine reads: (model, key column, columns). Rows come
# back as tuples with ids as text (see ``fetch_rows``).


@dataclass
class Writes:
    """Rows one evaluation pass writes, collected first and written in bulk."""

    new_tasks: list[FollowUpTask] = field(default_factory=list)
    task_updates: list[list[Any]] = field(default_factory=list)
    transitions: list[PhaseTransition] = field(default_factory=list)
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
    for task in w.new_tasks:
        task.change_seq = seq
        seq += 1
    for values in w.task_updates:
        values[9] = seq  # change_seq, see ENGINE_TASK_FIELDS
        seq += 1
    if w.new_tasks:
        FollowUpTask.objects.bulk_create(w.new_tasks, ignore_conflicts=True)
    bulk_update_values(FollowUpTask, ENGINE_TASK_FIELDS, w.task_updates)
    if w.transitions:
        PhaseTransition.objects.bulk_create(w.transitions)
    # The change history of what the engine did (no save() ran): tasks
    # raised and changed, episodes whose phase moved.
    record_snapshots(FollowUpTask, [t.id for t in w.new_tasks], now=now, kind="+")
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
    publish_task_changes(
        created=[t.id for t in w.new_tasks], changed=[v[0] for v in w.task_updates], now=now
    )
    publish_phase_changes(transitions=w.transitions, now=now)


def new_task(
    owner: dict[str, Any], spec: TaskSpec, ruleset: RuleSet, now: datetime
) -> FollowUpTask:
    closed = spec.status != TaskStatus.OPEN
    rule = ruleset.get(spec.rule)
    return FollowUpTask(
        id=uuid.uuid4(),
        episode_id=owner["episode_id"],
        patient_id=owner["patient_id"],
        clinic_id=owner["clinic_id"],
        rule_set=owner["rule_set"],
        rule=spec.rule,
        occurrence=spec.occurrence,
        title=rule.title,
        guidance=rule.guidance,
        seed_refs=list(rule.seed_refs),
        due_date=spec.due_date,
        grace_days=spec.grace_days,
        overdue_from=overdue_from(spec.due_date, None, spec.grace_days),
        priority=spec.priority,
        status=spec.status,
        reason=spec.reason,
        triggers=list(spec.triggers),
        closed_at=now if closed else None,
        closed_on=spec.closed_on if closed else None,
        created_at=now,
        updated_at=now,
        recorded_on=now.date(),
        version=1,
    )


def task_update_values(row: dict[str, Any], spec: TaskSpec, now: datetime) -> list[Any] | None:
    """The new values (ENGINE_TASK_FIELDS order, pk first), or None if nothing changes.

    A task the engine closed keeps its record once closed, unless its status
    changes (a back-dated fact can turn ``missed`` into ``done``, a deleted
    fact reopens it).
    """
    was_open = row["status"] == TaskStatus.OPEN
    if not was_open and row["status"] == spec.status:
        return None
    if was_open and spec.status == TaskStatus.OPEN:
        if (
            row["due_date"] == spec.due_date
            and row["grace_days"] == spec.grace_days
            and list(row["triggers"] or []) == list(spec.triggers)
            and row["priority"] == spec.priority
        ):
            return None
    closing = spec.status != TaskStatus.OPEN
    if closing:
        reason = spec.reason
    else:
        reason = "" if was_open else "Reopened: the fact that closed it no longer holds"
    return [
        row["id"],
        spec.status,
        reason,
        now if closing else None,
        spec.closed_on if closing else None,
        # Back-dated facts move an anchor: the due date follows the facts.
        spec.due_date,
        spec.grace_days,
        overdue_from(spec.due_date, row["snoozed_until"], spec.grace_days),
        list(spec.triggers),
        0,
        row["version"] + 1,
        now,
        spec.priority,
    ]
