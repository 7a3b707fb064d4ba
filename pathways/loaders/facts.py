"""The engine's facts of many episodes and of their patients' programmes,
built from the rows of ``pathways.loaders.rows``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection

from pathways.engine import (
    RULESETS,
    BoneDensityFact,
    EpisodeFacts,
    ExistingTask,
    ImagingFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
    ProgrammeFacts,
)
from pathways.loaders.rows import (
    PROGRAMME_COLUMNS,
    T_CLOSED_ON,
    T_EPISODE,
    T_OCCURRENCE,
    T_PATIENT,
    T_RULE,
    PatientRows,
    TaskRow,
    fetch_episode_rows,
    fetch_fact_rows,
    fetch_owner_rows,
    fetch_rows,
    fetch_task_rows,
    programme_query,
)
from pathways.models import (
    Programme,
)


@dataclass
class Loaded:
    episode: dict[str, Any]
    facts: EpisodeFacts
    tasks: dict[tuple[str, int], TaskRow]


def load_facts(
    episode_ids: Sequence[uuid.UUID | str],
    *,
    task_rows: list[TaskRow] | None = None,
    rows: PatientRows | None = None,
) -> dict[str, Loaded]:
    """Facts of many episodes in a fixed number of queries (8, whatever the
    batch; 7 given ``task_rows``, every task of their patients), keyed by
    episode id as text.

    On PostgreSQL the rows come as tuples from plain SQL with one array
    parameter per query (no model instances, no UUID objects, no per-value
    quoting); elsewhere (SQLite) from the ORM. Given ``rows`` (every row of
    whole patients, read at once by ``fetch_patient_rows``), no query.
    """
    from pathways.levels import mask_to_levels

    ids = [str(i) for i in episode_ids]
    if rows is None:
        rows = _read_rows(ids, task_rows)
    episodes = rows.episodes
    if not episodes:
        return {}
    obs: dict[str, list[ObservationFact]] = defaultdict(list)
    for oid, eid, kind, vnum, vbool, day in rows.facts["observations"]:
        obs[eid].append(ObservationFact(oid, kind, vbool if vbool is not None else vnum, day))
    imaging: dict[str, list[ImagingFact]] = defaultdict(list)
    for iid, eid, modality, day, contrast, region, edema in rows.facts["imaging"]:
        imaging[eid].append(ImagingFact(iid, modality, day, contrast, region, edema))
    procedures: dict[str, list[ProcedureFact]] = defaultdict(list)
    for pid, eid, kind, day, level in rows.facts["procedures"]:
        procedures[eid].append(ProcedureFact(pid, kind, day, level))
    meds: dict[str, list[MedicationFact]] = defaultdict(list)
    for mid, pat, drug, start, stop, unverified in rows.facts["medications"]:
        meds[pat].append(MedicationFact(mid, drug, start, stop, unverified))
    dxa: dict[str, list[BoneDensityFact]] = defaultdict(list)
    for bid, pat, day, site, bmd, tscore in rows.facts["bone_density"]:
        dxa[pat].append(
            BoneDensityFact(bid, day, site, float(bmd), None if tscore is None else float(tscore))
        )
    tasks = _tasks_by_episode(rows.tasks, set(ids))
    owner = _owners(rows.owners)

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
            tuple([ExistingTask(*t[T_RULE : T_CLOSED_ON + 1]) for t in ep_tasks.values()]),
        )
        out[eid] = Loaded(ep, facts, ep_tasks)
    return out


def _tasks_by_episode(
    rows: list[TaskRow], wanted: set[str]
) -> dict[str, dict[tuple[str, int], TaskRow]]:
    tasks: dict[str, dict[tuple[str, int], TaskRow]] = defaultdict(dict)
    for row in rows:
        eid = row[T_EPISODE]
        if eid in wanted:
            tasks[eid][row[T_RULE], row[T_OCCURRENCE]] = row
    return tasks


def _owners(rows: list[tuple[Any, ...]]) -> dict[str, tuple[date, datetime, str]]:
    """Patient-level rules (v1) live on the patient's most recent open episode."""
    owner: dict[str, tuple[date, datetime, str]] = {}
    for pat, eid, identified, created in rows:
        key = (identified, created, eid)
        if pat not in owner or key > owner[pat]:
            owner[pat] = key
    return owner


