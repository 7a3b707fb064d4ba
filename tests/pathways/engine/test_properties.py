"""Property-based tests (hypothesis) over random episodes: the engine is
deterministic, idempotent, order-independent, honours replays, and
``next_review`` is the earliest date the evaluation can change."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathways.engine import (
    BoneDensityFact,
    EpisodeFacts,
    Evaluation,
    ExistingTask,
    ImagingFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
    evaluate,
)
from pathways.engine.v1 import V1
from tests.pathways.engine.support import RULESET, persist

CODES = RULESET.codes
LEVELS = ["T11", "T12", "L1", "L2", "L3", "L4", "L5"]
# Values that sit on and around every threshold of the rule set.
NUMERIC = {
    "pain_nrs": [0, 3, 5, 6, 6.9, 7, 8, 10],
    "kyphosis_pct": [5, 14.9, 15, 25],
    "scoliosis_pct": [5, 9.9, 10],
    "dorsal_wall_loss_pct": [5, 9.9, 10],
    "height_loss_pct": [10, 19.9, 20, 30],
    "odi": [20, 60],
}
BOOLEAN = [
    "pulmonary_dysfunction",
    "neuro_deficit",
    "neuro_deterioration",
    "instability",
    "canal_compromise",
    "parenteral_narcotics",
    "hospital_admission",
    "pain_med_contraindication",
    "worsening_symptoms",
    "symptoms_changed",
    "malignancy_suspected",
    "pathologic_confirmed",
]
DRUGS = [
    "calcitonin",
    "alendronate",
    "risedronate",
    "zoledronic_acid",
    "denosumab",
    "teriparatide",
    "nsaid",
    "opioid",
    "calcium",
    "vitamin_d",
]
OUTCOMES = [
    "",
    "offer_augmentation",
    "continue_conservative",
    "resolved",
    "clear",
    "red_flags_found",
]
MONTH_ENDS = [
    date(2026, 1, 31),
    date(2026, 11, 30),
    date(2027, 1, 31),
    date(2028, 2, 29),
    date(2026, 8, 31),
]

offsets = st.integers(min_value=-30, max_value=540)


@st.composite
def observations(draw: Any) -> list[tuple[str, float | bool, int]]:
    out = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            kind = draw(st.sampled_from(sorted(NUMERIC)))
            value: float | bool = draw(st.sampled_from(NUMERIC[kind]))
        else:
            kind = draw(st.sampled_from(BOOLEAN))
            value = draw(st.booleans())
        out.append((kind, value, draw(offsets)))
    return out


@st.composite
def episodes(draw: Any) -> EpisodeFacts:
    identified = draw(
        st.one_of(st.dates(date(2025, 1, 1), date(2027, 12, 31)), st.sampled_from(MONTH_ENDS))
    )
    onset = identified - timedelta(days=draw(st.integers(0, 12)))

    def at(offset: int) -> date:
        return identified + timedelta(days=offset)

    obs = tuple(
        ObservationFact(f"o{n}", kind, value, at(off))
        for n, (kind, value, off) in enumerate(draw(observations()))
    )
    imaging = tuple(
        ImagingFact(
            f"i{n}",
            draw(st.sampled_from(["mri", "ct", "xray"])),
            at(draw(offsets)),
            draw(st.booleans()),
        )
        for n in range(draw(st.integers(0, 3)))
    )
    procedures = tuple(
        ProcedureFact(
            f"p{n}",
            draw(st.sampled_from(["vertebroplasty", "kyphoplasty", "surgery", "nerve_root_block"])),
            at(draw(offsets)),
        )
        for n in range(draw(st.integers(0, 2)))
    )
    meds = []
    for n in range(draw(st.integers(0, 5))):
        start = draw(st.integers(-800, 540))
        stop = draw(st.one_of(st.none(), st.integers(1, 700)))
        meds.append(
            MedicationFact(
                f"m{n}",
                draw(st.sampled_from(DRUGS)),
                at(start),
                None if stop is None else at(start + stop),
            )
        )
    scans = tuple(
        BoneDensityFact(
            f"b{n}",
            at(draw(st.integers(-400, 900))),
            draw(st.sampled_from(["lumbar_spine", "femoral_neck"])),
            draw(st.sampled_from([0.7, 0.8, 0.85, 0.9, 0.95, 1.0])),
        )
        for n in range(draw(st.integers(0, 4)))
    )
    tasks: dict[tuple[str, int], ExistingTask] = {}
    for _ in range(draw(st.integers(0, 6))):
        key = (draw(st.sampled_from(CODES)), draw(st.integers(1, 2)))
        status = draw(st.sampled_from(["open", "done", "not_applicable", "cancelled", "missed"]))
        person = status in ("done", "not_applicable") and draw(st.booleans())
        closed_on = None if status == "open" else at(draw(st.integers(0, 400)))
        tasks[key] = ExistingTask(
            key[0],
            key[1],
            status,
            person,
            draw(st.sampled_from(OUTCOMES)) if person else "",
            closed_on,
        )
    closed = draw(st.integers(0, 9)) == 0
    return EpisodeFacts(
        episode_id="e",
        levels=tuple(draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=3, unique=True))),
        onset_date=onset,
        identified_date=identified,
        recorded_on=at(draw(st.sampled_from([0, 0, 0, 30, 365, 366, 500]))),
        etiology=draw(
            st.sampled_from(
                ["osteoporotic"] * 6 + ["unknown", "pathologic_suspected", "pathologic_confirmed"]
            )
        ),
        neuro_status=draw(st.sampled_from(["intact"] * 4 + ["unknown", "deficit"])),
        status="closed" if closed else "active",
        close_reason="discharged" if closed else "",
        closed_on=at(draw(st.integers(0, 400))) if closed else None,
        owns_patient_rules=draw(st.integers(0, 5)) > 0,
        observations=obs,
        imaging=imaging,
        procedures=procedures,
        medications=tuple(meds),
        bone_density=scans,
        tasks=tuple(tasks.values()),
    )


@st.composite
def cases(draw: Any) -> tuple[EpisodeFacts, date]:
    facts = draw(episodes())
    as_of = facts.identified_date + timedelta(days=draw(st.integers(0, 900)))
    return facts, as_of


PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def view(ev: Evaluation) -> tuple[object, ...]:
    """Everything of an evaluation except next_review."""
    return (
        ev.phase,
        ev.phase_cause,
        ev.phase_since,
        ev.tasks,
        ev.projected,
        ev.cancel,
        ev.flags,
        ev.derived,
    )


@PROPS
@given(cases())
def test_evaluation_is_deterministic(case: tuple[EpisodeFacts, date]) -> None:
    facts, as_of = case
    assert evaluate(facts, as_of, V1) == evaluate(facts, as_of, V1)


@PROPS
@given(cases())
def test_persisting_the_result_and_evaluating_again_changes_nothing(
    case: tuple[EpisodeFacts, date],
) -> None:
    facts, as_of = case
    first = evaluate(facts, as_of, V1)
    stored = persist(facts, first)
    second = evaluate(stored, as_of, V1)
    assert second.cancel == ()
    assert second.tasks == first.tasks
    assert second.projected == first.projected
    assert (second.phase, second.phase_cause, second.phase_since) == (
        first.phase,
        first.phase_cause,
        first.phase_since,
    )
    # ... and a third time (two workers at once) still nothing.
    assert evaluate(persist(stored, second), as_of, V1) == second


@PROPS
@given(cases(), st.randoms(use_true_random=False))
def test_the_order_of_the_facts_does_not_matter(
    case: tuple[EpisodeFacts, date], rnd: random.Random
) -> None:
    facts, as_of = case

    def shuffled(items: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(items)
        rnd.shuffle(out)
        return tuple(out)

    mixed = replace(
        facts,
        observations=shuffled(facts.observations),
        imaging=shuffled(facts.imaging),
        procedures=shuffled(facts.procedures),
        medications=shuffled(facts.medications),
        bone_density=shuffled(facts.bone_density),
        tasks=shuffled(facts.tasks),
    )
    assert evaluate(mixed, as_of, V1) == evaluate(facts, as_of, V1)


@PROPS
@given(cases())
def test_the_shape_of_every_result(case: tuple[EpisodeFacts, date]) -> None:
    facts, as_of = case
    ev = evaluate(facts, as_of, V1)
    rows = {(t.rule, t.occurrence): t for t in facts.tasks}
    keys = [t.key for t in ev.tasks] + [t.key for t in ev.projected]
    assert len(keys) == len(set(keys)), "a (rule, occurrence) planned twice"
    for spec in (*ev.tasks, *ev.projected):
        rule = RULESET.get(spec.rule)  # every rule code exists in the rule set
        assert spec.occurrence >= 1
        assert spec.triggers, spec.rule
        urgent = rule.priority == "urgent"
        assert spec.priority == rule.priority
        assert spec.lead_days == (0 if urgent else 14)
        assert spec.grace_days == (0 if urgent else 28 if spec.rule == "denosumab_dose" else 7)
        row = rows.get(spec.key)
        if row is not None and row.closed_by_person:
            # A person's decision is never overridden.
            assert (spec.status, spec.outcome, spec.closed_on) == (
                row.status,
                row.outcome,
                row.closed_on,
            )
            continue
        assert spec.status in {"open", "done", "missed"}
        if spec.status != "open":
            assert spec.closed_on is not None
            assert spec.closed_on <= as_of
            assert spec.reason
        # No task is due before identification unless it hangs off onset or
        # a dated fact.
        if rule.anchor.startswith("identified") or rule.anchor == "onset":
            assert spec.due_date >= facts.identified_date, spec.rule
    for spec in ev.projected:
        assert spec.status == "open"
        assert spec.visible_from > as_of
    for spec in ev.tasks:
        row = rows.get(spec.key)
        if spec.status == "open" and not (row is not None and row.status == "open"):
            assert spec.visible_from <= as_of, spec.rule
    for rule_code, occurrence, reason in ev.cancel:
        row = rows[(rule_code, occurrence)]
        assert row.status == "open"
        assert not row.closed_by_person
        assert reason
    if facts.status == "closed":
        assert ev.tasks == ev.projected == ()
        assert ev.phase == "closed"
        assert ev.next_review is None
    else:
        assert ev.phase in {
            "triage",
            "acute",
            "conservative",
            "augmentation_review",
            "bone_health",
            "surgical",
            "pathologic_workup",
        }
    assert ev.next_review is None or ev.next_review > as_of


@PROPS
@given(cases(), st.data())
def test_nothing_changes_before_next_review(case: tuple[EpisodeFacts, date], data: Any) -> None:
    facts, as_of = case
    ev = evaluate(facts, as_of, V1)
    horizon = ev.next_review or as_of + timedelta(days=2000)
    gap = (horizon - as_of).days
    if gap <= 1:
        return
    days = {1, gap - 1, gap // 2}
    days |= set(data.draw(st.lists(st.integers(1, gap - 1), max_size=4)))
    for n in sorted(days):
        later = evaluate(facts, as_of + timedelta(days=n), V1)
        assert view(later) == view(ev), (
            f"changed {n} days after {as_of}, next_review {ev.next_review}"
        )
        assert later.next_review == ev.next_review


@PROPS
@given(cases())
def test_facts_dated_after_as_of_are_ignored(case: tuple[EpisodeFacts, date]) -> None:
    facts, as_of = case
    known = replace(
        facts,
        observations=tuple(o for o in facts.observations if o.effective_date <= as_of),
        imaging=tuple(i for i in facts.imaging if i.performed_date <= as_of),
        procedures=tuple(p for p in facts.procedures if p.performed_date <= as_of),
        medications=tuple(m for m in facts.medications if m.start_date <= as_of),
        bone_density=tuple(b for b in facts.bone_density if b.performed_date <= as_of),
    )
    assert view(evaluate(facts, as_of, V1)) == view(evaluate(known, as_of, V1))


@PROPS
@given(cases())
def test_a_closed_episode_raises_nothing(case: tuple[EpisodeFacts, date]) -> None:
    facts, as_of = case
    closed = replace(
        facts, status="closed", close_reason="deceased", closed_on=facts.identified_date
    )
    ev = evaluate(closed, as_of, V1)
    assert ev.tasks == ()
    assert ev.projected == ()
    assert ev.next_review is None
    assert {(r, o) for r, o, _ in ev.cancel} == {
        (t.rule, t.occurrence) for t in facts.tasks if t.status == "open"
    }
