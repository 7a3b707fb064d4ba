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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from django.db import connection, transaction
from django.db.models import Model
from psycopg.types.json import JsonbLoader
from psycopg.types.string import TextLoader

from pathways.engine import (
    RULESETS,
    BoneDensityFact,
    EpisodeFacts,
    Evaluation,
    ExistingTask,
    ImagingFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
    ProgrammeFacts,
    RuleSet,
    TaskSpec,
    evaluate,
    evaluate_programme,
    get_ruleset,
)
from pathways.events import publish_phase_changes, publish_task_changes
from pathways.models import (
    ActorKind,
    Episode,
    EpisodeStatus,
    FollowUpTask,
    Imaging,
    Observation,
    PhaseTransition,
    Procedure,
    Programme,
    TaskStatus,
)
from pathways.services.bulk import bulk_update_values
from patients.models import BoneDensity, Medication
from patients.sync import allocate_change_seq
from vcftrack.core.history import record_snapshots


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


@dataclass
class Loaded:
    episode: dict[str, Any]
    facts: EpisodeFacts
    tasks: dict[tuple[str, int], dict[str, Any]]


EPISODE_COLUMNS = (
    "id",
    "patient_id",
    "clinic_id",
    "clinic__timezone",
    "levels_mask",
    "onset_date",
    "identified_date",
    "recorded_on",
    "etiology",
    "neuro_status",
    "status",
    "close_reason",
    "closed_at",
    "phase",
    "pathway_version",
    "flags",
    "version",
    "programme_id",
    "patient__deceased_date",
    "next_review_at",
    "sweep_failures",
    "sweep_error",
)
# Closed tasks are loaded light: a closed task is only ever re-opened or
# moved to another closed status, and then every field comes from the engine.
CLOSED_TASK_COLUMNS = (
    "id",
    "episode_id",
    "patient_id",
    "rule",
    "occurrence",
    "status",
    "closed_by_person",
    "outcome",
    "closed_on",
    "snoozed_until",
    "version",
)
OPEN_TASK_COLUMNS = (*CLOSED_TASK_COLUMNS, "due_date", "grace_days", "triggers", "priority")
# The fields the engine writes on an existing task, in this order.
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
_FACT_COLUMNS: dict[str, tuple[type[Model], str, tuple[str, ...]]] = {
    "observations": (
        Observation,
        "episode_id",
        ("id", "episode_id", "kind", "value_number", "value_bool", "effective_date"),
    ),
    "imaging": (
        Imaging,
        "episode_id",
        ("id", "episode_id", "modality", "performed_date", "contrast", "region", "edema"),
    ),
    "procedures": (
        Procedure,
        "episode_id",
        ("id", "episode_id", "kind", "performed_date", "level"),
    ),
    "medications": (
        Medication,
        "patient_id",
        ("id", "patient_id", "drug", "start_date", "stop_date", "unverified"),
    ),
    "bone_density": (
        BoneDensity,
        "patient_id",
        ("id", "patient_id", "performed_date", "site", "bmd_g_cm2", "t_score"),
    ),
}


class _UuidAsText(TextLoader):
    """Ids stay text: building a UUID object per id value cost more than the
    rules (perf notes: 110-135 µs an episode), and ids are only keys here."""


