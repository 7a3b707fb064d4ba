"""Reads of the patient chart: the record with its timeline, and the
before/after snapshot that becomes the page's change summary.

A fixed number of queries per patient, whatever the length of the history.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pathways.chart.record import (
    PROGRAMME_LABEL,
    EpisodeView,
    PatientRecord,
    ProgrammeView,
    TimelineEntry,
    fmt_observation,
)
from pathways.engine import TaskSpec, evaluate, evaluate_programme, get_ruleset
from pathways.levels import mask_to_levels
from pathways.loaders.facts import Loaded, LoadedProgramme, load_facts, load_programmes
from pathways.models import (
    Episode,
    FollowUpTask,
    Imaging,
    Observation,
    PhaseTransition,
    Procedure,
    Programme,
    TaskStatus,
)
from patients.models import BoneDensity, Medication, Patient
from vcftrack.core.labels import label


@dataclass
class _Rows:
    """Everything the patient page shows, loaded in a fixed number of queries."""

    episodes: list[Episode]
    transitions: dict[uuid.UUID, list[PhaseTransition]]
    tasks: dict[uuid.UUID | None, list[FollowUpTask]]
    observations: dict[uuid.UUID, list[Observation]]
    imaging: dict[uuid.UUID, list[Imaging]]
    procedures: dict[uuid.UUID, list[Procedure]]
    medications: list[Medication]
    scans: list[BoneDensity]
    loaded: dict[str, Loaded]
    programmes: dict[str, LoadedProgramme]


def _by_episode(rows: Iterable[Any]) -> dict[uuid.UUID, list[Any]]:
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.episode_id].append(row)
    return out


def _load(patient: Patient) -> _Rows:
    episodes = list(Episode.objects.alive().filter(patient=patient).order_by("-identified_date"))
    ids = [e.id for e in episodes]
    by_id = {e.id: e for e in episodes}
    for e in episodes:
        e.patient = patient
    tasks: dict[uuid.UUID | None, list[FollowUpTask]] = defaultdict(list)
    for task in (
        FollowUpTask.objects.alive()
        .filter(patient=patient)
        .select_related("closed_by", "assignee")
        .order_by("due_date", "rule")
    ):
        # Already loaded: no query per row. Programme tasks have no episode.
        task.patient = patient
        if task.episode_id is not None:
            task.episode = by_id.get(task.episode_id)
            if task.episode is None:
                continue
        tasks[task.episode_id].append(task)
    return _Rows(
        episodes=episodes,
        transitions=_by_episode(
            PhaseTransition.objects.filter(episode_id__in=ids).select_related("actor")
        ),
        tasks=tasks,
        observations=_by_episode(Observation.objects.alive().filter(episode_id__in=ids)),
        imaging=_by_episode(Imaging.objects.alive().filter(episode_id__in=ids)),
        procedures=_by_episode(Procedure.objects.alive().filter(episode_id__in=ids)),
        medications=list(Medication.objects.alive().filter(patient=patient).order_by("start_date")),
        scans=list(BoneDensity.objects.alive().filter(patient=patient).order_by("performed_date")),
        loaded=load_facts(ids) if ids else {},
        programmes=load_programmes([patient.id]),
    )


def _episode_view(ep: Episode, rows: _Rows, today: date) -> EpisodeView:
    """One episode with the engine's view of it as of today."""
    item = rows.loaded.get(str(ep.id))
    evaluation = None
    projected: list[tuple[TaskSpec, str]] = []
    if item is not None:
        ruleset = get_ruleset(ep.pathway_version)
        evaluation = evaluate(item.facts, today, ruleset)
        projected = [(s, ruleset.get(s.rule).title) for s in evaluation.projected]
    tasks = rows.tasks.get(ep.id, [])
    return EpisodeView(
        episode=ep,
        levels=mask_to_levels(ep.levels_mask),
        transitions=rows.transitions.get(ep.id, []),
        evaluation=evaluation,
        open_tasks=[t for t in tasks if t.status == TaskStatus.OPEN],
        closed_tasks=[t for t in tasks if t.status != TaskStatus.OPEN],
        projected=projected,
        observations=rows.observations.get(ep.id, []),
        imaging=rows.imaging.get(ep.id, []),
        procedures=rows.procedures.get(ep.id, []),
        today=today,
    )


