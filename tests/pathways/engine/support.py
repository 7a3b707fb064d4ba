"""Builders for the pure-engine tests (no database): facts, version 1
evaluation, and lookups in its result. ``test_dates`` pins the calendar
arithmetic every due date depends on."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta

from pathways.engine import (
    BoneDensityFact,
    EpisodeFacts,
    Evaluation,
    ExistingTask,
    ImagingFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
    TaskSpec,
    evaluate,
    get_ruleset,
)

RULESET = get_ruleset("v1")
# A Monday in 2026, far from any month end: most tests count days from it.
ID = date(2026, 3, 2)

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}"


def day(n: int, start: date = ID) -> date:
    return start + timedelta(days=n)


def obs(kind: str, value: float | bool, on: date) -> ObservationFact:
    return ObservationFact(_id("o"), kind, value, on)


def mri(on: date, *, contrast: bool = False, region: str = "spine") -> ImagingFact:
    return ImagingFact(_id("i"), "mri", on, contrast, region)


def imaging(modality: str, on: date) -> ImagingFact:
    return ImagingFact(_id("i"), modality, on)


def proc(kind: str, on: date, level: str = "") -> ProcedureFact:
    return ProcedureFact(_id("p"), kind, on, level)


def med(drug: str, start: date, stop: date | None = None) -> MedicationFact:
    return MedicationFact(_id("m"), drug, start, stop)


def dxa(on: date, bmd: float, site: str = "lumbar_spine") -> BoneDensityFact:
    return BoneDensityFact(_id("b"), on, site, bmd)


def task(
    rule: str,
    occurrence: int = 1,
    status: str = "open",
    *,
    person: bool = False,
    outcome: str = "",
    closed_on: date | None = None,
) -> ExistingTask:
    return ExistingTask(rule, occurrence, status, person, outcome, closed_on)


def decided(rule: str, outcome: str, on: date, occurrence: int = 1) -> ExistingTask:
    """A decision task closed by a person with an outcome."""
    return task(rule, occurrence, "done", person=True, outcome=outcome, closed_on=on)


def clear(on: date = ID) -> ObservationFact:
    """The red-flag screen recorded clear (malignancy not suspected)."""
    return obs("malignancy_suspected", False, on)


def episode(
    *,
    identified: date = ID,
    onset: date | None = None,
    levels: tuple[str, ...] = ("L1",),
    neuro: str = "intact",
    etiology: str = "osteoporotic",
    recorded_on: date | None = None,
    observations: Iterable[ObservationFact] = (),
    images: Iterable[ImagingFact] = (),
    procedures: Iterable[ProcedureFact] = (),
    meds: Iterable[MedicationFact] = (),
    scans: Iterable[BoneDensityFact] = (),
    tasks: Iterable[ExistingTask] = (),
    status: str = "active",
    close_reason: str = "",
    closed_on: date | None = None,
    owns_patient_rules: bool = True,
) -> EpisodeFacts:
    return EpisodeFacts(
        episode_id="e1",
        levels=levels,
        onset_date=onset if onset is not None else identified,
        identified_date=identified,
        recorded_on=recorded_on if recorded_on is not None else identified,
        etiology=etiology,
        neuro_status=neuro,
        status=status,
        close_reason=close_reason,
        closed_on=closed_on,
        owns_patient_rules=owns_patient_rules,
        observations=tuple(observations),
        imaging=tuple(images),
        procedures=tuple(procedures),
        medications=tuple(meds),
        bone_density=tuple(scans),
        tasks=tuple(tasks),
    )


def run(facts: EpisodeFacts, as_of: date) -> Evaluation:
    return evaluate(facts, as_of, RULESET)


def raised(ev: Evaluation) -> dict[tuple[str, int], TaskSpec]:
    return {t.key: t for t in ev.tasks}


def get(ev: Evaluation, rule: str, occurrence: int = 1) -> TaskSpec | None:
    """The raised task (rule, occurrence), or None."""
    for spec in ev.tasks:
        if spec.key == (rule, occurrence):
            return spec
    return None


def must(ev: Evaluation, rule: str, occurrence: int = 1) -> TaskSpec:
    spec = get(ev, rule, occurrence)
    assert spec is not None, f"{rule}#{occurrence} not raised; raised: {sorted(raised(ev))}"
    return spec


def projected(ev: Evaluation, rule: str, occurrence: int = 1) -> TaskSpec | None:
    for spec in ev.projected:
        if spec.key == (rule, occurrence):
            return spec
    return None


def planned(ev: Evaluation, rule: str, occurrence: int = 1) -> TaskSpec | None:
    """Raised or projected."""
    return get(ev, rule, occurrence) or projected(ev, rule, occurrence)


def codes(ev: Evaluation) -> set[str]:
    return {t.rule for t in ev.tasks} | {t.rule for t in ev.projected}


def cancelled(ev: Evaluation) -> dict[tuple[str, int], str]:
    return {(rule, occ): reason for rule, occ, reason in ev.cancel}


def persist(facts: EpisodeFacts, ev: Evaluation) -> EpisodeFacts:
    """What the service layer would store: the tasks as ExistingTask rows.

    Person-closed rows are left alone, engine-owned rows take the spec's
    status, cancelled rows become ``cancelled``; rows never planned stay.
    """
    rows = {(t.rule, t.occurrence): t for t in facts.tasks}
    for spec in ev.tasks:
        row = rows.get(spec.key)
        if row is not None and row.closed_by_person:
            continue
        rows[spec.key] = ExistingTask(
            spec.rule, spec.occurrence, spec.status, False, spec.outcome, spec.closed_on
        )
    for rule, occurrence, _reason in ev.cancel:
        row = rows[(rule, occurrence)]
        rows[(rule, occurrence)] = replace(row, status="cancelled", closed_on=None)
    return replace(facts, tasks=tuple(rows.values()))


def open_tasks(facts: EpisodeFacts, as_of: date) -> EpisodeFacts:
    """Evaluate once and persist: the state a later evaluation starts from."""
    return persist(facts, run(facts, as_of))