def fetch_rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a raw PostgreSQL query on Django's connection (and so in its
    transaction), as tuples, uuid columns as text. Django's query wrappers
    (``django_assert_num_queries``, debug logging) do not see these."""
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    # A server-side-binding cursor: the arrays of ids travel as parameters,
    # not quoted into the statement text (Django's cursors bind client-side).
    with psycopg.Cursor(raw) as cur:
        cur.adapters.register_loader("uuid", _UuidAsText)
        # Django reads jsonb as text and decodes it itself; here psycopg does.
        cur.adapters.register_loader("jsonb", JsonbLoader)
        cur.execute(sql, params)
        return cur.fetchall()


def _fact_rows(name: str, keys: list[str]) -> list[tuple[Any, ...]]:
    """The alive rows of one fact table whose key is in ``keys``: one query."""
    model, key, columns = _FACT_COLUMNS[name]
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        return fetch_rows(
            f"SELECT {', '.join(columns)} FROM {table} "  # noqa: S608 - names from the model
            f"WHERE {key} = ANY(%s::uuid[]) AND deleted_at IS NULL",
            [keys],
        )
    rows = model._default_manager.filter(**{f"{key}__in": keys, "deleted_at__isnull": True})
    return [(str(r[0]), str(r[1]), *r[2:]) for r in rows.values_list(*columns)]


def _episode_rows(episode_ids: list[str]) -> list[dict[str, Any]]:
    if connection.vendor == "postgresql":
        rows = fetch_rows(
            "SELECT e.id, e.patient_id, e.clinic_id, c.timezone, e.levels_mask, e.onset_date, "
            "e.identified_date, e.recorded_on, e.etiology, e.neuro_status, e.status, "
            "e.close_reason, e.closed_at, e.phase, e.pathway_version, e.flags, e.version, "
            "e.programme_id, p.deceased_date, e.next_review_at, e.sweep_failures, e.sweep_error "
            "FROM pathways_episode e "
            "JOIN patients_clinic c ON c.id = e.clinic_id "
            "JOIN patients_patient p ON p.id = e.patient_id WHERE e.id = ANY(%s::uuid[])",
            [episode_ids],
        )
        return [dict(zip(EPISODE_COLUMNS, row, strict=True)) for row in rows]
    out = list(Episode.objects.filter(id__in=episode_ids).values(*EPISODE_COLUMNS))
    for row in out:
        for name in ("id", "patient_id", "clinic_id", "programme_id"):
            if row[name] is not None:
                row[name] = str(row[name])
    return out


def _task_rows(key: str, keys: list[str]) -> list[dict[str, Any]]:
    """Task rows by episode (``key="episode_id"``) or every task of patients,
    their episodes' and their programmes' (``key="patient_id"``): one query.
    Closed tasks are loaded light (no schedule fields): a closed task is only
    ever re-opened or moved to another closed status, and then every field
    comes from the engine."""
    light = len(CLOSED_TASK_COLUMNS)
    if connection.vendor == "postgresql":
        heavy = ", ".join(
            f"CASE WHEN status = 'open' THEN {c} END" for c in OPEN_TASK_COLUMNS[light:]
        )
        rows = fetch_rows(
            f"SELECT {', '.join(CLOSED_TASK_COLUMNS)}, {heavy} "  # noqa: S608 - fixed names
            f"FROM pathways_followuptask WHERE {key} = ANY(%s::uuid[])",
            [keys],
        )
        status = CLOSED_TASK_COLUMNS.index("status")
        return [
            dict(zip(OPEN_TASK_COLUMNS, row, strict=True))
            if row[status] == "open"
            # A closed row: its light columns only (zip stops at the shorter).
            else dict(zip(CLOSED_TASK_COLUMNS, row))  # noqa: B905
            for row in rows
        ]
    base = FollowUpTask.objects.filter(**{f"{key}__in": keys})
    out = [
        dict(zip(OPEN_TASK_COLUMNS, values, strict=True))
        for values in base.filter(status=TaskStatus.OPEN).values_list(*OPEN_TASK_COLUMNS)
    ]
    out += [
        dict(zip(CLOSED_TASK_COLUMNS, values, strict=True))
        for values in base.exclude(status=TaskStatus.OPEN).values_list(*CLOSED_TASK_COLUMNS)
    ]
    for task in out:
        for name in ("id", "episode_id", "patient_id"):
            if task[name] is not None:
                task[name] = str(task[name])
    return out


def load_facts(
    episode_ids: Sequence[uuid.UUID | str], *, task_rows: list[dict[str, Any]] | None = None
) -> dict[str, Loaded]:
    """Facts of many episodes in a fixed number of queries (8, whatever the
    batch; 7 given ``task_rows``, every task of their patients), keyed by
    episode id as text.

    On PostgreSQL the rows come as tuples from plain SQL with one array
    parameter per query (no model instances, no UUID objects, no per-value
    quoting); elsewhere (SQLite) from the ORM.
    """
    from pathways.levels import mask_to_levels

    ids = [str(i) for i in episode_ids]
    episodes = _episode_rows(ids)
    if not episodes:
        return {}
    patient_ids = list({e["patient_id"] for e in episodes})
    obs: dict[str, list[ObservationFact]] = defaultdict(list)
    for oid, eid, kind, vnum, vbool, day in _fact_rows("observations", ids):
        obs[eid].append(ObservationFact(oid, kind, vbool if vbool is not None else vnum, day))
    imaging: dict[str, list[ImagingFact]] = defaultdict(list)
    for iid, eid, modality, day, contrast, region, edema in _fact_rows("imaging", ids):
        imaging[eid].append(ImagingFact(iid, modality, day, contrast, region, edema))
    procedures: dict[str, list[ProcedureFact]] = defaultdict(list)
    for pid, eid, kind, day, level in _fact_rows("procedures", ids):
        procedures[eid].append(ProcedureFact(pid, kind, day, level))
    meds: dict[str, list[MedicationFact]] = defaultdict(list)
    for mid, pat, drug, start, stop, unverified in _fact_rows("medications", patient_ids):
        meds[pat].append(MedicationFact(mid, drug, start, stop, unverified))
    dxa: dict[str, list[BoneDensityFact]] = defaultdict(list)
    for bid, pat, day, site, bmd, tscore in _fact_rows("bone_density", patient_ids):
        dxa[pat].append(
            BoneDensityFact(bid, day, site, float(bmd), None if tscore is None else float(tscore))
        )
    tasks: dict[str, dict[tuple[str, int], dict[str, Any]]] = defaultdict(dict)
    wanted = set(ids)
    for row in _task_rows("episode_id", ids) if task_rows is None else task_rows:
        if row["episode_id"] in wanted:
            tasks[row["episode_id"]][(row["rule"], row["occurrence"])] = row
    # Patient-level rules (v1) live on the patient's most recent open episode.
    owner: dict[str, tuple[date, datetime, str]] = {}
    for pat, eid, identified, created in _owner_rows(patient_ids):
        key = (identified, created, eid)
        if pat not in owner or key > owner[pat]:
            owner[pat] = key

    out: dict[str, Loaded] = {}
    for ep in episodes:
        eid = ep["id"]
        pat = ep["patient_id"]
        ep_tasks = tasks.get(eid, {})
        closed_on = ep["closed_at"].date() if ep["closed_at"] else None
        facts = EpisodeFacts(
            eid,
            tuple(mask_to_levels(ep["levels_mask"])),
            ep["onset_date"],
            ep["identified_date"],
            ep["recorded_on"],
            ep["etiology"],
            ep["neuro_status"],
            ep["status"],
            ep["close_reason"],
            closed_on,
            owner.get(pat, (None, None, eid))[2] == eid,
            ep["programme_id"] is not None,
            ep["patient__deceased_date"],
            tuple(obs.get(eid, ())),
            tuple(imaging.get(eid, ())),
            tuple(procedures.get(eid, ())),
            tuple(meds.get(pat, ())),
            tuple(dxa.get(pat, ())),
            tuple(_existing(t) for t in ep_tasks.values()),
        )
        out[eid] = Loaded(ep, facts, ep_tasks)
    return out


def _owner_rows(patient_ids: list[str]) -> list[tuple[Any, ...]]:
    if connection.vendor == "postgresql":
        return fetch_rows(
            "SELECT patient_id, id, identified_date, created_at FROM pathways_episode "
            "WHERE patient_id = ANY(%s::uuid[]) AND status = 'active' AND deleted_at IS NULL",
            [patient_ids],
        )
    return [
        (str(pat), str(eid), identified, created)
        for pat, eid, identified, created in Episode.objects.active()
        .filter(patient_id__in=patient_ids)
        .values_list("patient_id", "id", "identified_date", "created_at")
    ]


def _overdue_from(due: date, snoozed_until: date | None, grace: int) -> date:
    effective = max(due, snoozed_until) if snoozed_until else due
    return effective + timedelta(days=grace + 1)


@dataclass
class _Writes:
    """Rows one evaluation pass writes, collected first and written in bulk."""

    new_tasks: list[FollowUpTask] = field(default_factory=list)
    task_updates: list[list[Any]] = field(default_factory=list)
    transitions: list[PhaseTransition] = field(default_factory=list)
    visible_episodes: list[tuple[dict[str, Any], Evaluation, datetime | None]] = field(
        default_factory=list
    )
    quiet_episodes: list[tuple[str, datetime | None]] = field(default_factory=list)
    programmes: list[list[Any]] = field(default_factory=list)


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
    w = _Writes()
    for item in loaded.values():
        ep = item.episode
        tz = ZoneInfo(ep["clinic__timezone"])
        day = as_of or now.astimezone(tz).date()
        ruleset = get_ruleset(ep["pathway_version"])
        result = evaluate(item.facts, day, ruleset)
        _collect_episode(w, outcome, item, result, ruleset, now=now, day=day, tz=tz,
                         actor_id=actor_id)  # fmt: skip
    _write(w, now)
    return outcome


def _collect_tasks(
    w: _Writes,
    outcome: BatchOutcome,
    rows: dict[tuple[str, int], dict[str, Any]],
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
            w.new_tasks.append(_new_task(owner, spec, ruleset, now))
            outcome.raised += 1
            outcome.by_status[spec.status] += 1
            continue
        if row["closed_by_person"]:
            continue
        values = _task_update(row, spec, now)
        if values is None:
            continue
        w.task_updates.append(values)
        if row["status"] == TaskStatus.OPEN and spec.status != TaskStatus.OPEN:
            outcome.closed += 1
            outcome.by_status[spec.status] += 1
        elif row["status"] != TaskStatus.OPEN and spec.status == TaskStatus.OPEN:
            outcome.reopened += 1
        else:
            outcome.updated += 1
    for rule, occurrence, reason in result.cancel:
        row = rows[(rule, occurrence)]
        if row["closed_by_person"] or row["status"] != TaskStatus.OPEN:
            continue
        w.task_updates.append(
            [
                row["id"],
                TaskStatus.CANCELLED,
                reason,
                now,
                day,
                row["due_date"],
                row["grace_days"],
                _overdue_from(row["due_date"], row["snoozed_until"], row["grace_days"]),
                row["triggers"],
                0,
                row["version"] + 1,
                now,
                row["priority"],
            ]
        )
        outcome.closed += 1
        outcome.by_status[TaskStatus.CANCELLED] += 1


def _collect_episode(
    w: _Writes,
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
    first_evaluation = not ep["version"]
    if result.phase != ep["phase"] or first_evaluation:
        w.transitions.append(
            PhaseTransition(
                # A UUID: the outbox keys episodes by UUID (transitions are few).
                episode_id=uuid.UUID(ep["id"]),
                at=now,
                effective_date=min(result.phase_since, day),
                from_phase="" if first_evaluation else ep["phase"],
                to_phase=result.phase,
                cause=result.phase_cause[:300],
                actor_kind=ActorKind.USER if actor_id else ActorKind.SYSTEM,
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


def _write(w: _Writes, now: datetime) -> None:
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
    bulk_update_values(
        Programme, ("next_review_at", "sweep_failures", "sweep_error", "updated_at"), w.programmes
    )
    # Notifications and webhooks: outbox rows in this same transaction.
    publish_task_changes(
        created=[t.id for t in w.new_tasks], changed=[v[0] for v in w.task_updates], now=now
    )
    publish_phase_changes(transitions=w.transitions, now=now)


# ------------------------------------------------------------- patient unit --
PROGRAMME_COLUMNS = (
    "id",
    "patient_id",
    "clinic_id",
    "clinic__timezone",
    "rule_set",
    "started_on",
    "status",
    "end_reason",
    "ended_at",
)


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
    # programmes' and the v1 history of the hand-over.
    task_rows = _task_rows("patient_id", [str(p) for p in patient_ids])
    loaded = load_facts(episode_ids, task_rows=task_rows)
    programmes = load_programmes(patient_ids, task_rows=task_rows)
    by_patient: dict[str, list[Loaded]] = defaultdict(list)
    for item in loaded.values():
        by_patient[item.episode["patient_id"]].append(item)
    w = _Writes()
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
    _write(w, now)
    return outcome


@dataclass
class LoadedProgramme:
    row: dict[str, Any]
    tasks: dict[tuple[str, int], dict[str, Any]]
    v1_history: frozenset[str]

    def facts(self, episodes: list[EpisodeFacts]) -> ProgrammeFacts:
        """The programme's facts; drugs and DXAs are the patient's (every
        episode of the patient carries the same ones)."""
        episodes = sorted(episodes, key=lambda e: (e.identified_date, e.episode_id))
        first = episodes[0] if episodes else None
        ended_at = self.row["ended_at"]
        return ProgrammeFacts(
            patient_id=str(self.row["patient_id"]),
            entered_on=self.row["started_on"],
            episodes=tuple(episodes),
            medications=first.medications if first else (),
            bone_density=first.bone_density if first else (),
            tasks=tuple(_existing(t) for t in self.tasks.values()),
            status=self.row["status"],
            end_reason=self.row["end_reason"],
            ended_on=ended_at.date() if ended_at else None,
            deceased_on=first.deceased_on if first else None,
            v1_history=self.v1_history,
        )


def load_programmes(
    patient_ids: Sequence[uuid.UUID | str], *, task_rows: list[dict[str, Any]] | None = None
) -> dict[str, LoadedProgramme]:
    """The programmes of these patients with their tasks (2 queries; 1 given
    ``task_rows``, every task of the patients), keyed by patient id as text."""
    keys = [str(p) for p in patient_ids]
    if connection.vendor == "postgresql":
        rows = {
            r[1]: dict(zip(PROGRAMME_COLUMNS, r, strict=True))
            for r in fetch_rows(
                "SELECT p.id, p.patient_id, p.clinic_id, c.timezone, p.rule_set, p.started_on, "
                "p.status, p.end_reason, p.ended_at FROM pathways_programme p "
                "JOIN patients_clinic c ON c.id = p.clinic_id "
                "WHERE p.patient_id = ANY(%s::uuid[])",
                [keys],
            )
        }
    else:
        rows = {}
        for row in Programme.objects.filter(patient_id__in=keys).values(*PROGRAMME_COLUMNS):
            for name in ("id", "patient_id", "clinic_id"):
                row[name] = str(row[name])
            rows[row["patient_id"]] = row
    if not rows:
        return {}
    tasks: dict[str, dict[tuple[str, int], dict[str, Any]]] = defaultdict(dict)
    # Series that ran under version 1 before the hand-over (V2.1): the
    # patient-level rules of the patient's episodes' tasks.
    history: dict[str, set[str]] = defaultdict(set)
    for task in _task_rows("patient_id", list(rows)) if task_rows is None else task_rows:
        pat = task["patient_id"]
        if pat not in rows:
            continue
        if task["episode_id"] is None:
            tasks[pat][(task["rule"], task["occurrence"])] = task
        elif task["rule"] in _PATIENT_LEVEL_RULES:
            history[pat].add(task["rule"])
    return {
        pid: LoadedProgramme(row, tasks.get(pid, {}), frozenset(history.get(pid, ())))
        for pid, row in rows.items()
    }


_PATIENT_LEVEL_RULES = frozenset(
    r.code for rs in RULESETS.values() for r in rs.rules if r.patient_level
)


def _existing(t: dict[str, Any]) -> ExistingTask:
    return ExistingTask(
        t["rule"], t["occurrence"], t["status"], t["closed_by_person"], t["outcome"], t["closed_on"]
    )


def _new_task(
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
        overdue_from=_overdue_from(spec.due_date, None, spec.grace_days),
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


def _task_update(row: dict[str, Any], spec: TaskSpec, now: datetime) -> list[Any] | None:
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
        _overdue_from(spec.due_date, row["snoozed_until"], spec.grace_days),
        list(spec.triggers),
        0,
        row["version"] + 1,
        now,
        spec.priority,
    ]


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
