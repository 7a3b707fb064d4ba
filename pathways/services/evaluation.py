"""Load an episode's facts in batches, run the pure engine, persist the difference.

Persisting is idempotent: the engine says what should exist; this module
creates what is missing (unique key episode + rule + occurrence), updates
what differs, cancels what no longer applies (never deletes), and records a
phase transition when the phase changed. Running it twice changes nothing
the second time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from pathways.dashboard.facts_table import forget_cohort_rows
from pathways.engine import (
    Evaluation,
    RuleSet,
    evaluate,
    evaluate_programme,
    get_ruleset,
)
from pathways.loaders.facts import Loaded, load_facts, load_programmes
from pathways.loaders.rows import (
    T_BY_PERSON,
    T_STATUS,
    TaskRow,
    fetch_patient_rows,
    fetch_task_rows,
)
from pathways.models import (
    Episode,
    EpisodeStatus,
    Programme,
    TaskStatus,
)
from pathways.services.persist import (
    Writes,
    cancel_values,
    new_task,
    task_update_values,
    transition,
    write_all,
)


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


@dataclass
class BatchOutcome:
    evaluated: int = 0
    raised: int = 0
    closed: int = 0
    reopened: int = 0
    updated: int = 0
    transitions: int = 0
    failed: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: BatchOutcome) -> None:
        self.evaluated += other.evaluated
        self.raised += other.raised
        self.closed += other.closed
        self.reopened += other.reopened
        self.updated += other.updated
        self.transitions += other.transitions
        self.failed += other.failed
        for key, value in other.by_status.items():
            self.by_status[key] += value


def evaluate_batch(
    episode_ids: list[uuid.UUID],
    *,
    now: datetime,
    as_of: date | None = None,
    actor_id: int | None = None,
    loaded: dict[str, Loaded] | None = None,
) -> BatchOutcome:
    """Evaluate and persist a batch. The caller holds the episodes' row locks
    (and, for a patient with a programme, the programme's lock first).

    1. Load every fact of the batch (9 queries).
    2. Run the pure engine for each episode as of its clinic's date; an
       episode of a patient with a programme is evaluated with its patient.
    3. Work out the task rows to create / update and the transitions.
    4. Take the change-sequence counter, then write in bulk (at most 6 queries).
    """
    outcome = BatchOutcome()
    loaded = loaded if loaded is not None else load_facts(episode_ids)
    in_programme = {
        item.episode["patient_id"] for item in loaded.values() if item.facts.in_programme
    }
    if in_programme:
        loaded = {k: v for k, v in loaded.items() if not v.facts.in_programme}
        outcome.add(
            evaluate_patients(sorted(in_programme), now=now, as_of=as_of, actor_id=actor_id)
        )
    w = Writes()
    for item in loaded.values():
        ep = item.episode
        tz = ZoneInfo(ep["clinic__timezone"])
        day = as_of or now.astimezone(tz).date()
        ruleset = get_ruleset(ep["pathway_version"])
        result = evaluate(item.facts, day, ruleset)
        _collect_episode(w, outcome, item, result, ruleset, now=now, day=day, tz=tz,
                         actor_id=actor_id)  # fmt: skip
    write_all(w, now)
    return outcome


def _collect_tasks(
    w: Writes,
    outcome: BatchOutcome,
    rows: dict[tuple[str, int], TaskRow],
    result: Evaluation,
    ruleset: RuleSet,
    *,
    owner: dict[str, Any],
    now: datetime,
    day: date,
) -> None:
    """The task rows to create, update and cancel for one evaluation."""
    outcome.evaluated += 1
    for spec in result.tasks:
        row = rows.get(spec.key)
        if row is None:
            w.task_written(spec.rule, owner)
            w.new_tasks.append(new_task(owner, spec, ruleset, now))
            outcome.raised += 1
            outcome.by_status[spec.status] += 1
            continue
        if row[T_BY_PERSON]:
            continue
        values = task_update_values(row, spec, now)
        if values is None:
            continue
        w.task_written(spec.rule, owner)
        w.task_updates.append(values)
        was_open = row[T_STATUS] == TaskStatus.OPEN
        if was_open and spec.status != TaskStatus.OPEN:
            outcome.closed += 1
            outcome.by_status[spec.status] += 1
        elif not was_open and spec.status == TaskStatus.OPEN:
            outcome.reopened += 1
        else:
            outcome.updated += 1
    for rule, occurrence, reason in result.cancel:
        row = rows[(rule, occurrence)]
        if row[T_BY_PERSON] or row[T_STATUS] != TaskStatus.OPEN:
            continue
        w.task_written(rule, owner)
        w.task_updates.append(cancel_values(row, reason, now, day))
        outcome.closed += 1
        outcome.by_status[TaskStatus.CANCELLED] += 1


def _collect_episode(
    w: Writes,
    outcome: BatchOutcome,
    item: Loaded,
    result: Evaluation,
    ruleset: RuleSet,
    *,
    now: datetime,
    day: date,
    tz: ZoneInfo,
    actor_id: int | None,
) -> datetime | None:
    """Collect one episode's writes; returns its next review (None: never)."""
    ep = item.episode
    owner = {
        "episode_id": ep["id"],
        "patient_id": ep["patient_id"],
        "clinic_id": ep["clinic_id"],
        "rule_set": ep["pathway_version"],
    }
    _collect_tasks(w, outcome, item.tasks, result, ruleset, owner=owner, now=now, day=day)
    if not ep["cohort_row"]:
        w.cohort_episodes.add(ep["id"])
    first_evaluation = not ep["version"]
    if result.phase != ep["phase"] or first_evaluation:
        w.transitions.append(
            transition(
                ep["id"],
                now=now,
                effective=min(result.phase_since, day),
                from_phase="" if first_evaluation else ep["phase"],
                to_phase=result.phase,
                cause=result.phase_cause,
                actor_id=actor_id,
            )
        )
        outcome.transitions += 1
    next_at = midnight(result.next_review, tz) if result.next_review else None
    if ep["status"] != EpisodeStatus.ACTIVE:
        next_at = None
    if result.phase != ep["phase"] or first_evaluation or list(result.flags) != ep["flags"]:
        w.visible_episodes.append((ep, result, next_at))
    else:
        if next_at != ep["next_review_at"] or ep["sweep_failures"] or ep["sweep_error"]:
            w.quiet_episodes.append((ep["id"], next_at))
        # else: nothing to write (a sibling of a due episode whose own review
        # date stands): an UPDATE would only rewrite the row and its indexes.
    return next_at


def evaluate_patients(
    patient_ids: list[uuid.UUID],
    *,
    now: datetime,
    as_of: date | None = None,
    actor_id: int | None = None,
) -> BatchOutcome:
    """Evaluate patients with a programme as one unit each (pathway-spec V2.1).

    The caller holds the programmes' row locks (lock order: programme, then
    episodes, then the change counter).

    1. Lock every alive episode of the patients (in id order), load every
       task of the patients (1 query), the episodes' other facts (7 queries)
       and the programmes (1 query).
    2. Evaluate each episode with its own rule set's episode rules, and the
       programme once with the programme's rule set.
    3. Write the difference in bulk; the programme's next review is the
       earliest of all of the patient's.
    """
    outcome = BatchOutcome()
    if not patient_ids:
        return outcome
    episode_ids = list(
        Episode.objects.select_for_update()
        .filter(patient_id__in=patient_ids, deleted_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    # Every task of the patients in one query: their episodes' tasks, their
    # programmes' and the v1 history of the hand-over. On PostgreSQL every
    # read of the batch goes in one pipeline (rows.fetch_patient_rows).
    patients = [str(p) for p in patient_ids]
    rows = fetch_patient_rows([str(e) for e in episode_ids], patients)
    task_rows = rows.tasks if rows is not None else fetch_task_rows("patient_id", patients)
    loaded = load_facts(episode_ids, task_rows=task_rows, rows=rows)
    programmes = load_programmes(patient_ids, task_rows=task_rows, rows=rows)
    by_patient: dict[str, list[Loaded]] = defaultdict(list)
    for item in loaded.values():
        by_patient[item.episode["patient_id"]].append(item)
    w = Writes()
    for pid, prog in programmes.items():
        tz = ZoneInfo(prog.row["clinic__timezone"])
        day = as_of or now.astimezone(tz).date()
        reviews: list[datetime] = []
        items = []
        for item in by_patient.get(pid, []):
            if item.facts.identified_date > day:
                # Replaying the past: this fracture has not happened yet.
                reviews.append(midnight(item.facts.identified_date, tz))
                continue
            items.append(item)
            ruleset = get_ruleset(item.episode["pathway_version"])
            result = evaluate(item.facts, day, ruleset)
            next_at = _collect_episode(w, outcome, item, result, ruleset, now=now, day=day,
                                       tz=tz, actor_id=actor_id)  # fmt: skip
            if next_at is not None:
                reviews.append(next_at)
        facts = prog.facts([i.facts for i in items])
        ruleset = get_ruleset(prog.row["rule_set"])
        result = evaluate_programme(facts, day, ruleset)
        owner = {
            "episode_id": None,
            "patient_id": pid,
            "clinic_id": prog.row["clinic_id"],
            "rule_set": prog.row["rule_set"],
        }
        _collect_tasks(w, outcome, prog.tasks, result, ruleset, owner=owner, now=now, day=day)
        if result.next_review is not None:
            reviews.append(midnight(result.next_review, tz))
        w.programmes.append([prog.row["id"], min(reviews) if reviews else None, 0, "", now])
    write_all(w, now)
    return outcome


def episode_evaluate(
    *, episode_id: uuid.UUID, now: datetime, as_of: date | None = None, actor_id: int | None = None
) -> BatchOutcome:
    """Evaluate one episode now, holding its row lock (serialises with the
    sweep). An episode of a patient with a programme is evaluated with its
    patient, under the programme's lock."""
    owner = Episode.objects.filter(id=episode_id).values_list("patient_id", "programme_id").first()
    if owner is not None and owner[1] is not None:
        return patient_evaluate(patient_id=owner[0], now=now, as_of=as_of, actor_id=actor_id)
    with transaction.atomic():
        locked = list(
            Episode.objects.select_for_update()
            .filter(id=episode_id, deleted_at__isnull=True)
            .values_list("id", flat=True)
        )
        if not locked:
            return BatchOutcome()
        return evaluate_batch(locked, now=now, as_of=as_of, actor_id=actor_id)


def patient_evaluate(
    *, patient_id: uuid.UUID, now: datetime, as_of: date | None = None, actor_id: int | None = None
) -> BatchOutcome:
    """Evaluate a patient with a programme as one unit, holding the
    programme's row lock first (lock order: programme, episodes, counter)."""
    with transaction.atomic():
        locked = list(
            Programme.objects.select_for_update()
            .filter(patient_id=patient_id)
            .values_list("patient_id", flat=True)
        )
        if not locked:
            episodes = list(
                Episode.objects.select_for_update()
                .filter(patient_id=patient_id, deleted_at__isnull=True)
                .order_by("id")
                .values_list("id", flat=True)
            )
            return evaluate_batch(episodes, now=now, as_of=as_of, actor_id=actor_id)
        return evaluate_patients(locked, now=now, as_of=as_of, actor_id=actor_id)


def schedule_reevaluation(
    *,
    episode_ids: Iterable[uuid.UUID],
    now: datetime,
    actor_id: int | None = None,
    patient_ids: Iterable[uuid.UUID] = (),
) -> None:
    """Mark episodes (and patients' programmes) for review now and re-evaluate
    them once the transaction commits.

    Call it first in a writing transaction: the UPDATEs lock the programme
    rows, then the episode rows, and every writer takes its locks in that
    order before the change counter (the sweep holds its programmes' and
    episodes' locks while it waits for the counter), so none waits on another.

    ``next_review_at = now`` is written inside the caller's transaction, so
    if the process dies after the commit, the next sweep still picks them up.
    """
    ids = list(episode_ids)
    patients = set(patient_ids)
    if not ids and not patients:
        return
    if ids:
        patients.update(
            Episode.objects.filter(id__in=ids, programme__isnull=False).values_list(
                "patient_id", flat=True
            )
        )
    programme_patients: list[uuid.UUID] = []
    if patients:
        Programme.objects.filter(patient_id__in=patients, status="active").update(
            next_review_at=now
        )
        programme_patients = list(
            Programme.objects.filter(patient_id__in=patients).values_list("patient_id", flat=True)
        )
    if ids:
        Episode.objects.filter(id__in=ids, status=EpisodeStatus.ACTIVE).update(next_review_at=now)
    forget_cohort_rows(episode_ids=ids, patient_ids=patients)  # dashboard facts, after the locks
    in_programme: set[uuid.UUID] = set()
    if programme_patients and ids:
        in_programme = set(
            Episode.objects.filter(id__in=ids, programme__isnull=False).values_list("id", flat=True)
        )
    solo = [eid for eid in ids if eid not in in_programme]

    def run() -> None:
        for pid in programme_patients:
            patient_evaluate(patient_id=pid, now=now, actor_id=actor_id)
        for eid in solo:
            episode_evaluate(episode_id=eid, now=now, actor_id=actor_id)

    transaction.on_commit(run)
