"""Pathway version 2, the patient's bone-health programme (pathway-spec V2.1,
V2.2, V2.4), at its boundaries."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pathways.engine import MedicationFact
from pathways.engine.dates import add_days, add_months
from pathways.engine.v2.dxa import shown_fall
from tests.pathways.engine.support import (
    ID,
    cancelled,
    clear,
    codes,
    decided,
    dxa,
    get,
    med,
    must,
    planned,
    task,
)
from tests.pathways.engine.v2_support import episode, persist_programme, programme, run, runp


def statuses(ev: object, rule: str) -> list[str]:
    return [t.status for t in ev.tasks if t.rule == rule]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- V2.1 --
def test_two_fractures_years_apart_raise_each_programme_task_once() -> None:
    first = episode("e1", identified=ID)
    second = episode("e2", identified=add_months(ID, 30))
    meds = [med("alendronate", ID)]
    facts = programme([first, second], meds=meds)
    ev = runp(facts, add_months(ID, 31))
    keys = [t.key for t in ev.tasks]
    assert len(keys) == len(set(keys))
    assert [t.occurrence for t in ev.tasks if t.rule == "calcium_vitamin_d"] == [1]
    assert [t.occurrence for t in ev.tasks if t.rule == "falls_prevention"] == [1]
    # One renal series for the patient, counted from the course's start.
    renal = sorted((t.occurrence, t.due_date) for t in ev.tasks if t.rule == "renal_function")
    assert renal == [(1, add_months(ID, 12)), (2, add_months(ID, 24))]


def test_three_fractures_and_closed_tasks_are_never_reopened() -> None:
    eps = [episode(f"e{n}", identified=add_months(ID, 20 * n)) for n in range(3)]
    closed = [
        decided("falls_prevention", "", add_days(ID, 3)),
        task("calcium_vitamin_d", status="not_applicable", person=True, closed_on=add_days(ID, 3)),
    ]
    ev = runp(programme(eps, tasks=closed), add_months(ID, 41))
    assert must(ev, "falls_prevention").status == "done"
    assert must(ev, "calcium_vitamin_d").status == "not_applicable"
    assert get(ev, "falls_prevention", 2) is None


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=30, max_value=900), min_size=1, max_size=3),
    drug=st.sampled_from(["alendronate", "denosumab", "zoledronic_acid", "calcitonin", ""]),
    close_first=st.booleans(),
)
def test_adding_an_episode_never_duplicates_or_reopens_programme_tasks(
    gaps: list[int], drug: str, close_first: bool
) -> None:
    meds: list[MedicationFact] = [med(drug, add_days(ID, 1))] if drug else []
    eps = [episode("e0", identified=ID)]
    facts = programme(eps, meds=meds)
    as_of = ID
    for n, gap in enumerate(gaps, start=1):
        as_of = add_days(as_of, gap)
        ev = runp(facts, as_of)
        facts = persist_programme(facts, ev)
        if close_first:
            rows = [
                decided(t.rule, "", as_of, t.occurrence) if t.status == "open" else t
                for t in facts.tasks
            ]
            facts = programme(eps, meds=meds, tasks=rows)
        closed = {(t.rule, t.occurrence): t.status for t in facts.tasks if t.status != "open"}
        eps = [*eps, episode(f"e{n}", identified=as_of)]
        facts = programme(eps, meds=meds, tasks=facts.tasks)
        after = runp(facts, as_of)
        keys = [t.key for t in after.tasks]
        assert len(keys) == len(set(keys))
        for spec in after.tasks:
            if spec.key in closed and closed[spec.key] in ("done", "not_applicable"):
                assert spec.status == closed[spec.key]


def test_a_fracture_on_treatment_raises_a_treatment_failure_review() -> None:
    start = ID
    second = add_months(ID, 14)
    facts = programme(
        [episode("e1", identified=ID), episode("e2", identified=second)],
        meds=[med("alendronate", start)],
    )
    ev = runp(facts, second)
    spec = must(ev, "treatment_failure_review")
    assert (spec.due_date, spec.priority) == (second, "high")
    assert f"alendronate (since {start})" in spec.triggers[0]
    # The first fracture came before the drug: one review only.
    assert get(ev, "treatment_failure_review", 2) is None


def test_v1_episodes_in_a_programme_hand_over_their_programme_rules() -> None:
    from tests.pathways.engine.support import episode as v1_episode
    from tests.pathways.engine.support import run as run_v1

    old = v1_episode(meds=[med("alendronate", ID)], tasks=[task("bmd_dxa")])
    from dataclasses import replace

    ev = run_v1(replace(old, in_programme=True), add_months(ID, 12))
    assert "bmd_dxa" not in codes(ev)
    assert (
        cancelled(ev)[("bmd_dxa", 1)] == "No longer applies: continued in the patient's programme"
    )


def test_v1_history_is_not_created_again_by_the_programme() -> None:
    """A DXA series under v1: the programme continues from the next occurrence."""
    scans = [dxa(add_months(ID, 12), 0.8), dxa(add_months(ID, 24), 0.8)]
    entered = add_months(ID, 25)
    facts = programme(
        [episode(identified=ID)],
        meds=[med("alendronate", ID)],
        scans=scans,
        entered_on=entered,
        v1_history=frozenset({"bmd_dxa"}),
    )
    ev = runp(facts, entered)
    dxa_tasks = [t for t in ev.tasks + ev.projected if t.rule == "bmd_dxa"]
    assert [(t.occurrence, t.status) for t in dxa_tasks] == [(3, "open")]
    assert dxa_tasks[0].due_date == add_months(ID, 36)  # the v1 DXA anchors it


# ---------------------------------------------------------------- V2.2 --
def test_zoledronic_acid_covers_12_months_after_an_infusion() -> None:
    infusion = ID
    cover_end = add_months(infusion, 12)
    inside = episode(
        identified=cover_end - timedelta(days=1), meds=[med("zoledronic_acid", infusion, infusion)]
    )
    assert get(run(inside, cover_end), "osteoporosis_rx_start") is None
    outside = episode(identified=cover_end, meds=[med("zoledronic_acid", infusion, infusion)])
    assert must(run(outside, cover_end), "osteoporosis_rx_start").status == "open"


def test_a_lapsed_denosumab_is_not_on_treatment_and_its_dose_turns_high() -> None:
    dose = ID
    lapse = add_days(add_months(dose, 6), 28)
    facts = programme([episode(identified=ID)], meds=[med("denosumab", dose)])
    assert must(runp(facts, lapse - timedelta(days=1)), "denosumab_dose").priority == "routine"
    assert must(runp(facts, lapse), "denosumab_dose").priority == "high"
    # A fracture on the lapse day is not "on treatment": a new drug is due.
    late = episode(identified=lapse, meds=[med("denosumab", dose)])
    assert must(run(late, lapse), "osteoporosis_rx_start").status == "open"
    still = episode(identified=lapse - timedelta(days=1), meds=[med("denosumab", dose)])
    assert get(run(still, lapse), "osteoporosis_rx_start") is None


def test_duration_review_counts_cumulative_exposure_across_a_gap() -> None:
    """3 and 5 years of cumulative exposure (004:85); a gap pauses the count."""
    first = med("alendronate", ID, add_days(ID, 365))  # one year
    second = med("alendronate", add_days(ID, 365 + 200))  # then 200 days off
    facts = programme([episode(identified=ID)], meds=[first, second])
    ev = runp(facts, add_days(ID, 365 + 200))
    review = planned(ev, "bisphosphonate_duration_review")
    assert review is not None
    # 1096 days of exposure: 365 before the gap, 731 after it restarts.
    assert review.due_date == add_days(ID, 365 + 200 + 731)
    fifth = planned(ev, "bisphosphonate_duration_review", 2)
    assert fifth is not None
    assert fifth.due_date == add_days(ID, 365 + 200 + 1826 - 365)


def test_duration_review_is_not_foreseen_while_off_the_drug() -> None:
    facts = programme([episode(identified=ID)], meds=[med("alendronate", ID, add_days(ID, 400))])
    assert planned(runp(facts, add_days(ID, 500)), "bisphosphonate_duration_review") is None


def _calcitonin_patient(first_gap_months: int, *, other: bool = False) -> object:
    s0 = ID
    s1 = add_months(s0, first_gap_months)
    s2 = add_months(s1, 12)
    meds = [med("calcitonin", s0)]
    if other:
        meds.append(med("alendronate", s0))
    scans = [dxa(s0, 1.0), dxa(s1, 0.95), dxa(s2, 0.90)]
    return programme([episode(identified=ID)], meds=meds, scans=scans), s2


def test_calcitonin_switch_needs_two_successive_yearly_falls_over_4_percent() -> None:
    facts, s2 = _calcitonin_patient(12)
    spec = must(runp(facts, s2), "calcitonin_switch")  # type: ignore[arg-type]
    assert spec.due_date == s2


def test_calcitonin_switch_intervals_must_be_10_to_14_months() -> None:
    for months, raised in ((9, False), (10, True), (14, True), (15, False)):
        facts, s2 = _calcitonin_patient(months)
        ev = runp(facts, s2)  # type: ignore[arg-type]
        assert (get(ev, "calcitonin_switch") is not None) is raised, months


def test_calcitonin_switch_only_while_calcitonin_is_the_therapy() -> None:
    facts, s2 = _calcitonin_patient(12, other=True)
    assert get(runp(facts, s2), "calcitonin_switch") is None  # type: ignore[arg-type]


def test_calcitonin_restart_needs_use_beyond_the_4_week_course() -> None:
    s0 = ID
    scans = [dxa(s0, 1.0), dxa(add_months(s0, 12), 0.95)]
    short = programme(
        [episode(identified=ID)], meds=[med("calcitonin", s0, add_days(s0, 28))], scans=scans
    )
    assert get(runp(short, add_months(s0, 12)), "calcitonin_restart") is None
    long = programme(
        [episode(identified=ID)], meds=[med("calcitonin", s0, add_days(s0, 60))], scans=scans
    )
    assert must(runp(long, add_months(s0, 12)), "calcitonin_restart").priority == "high"
    other = programme(
        [episode(identified=ID)],
        meds=[med("calcitonin", s0, add_days(s0, 60)), med("alendronate", add_days(s0, 61))],
        scans=scans,
    )
    assert get(runp(other, add_months(s0, 12)), "calcitonin_restart") is None


def test_a_fall_of_4_point_04_percent_is_never_shown_as_4_point_0() -> None:
    from pathways.engine.context import BmdChange

    change = BmdChange("lumbar_spine", ID, add_months(ID, 12), 1.0, 0.9596, -4.04)
    assert shown_fall(change) == "4.04"
    assert shown_fall(BmdChange("x", ID, ID, 1, 1, -5.26)) == "5.3"


# ---------------------------------------------------------------- V2.4 --
def test_a_1996_prescription_puts_one_dxa_on_todays_worklist_not_1997() -> None:
    entered = date(2026, 11, 20)
    facts = programme(
        [episode(identified=date(1996, 4, 1))],
        meds=[med("alendronate", date(1996, 4, 1))],
        entered_on=entered,
    )
    ev = runp(facts, entered)
    dxa_task = must(ev, "bmd_dxa")
    assert (dxa_task.due_date, dxa_task.status) == (entered, "open")
    assert "originally due 1997-04-01; never done since" in dxa_task.triggers
    renal = [t for t in ev.tasks if t.rule == "renal_function"]
    assert [t.status for t in renal].count("open") == 1
    assert all(t.due_date >= entered for t in renal if t.status == "open")
    assert not [t for t in ev.tasks if t.status == "open" and t.due_date < entered]


def test_programme_work_due_within_its_grace_keeps_its_date() -> None:
    entered = date(2026, 11, 20)
    due = entered - timedelta(days=7)  # exactly its grace before entry
    start = add_months(due, -12)
    facts = programme(
        [episode(identified=start)], meds=[med("alendronate", start)], entered_on=entered
    )
    assert must(runp(facts, entered), "bmd_dxa").due_date == due


def test_a_fracture_recorded_weeks_late_keeps_its_overdue_work_overdue() -> None:
    # Not a late record (V2.4 names imports and fractures identified more
    # than 12 months before): calcium and vitamin D stay due at the fracture.
    entered = add_days(ID, 27)
    facts = programme([episode(identified=ID)], entered_on=entered)
    calcium = must(runp(facts, entered), "calcium_vitamin_d")
    assert (calcium.due_date, calcium.status) == (ID, "open")
    assert not any("never done since" in t for t in calcium.triggers)


def test_a_deceased_patient_raises_nothing_and_open_tasks_are_cancelled() -> None:
    died = add_months(ID, 12)  # the day the first DXA and renal check fall due
    facts = programme(
        [episode(identified=ID)],
        meds=[med("alendronate", ID)],
        tasks=[task("falls_prevention")],
        deceased_on=died,
    )
    before = runp(facts, died - timedelta(days=1))
    assert before.tasks
    ev = runp(facts, died)
    assert ev.tasks == ()
    assert ev.projected == ()
    assert cancelled(ev)[("falls_prevention", 1)] == f"Patient deceased ({died})"
    ep = episode(tasks=[task("mobilisation")], deceased_on=died)
    episode_ev = run(ep, died)
    assert episode_ev.phase == "closed"
    assert cancelled(episode_ev)[("mobilisation", 1)] == f"Patient deceased ({died})"


def test_an_unverified_import_raises_one_reconciliation_task() -> None:
    entered = date(2026, 11, 20)
    old = MedicationFact("m-old", "alendronate", date(2020, 1, 1), None, unverified=True)
    other = MedicationFact("m-old2", "denosumab", date(2021, 1, 1), None, unverified=True)
    facts = programme([episode(identified=date(2020, 1, 1))], meds=[old, other], entered_on=entered)
    ev = runp(facts, entered)
    recon = [t for t in ev.tasks if t.rule == "medication_reconciliation"]
    assert len(recon) == 1
    assert recon[0].due_date == entered
    verified = programme(
        [episode(identified=date(2020, 1, 1))],
        meds=[med("alendronate", date(2020, 1, 1))],
        entered_on=entered,
        tasks=[task("medication_reconciliation")],
    )
    assert must(runp(verified, entered), "medication_reconciliation").status == "done"


def test_an_ended_programme_cancels_its_open_tasks() -> None:
    facts = programme([episode(identified=ID)], tasks=[task("falls_prevention")], status="ended")
    ev = runp(facts, add_days(ID, 3))
    assert ev.tasks == ()
    assert "Programme ended" in cancelled(ev)[("falls_prevention", 1)]


def test_new_fracture_screen_recurs_yearly_from_the_first_fracture() -> None:
    facts = programme([episode(identified=ID), episode("e2", identified=add_months(ID, 18))])
    ev = runp(facts, add_months(ID, 25))
    screens = sorted(
        (t.occurrence, t.due_date, t.status) for t in ev.tasks if t.rule == "new_fracture_screen"
    )
    assert screens[0] == (1, add_months(ID, 12), "missed")
    assert screens[1][:2] == (2, add_months(ID, 24))
    assert screens[1][2] == "open"
    assert clear  # the helpers module stays imported for the shared fixtures
