"""Helpers for the version 2 engine tests: episodes, the patient's
programme, and evaluation of both with the v2 rule set."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from pathways.engine import (
    BoneDensityFact,
    EpisodeFacts,
    Evaluation,
    ExistingTask,
    MedicationFact,
    ProgrammeFacts,
    evaluate,
    evaluate_programme,
    get_ruleset,
)
from tests.pathways.engine.support import episode as v1_episode

V2 = get_ruleset("v2")


def episode(eid: str = "e1", deceased_on: date | None = None, **kw: object) -> EpisodeFacts:
    """A v2 episode (its patient has a programme)."""
    facts = v1_episode(**kw)  # type: ignore[arg-type]
    return replace(facts, episode_id=eid, in_programme=True, deceased_on=deceased_on)


def run(facts: EpisodeFacts, as_of: date) -> Evaluation:
    return evaluate(facts, as_of, V2)


def programme(
    episodes: Iterable[EpisodeFacts],
    *,
    entered_on: date | None = None,
    meds: Iterable[MedicationFact] = (),
    scans: Iterable[BoneDensityFact] = (),
    tasks: Iterable[ExistingTask] = (),
    deceased_on: date | None = None,
    v1_history: frozenset[str] = frozenset(),
    status: str = "active",
) -> ProgrammeFacts:
    eps = tuple(episodes)
    first = min(e.identified_date for e in eps) if eps else date(2026, 3, 2)
    return ProgrammeFacts(
        patient_id="p1",
        entered_on=entered_on or first,
        episodes=eps,
        medications=tuple(meds),
        bone_density=tuple(scans),
        tasks=tuple(tasks),
        deceased_on=deceased_on,
        v1_history=v1_history,
        status=status,
    )


def runp(facts: ProgrammeFacts, as_of: date) -> Evaluation:
    return evaluate_programme(facts, as_of, V2)


def persist_programme(facts: ProgrammeFacts, ev: Evaluation) -> ProgrammeFacts:
    """What the service layer would store after one evaluation."""
    rows = {(t.rule, t.occurrence): t for t in facts.tasks}
    for spec in ev.tasks:
        row = rows.get(spec.key)
        if row is not None and row.closed_by_person:
            continue
        rows[spec.key] = ExistingTask(
            spec.rule, spec.occurrence, spec.status, False, spec.outcome, spec.closed_on
        )
    for rule, occurrence, _reason in ev.cancel:
        rows[(rule, occurrence)] = replace(rows[(rule, occurrence)], status="cancelled")
    return replace(facts, tasks=tuple(rows.values()))