def _episode_timeline(
    view: EpisodeView, tasks: list[FollowUpTask], today: date
) -> list[TimelineEntry]:
    ep = view.episode
    where_id, where = ep.id, view.label
    entries = [
        TimelineEntry(
            o.effective_date,
            "fact",
            "pain" if o.kind == "pain_nrs" else "observation",
            fmt_observation(o),
            fact_kind="observation",
            fact_id=o.id,
            episode_id=where_id,
            episode_label=where,
        )
        for o in view.observations
    ]
    for i in view.imaging:
        edema = {True: "edema", False: "no edema", None: "edema not reported"}[i.edema]
        entries.append(
            TimelineEntry(
                i.performed_date,
                "fact",
                "imaging",
                f"{label(i.modality)} {i.region}",
                f"{edema}{', with contrast' if i.contrast else ''}",
                fact_kind="imaging",
                fact_id=i.id,
                episode_id=where_id,
                episode_label=where,
            )
        )
    entries += [
        TimelineEntry(
            p.performed_date,
            "fact",
            "procedure",
            label(p.kind),
            p.level,
            fact_kind="procedure",
            fact_id=p.id,
            episode_id=where_id,
            episode_label=where,
        )
        for p in view.procedures
    ]
    entries += [
        TimelineEntry(
            t.effective_date,
            "phase",
            "phase",
            f"Phase: {(t.from_phase or 'new').replace('_', ' ')} → {t.to_phase.replace('_', ' ')}",
            t.cause,
            episode_id=where_id,
            episode_label=where,
        )
        for t in view.transitions
    ]
    entries += [_task_entry(task, today, view.label, ep.id) for task in tasks]
    entries += [_projected_entry(s, title, view.label, ep.id) for s, title in view.projected]
    return entries


def _bmd_changes(view: EpisodeView) -> list[dict[str, Any]]:
    if view.evaluation is None:
        return []
    return list(view.evaluation.derived.get("bmd_changes", []))  # type: ignore[call-overload]


def _pain_series(view: EpisodeView) -> list[tuple[date, float]]:
    return sorted(
        (o.effective_date, float(o.value_number or 0))
        for o in view.observations
        if o.kind == "pain_nrs"
    )


def _programme(
    patient: Patient, rows: _Rows, today: date, bmd_changes: list[dict[str, Any]]
) -> tuple[ProgrammeView | None, list[TimelineEntry], list[dict[str, Any]]]:
    """The bone-health programme's card and timeline entries, and the BMD
    changes as the programme's rule set reads them."""
    prog = rows.programmes.get(str(patient.id))
    if prog is None:
        return None, [], bmd_changes
    ruleset = get_ruleset(prog.row["rule_set"])
    facts = prog.facts([i.facts for i in rows.loaded.values()])
    result = evaluate_programme(facts, today, ruleset)
    changes = list(result.derived.get("bmd_changes", bmd_changes))  # type: ignore[call-overload]
    prog_tasks = rows.tasks.get(None, [])
    view = ProgrammeView(
        programme=Programme(**{k: v for k, v in prog.row.items() if "__" not in k}),
        open_tasks=[t for t in prog_tasks if t.status == TaskStatus.OPEN],
        projected=[(s, ruleset.get(s.rule).title) for s in result.projected],
        today=today,
        since=result.phase_since if result.phase == "active" else None,
    )
    entries = [_task_entry(task, today, PROGRAMME_LABEL) for task in prog_tasks]
    entries += [_projected_entry(s, title, PROGRAMME_LABEL) for s, title in view.projected]
    return view, entries, changes


def _medication_entries(meds: list[Medication]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for m in meds:
        dose = " ".join(x for x in (m.dose, m.route) if x)
        entries.append(
            TimelineEntry(
                m.start_date,
                "fact",
                "medication",
                f"Started {label(m.drug)}",
                dose,
                fact_kind="medication",
                fact_id=m.id,
            )
        )
        if m.stop_date:
            entries.append(
                TimelineEntry(m.stop_date, "fact", "medication", f"Stopped {label(m.drug)}", dose)
            )
    return entries


def _dxa_entries(scans: list[BoneDensity]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            s.performed_date,
            "fact",
            "dxa",
            f"DXA {label(s.site).lower()}: {s.bmd_g_cm2} g/cm²"
            + (f", T-score {s.t_score}" if s.t_score is not None else ""),
            fact_kind="dxa",
            fact_id=s.id,
        )
        for s in scans
    ]