def _read_rows(ids: list[str], task_rows: list[TaskRow] | None) -> PatientRows:
    """The rows of these episodes, read kind by kind (7 queries; 6 given
    ``task_rows``): SQLite, and episodes of patients without a programme."""
    episodes = fetch_episode_rows(ids)
    patient_ids = list({e["patient_id"] for e in episodes})
    if not episodes:
        return PatientRows([], {}, [], [], [])
    facts = {name: fetch_fact_rows(name, ids) for name in ("observations", "imaging", "procedures")}
    for name in ("medications", "bone_density"):
        facts[name] = fetch_fact_rows(name, patient_ids)
    tasks = fetch_task_rows("episode_id", ids) if task_rows is None else task_rows
    return PatientRows(episodes, facts, tasks, fetch_owner_rows(patient_ids), [])


@dataclass
class LoadedProgramme:
    row: dict[str, Any]
    tasks: dict[tuple[str, int], TaskRow]
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
            tasks=tuple(existing_task(t) for t in self.tasks.values()),
            status=self.row["status"],
            end_reason=self.row["end_reason"],
            ended_on=ended_at.date() if ended_at else None,
            deceased_on=first.deceased_on if first else None,
            v1_history=self.v1_history,
        )


def load_programmes(
    patient_ids: Sequence[uuid.UUID | str],
    *,
    task_rows: list[TaskRow] | None = None,
    rows: PatientRows | None = None,
) -> dict[str, LoadedProgramme]:
    """The programmes of these patients with their tasks (2 queries; 1 given
    ``task_rows``, every task of the patients), keyed by patient id as text."""
    keys = [str(p) for p in patient_ids]
    if rows is not None:
        task_rows = rows.tasks
    if connection.vendor == "postgresql":
        found = {
            r[1]: dict(zip(PROGRAMME_COLUMNS, r, strict=True))
            for r in (rows.programmes if rows is not None else fetch_rows(*programme_query(keys)))
        }
    else:
        found = {}
        for row in Programme.objects.filter(patient_id__in=keys).values(*PROGRAMME_COLUMNS):
            for name in ("id", "patient_id", "clinic_id"):
                row[name] = str(row[name])
            found[row["patient_id"]] = row
    if not found:
        return {}
    tasks: dict[str, dict[tuple[str, int], TaskRow]] = defaultdict(dict)
    # Series that ran under version 1 before the hand-over (V2.1): the
    # patient-level rules of the patient's episodes' tasks.
    history: dict[str, set[str]] = defaultdict(set)
    for task in fetch_task_rows("patient_id", list(found)) if task_rows is None else task_rows:
        pat = task[T_PATIENT]
        if pat not in found:
            continue
        if task[T_EPISODE] is None:
            tasks[pat][task[T_RULE], task[T_OCCURRENCE]] = task
        elif task[T_RULE] in PATIENT_LEVEL_RULES:
            history[pat].add(task[T_RULE])
    return {
        pid: LoadedProgramme(row, tasks.get(pid, {}), frozenset(history.get(pid, ())))
        for pid, row in found.items()
    }


PATIENT_LEVEL_RULES = frozenset(
    r.code for rs in RULESETS.values() for r in rs.rules if r.patient_level
)


def existing_task(t: TaskRow) -> ExistingTask:
    # rule, occurrence, status, closed_by_person, outcome, closed_on (rows.TASK_COLUMNS).
    return ExistingTask(*t[T_RULE : T_CLOSED_ON + 1])
