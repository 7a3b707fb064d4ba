"""Reads of the patient chart: the record with its timeline, and the
before/after snapshot that becomes the page's change summary.

A fixed number of queries per patient, whatever the length of the history.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
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
from pathways.loaders.facts import load_facts, load_programmes
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


def patient_record(patient: Patient, *, today: date) -> PatientRecord:
    """A patient's episodes, facts, tasks and projected plan (fixed query count).

    The projected tasks come from the pure engine run on the loaded facts as
    of today, exactly as the sweep would see them.
    """
    episodes = list(Episode.objects.alive().filter(patient=patient).order_by("-identified_date"))
    ids = [e.id for e in episodes]
    by_id = {e.id: e for e in episodes}
    for e in episodes:
        e.patient = patient
    transitions: dict[uuid.UUID, list[PhaseTransition]] = defaultdict(list)
    for t in PhaseTransition.objects.filter(episode_id__in=ids).select_related("actor"):
        transitions[t.episode_id].append(t)
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
            task.episode = by_id.get(task.episode_id)  # type: ignore[assignment]
            if task.episode is None:
                continue
        tasks[task.episode_id].append(task)
    obs: dict[uuid.UUID, list[Observation]] = defaultdict(list)
    for o in Observation.objects.alive().filter(episode_id__in=ids):
        obs[o.episode_id].append(o)
    img: dict[uuid.UUID, list[Imaging]] = defaultdict(list)
    for i in Imaging.objects.alive().filter(episode_id__in=ids):
        img[i.episode_id].append(i)
    procs: dict[uuid.UUID, list[Procedure]] = defaultdict(list)
    for p in Procedure.objects.alive().filter(episode_id__in=ids):
        procs[p.episode_id].append(p)
    meds = list(Medication.objects.alive().filter(patient=patient).order_by("start_date"))
    scans = list(BoneDensity.objects.alive().filter(patient=patient).order_by("performed_date"))
    loaded = load_facts(ids) if ids else {}
    programmes = load_programmes([patient.id])

    views: list[EpisodeView] = []
    timeline: list[TimelineEntry] = []
    bmd_changes: list[dict[str, Any]] = []
    pain: dict[str, list[tuple[date, float]]] = {}
    for ep in episodes:
        levels = mask_to_levels(ep.levels_mask)
        item = loaded.get(str(ep.id))
        evaluation = None
        projected: list[tuple[TaskSpec, str]] = []
        if item is not None:
            ruleset = get_ruleset(ep.pathway_version)
            evaluation = evaluate(item.facts, today, ruleset)
            projected = [(s, ruleset.get(s.rule).title) for s in evaluation.projected]
            if not bmd_changes:
                bmd_changes = list(evaluation.derived.get("bmd_changes", []))  # type: ignore[call-overload]
        view = EpisodeView(
            episode=ep,
            levels=levels,
            transitions=transitions.get(ep.id, []),
            evaluation=evaluation,
            open_tasks=[t for t in tasks.get(ep.id, []) if t.status == TaskStatus.OPEN],
            closed_tasks=[t for t in tasks.get(ep.id, []) if t.status != TaskStatus.OPEN],
            projected=projected,
            observations=obs.get(ep.id, []),
            imaging=img.get(ep.id, []),
            procedures=procs.get(ep.id, []),
            today=today,
        )
        views.append(view)
        ep_label = view.label
        for o in view.observations:
            category = "pain" if o.kind == "pain_nrs" else "observation"
            timeline.append(
                TimelineEntry(
                    o.effective_date,
                    "fact",
                    category,
                    fmt_observation(o),
                    episode_id=ep.id,
                    episode_label=ep_label,
                    fact_kind="observation",
                    fact_id=o.id,
                )
            )
        series = [
            (o.effective_date, float(o.value_number or 0))
            for o in view.observations
            if o.kind == "pain_nrs"
        ]
        if series:
            pain[ep_label] = sorted(series)
        for i in view.imaging:
            edema = {True: "edema", False: "no edema", None: "edema not reported"}[i.edema]
            timeline.append(
                TimelineEntry(
                    i.performed_date,
                    "fact",
                    "imaging",
                    f"{label(i.modality)} {i.region}",
                    f"{edema}{', with contrast' if i.contrast else ''}",
                    episode_id=ep.id,
                    episode_label=ep_label,
                    fact_kind="imaging",
                    fact_id=i.id,
                )
            )
        for p in view.procedures:
            timeline.append(
                TimelineEntry(
                    p.performed_date,
                    "fact",
                    "procedure",
                    label(p.kind),
                    p.level,
                    episode_id=ep.id,
                    episode_label=ep_label,
                    fact_kind="procedure",
                    fact_id=p.id,
                )
            )
        for t in view.transitions:
            timeline.append(
                TimelineEntry(
                    t.effective_date,
                    "phase",
                    "phase",
                    f"Phase: {(t.from_phase or 'new').replace('_', ' ')} → "
                    f"{t.to_phase.replace('_', ' ')}",
                    t.cause,
                    episode_id=ep.id,
                    episode_label=ep_label,
                )
            )
        for task in tasks.get(ep.id, []):
            timeline.append(_task_entry(task, today, ep_label, ep.id))
        for spec, title in projected:
            timeline.append(_projected_entry(spec, title, ep_label, ep.id))
    programme_view = None
    prog = programmes.get(str(patient.id))
    if prog is not None:
        ruleset = get_ruleset(prog.row["rule_set"])
        prog_eval = evaluate_programme(
            prog.facts([i.facts for i in loaded.values()]), today, ruleset
        )
        bmd_changes = list(prog_eval.derived.get("bmd_changes", bmd_changes))  # type: ignore[call-overload]
        prog_tasks = tasks.get(None, [])
        programme_view = ProgrammeView(
            programme=Programme(**{k: v for k, v in prog.row.items() if "__" not in k}),
            open_tasks=[t for t in prog_tasks if t.status == TaskStatus.OPEN],
            projected=[(s, ruleset.get(s.rule).title) for s in prog_eval.projected],
            today=today,
            since=prog_eval.phase_since if prog_eval.phase == "active" else None,
        )
        for task in prog_tasks:
            timeline.append(_task_entry(task, today, PROGRAMME_LABEL))
        for spec, title in programme_view.projected:
            timeline.append(_projected_entry(spec, title, PROGRAMME_LABEL))
    for m in meds:
        dose = " ".join(x for x in (m.dose, m.route) if x)
        timeline.append(
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
            timeline.append(
                TimelineEntry(m.stop_date, "fact", "medication", f"Stopped {label(m.drug)}", dose)
            )
    bmd: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for s in scans:
        tscore = f", T-score {s.t_score}" if s.t_score is not None else ""
        timeline.append(
            TimelineEntry(
                s.performed_date,
                "fact",
                "dxa",
                f"DXA {label(s.site).lower()}: {s.bmd_g_cm2} g/cm²{tscore}",
                fact_kind="dxa",
                fact_id=s.id,
            )
        )
        bmd[s.site].append((s.performed_date, float(s.bmd_g_cm2)))
    order = {"phase": 0, "fact": 1, "task": 2, "projected": 3}
    timeline.sort(key=lambda e: (e.on, order[e.kind], e.title))
    return PatientRecord(
        patient=patient,
        today=today,
        episodes=views,
        medications=meds,
        bone_density=scans,
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
