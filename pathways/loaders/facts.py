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
    fetch_episode_rows,
    fetch_fact_rows,
    fetch_owner_rows,
    fetch_rows,
    fetch_task_rows,
)
from pathways.models import (
    Programme,
)


@dataclass
class Loaded:
    episode: dict[str, Any]
    facts: EpisodeFacts
    tasks: dict[tuple[str, int], dict[str, Any]]


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
    episodes = fetch_episode_rows(ids)
    if not episodes:
        return {}
    patient_ids = list({e["patient_id"] for e in episodes})
    obs: dict[str, list[ObservationFact]] = defaultdict(list)
    for oid, eid, kind, vnum, vbool, day in fetch_fact_rows("observations", ids):
        obs[eid].append(ObservationFact(oid, kind, vbool if vbool is not None else vnum, day))
    imaging: dict[str, list[ImagingFact]] = defaultdict(list)
    for iid, eid, modality, day, contrast, region, edema in fetch_fact_rows("imaging", ids):
        imaging[eid].append(ImagingFact(iid, modality, day, contrast, region, edema))
    procedures: dict[str, list[ProcedureFact]] = defaultdict(list)
    for pid, eid, kind, day, level in fetch_fact_rows("procedures", ids):
        procedures[eid].append(ProcedureFact(pid, kind, day, level))
    meds: dict[str, list[MedicationFact]] = defaultdict(list)
    for mid, pat, drug, start, stop, unverified in fetch_fact_rows("medications", patient_ids):
        meds[pat].append(MedicationFact(mid, drug, start, stop, unverified))
    dxa: dict[str, list[BoneDensityFact]] = defaultdict(list)
    for bid, pat, day, site, bmd, tscore in fetch_fact_rows("bone_density", patient_ids):
        dxa[pat].append(
            BoneDensityFact(bid, day, site, float(bmd), None if tscore is None else float(tscore))
        )
    tasks: dict[str, dict[tuple[str, int], dict[str, Any]]] = defaultdict(dict)
    wanted = set(ids)
    for row in fetch_task_rows("episode_id", ids) if task_rows is None else task_rows:
        if row["episode_id"] in wanted:
            tasks[row["episode_id"]][(row["rule"], row["occurrence"])] = row
    # Patient-level rules (v1) live on the patient's most recent open episode.
    owner: dict[str, tuple[date, datetime, str]] = {}
    for pat, eid, identified, created in fetch_owner_rows(patient_ids):
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
            tuple(existing_task(t) for t in ep_tasks.values()),
        )
        out[eid] = Loaded(ep, facts, ep_tasks)
    return out


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
            tasks=tuple(existing_task(t) for t in self.tasks.values()),
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
    for task in fetch_task_rows("patient_id", list(rows)) if task_rows is None else task_rows:
        pat = task["patient_id"]
        if pat not in rows:
            continue
        if task["episode_id"] is None:
            tasks[pat][(task["rule"], task["occurrence"])] = task
        elif task["rule"] in PATIENT_LEVEL_RULES:
            history[pat].add(task["rule"])
    return {
        pid: LoadedProgramme(row, tasks.get(pid, {}), frozenset(history.get(pid, ())))
        for pid, row in rows.items()
    }


PATIENT_LEVEL_RULES = frozenset(
    r.code for rs in RULESETS.values() for r in rs.rules if r.patient_level
)


def existing_task(t: dict[str, Any]) -> ExistingTask:
    return ExistingTask(
        t["rule"], t["occurrence"], t["status"], t["closed_by_person"], t["outcome"], t["closed_on"]
    )