def patient_record(patient: Patient, *, today: date) -> PatientRecord:
    """A patient's episodes, facts, tasks and projected plan (fixed query count).

    The projected tasks come from the pure engine run on the loaded facts as
    of today, exactly as the sweep would see them.
    """
    rows = _load(patient)
    views = [_episode_view(ep, rows, today) for ep in rows.episodes]
    timeline: list[TimelineEntry] = []
    pain: dict[str, list[tuple[date, float]]] = {}
    # The BMD changes of the first episode that derived any (v1 episodes
    # carry them); a programme's own evaluation replaces them below.
    bmd_changes: list[dict[str, Any]] = next(
        (changes for v in views if (changes := _bmd_changes(v))), []
    )
    for view in views:
        timeline += _episode_timeline(view, rows.tasks.get(view.episode.id, []), today)
        series = _pain_series(view)
        if series:
            pain[view.label] = series
    programme_view, entries, bmd_changes = _programme(patient, rows, today, bmd_changes)
    timeline += entries + _medication_entries(rows.medications) + _dxa_entries(rows.scans)
    bmd: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for s in rows.scans:
        bmd[s.site].append((s.performed_date, float(s.bmd_g_cm2)))
    order = {"phase": 0, "fact": 1, "task": 2, "projected": 3}
    timeline.sort(key=lambda e: (e.on, order[e.kind], e.title))
    return PatientRecord(
        patient=patient,
        today=today,
        episodes=views,
        medications=rows.medications,
        bone_density=rows.scans,
        timeline=timeline,
        pain_series=pain,
        bmd_series=dict(bmd),
        bmd_changes=bmd_changes,
        programme=programme_view,
    )


def _task_entry(
    task: FollowUpTask, today: date, where: str, episode_id: uuid.UUID | None = None
) -> TimelineEntry:
    on = task.closed_on if task.status != TaskStatus.OPEN and task.closed_on else task.due_date
    state = task.state_on(today) if task.status == TaskStatus.OPEN else task.status
    return TimelineEntry(
        on,
        "task",
        "task",
        task.title,
        label(task.outcome) or task.reason or task.note,
        status=state or "",
        episode_id=episode_id,
        episode_label=where,
        task=task,
    )


def _projected_entry(
    spec: TaskSpec, title: str, where: str, episode_id: uuid.UUID | None = None
) -> TimelineEntry:
    return TimelineEntry(
        spec.due_date,
        "projected",
        "task",
        title,
        f"expected; raised {spec.lead_days} days ahead",
        status="projected",
        episode_id=episode_id,
        episode_label=where,
    )


def episode_snapshot(episode_ids: list[uuid.UUID]) -> dict[str, Any]:
    """Phases and task statuses, to tell a person what a write changed."""
    phases = dict(Episode.objects.filter(id__in=episode_ids).values_list("id", "phase"))
    tasks = {
        (eid, rule, occ): (status, title)
        for eid, rule, occ, status, title in FollowUpTask.objects.alive()
        .filter(episode_id__in=episode_ids)
        .values_list("episode_id", "rule", "occurrence", "status", "title")
    }
    return {"phases": phases, "tasks": tasks}


def describe_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Plain sentences: phases moved, tasks raised, tasks closed or reopened."""
    out: list[str] = []
    for eid, phase in after["phases"].items():
        old = before["phases"].get(eid)
        if old and old != phase:
            out.append(f"Phase moved from {old.replace('_', ' ')} to {phase.replace('_', ' ')}.")
    for key, (status, title) in sorted(after["tasks"].items(), key=lambda kv: kv[1][1]):
        old = before["tasks"].get(key)
        if old is None:
            if status == TaskStatus.OPEN:
                out.append(f"New task: {title}.")
            else:
                out.append(f"Task recorded as {status.replace('_', ' ')}: {title}.")
        elif old[0] != status:
            if status == TaskStatus.OPEN:
                out.append(f"Task reopened: {title}.")
            else:
                out.append(f"Task {status.replace('_', ' ')}: {title}.")
    return out
