"""Pathway version 2, episode rules (pathway-spec V2.3, V2.4), at their boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pathways.engine.dates import add_months
from tests.pathways.engine.support import (
    ID,
    cancelled,
    clear,
    codes,
    day,
    decided,
    get,
    med,
    mri,
    must,
    obs,
    planned,
    task,
)
from tests.pathways.engine.v2_support import V2, episode, run

ONSET = date(2026, 2, 25)


# ------------------------------------------------------- calcitonin_start --
@pytest.mark.parametrize(("presented", "priority", "due"), [(0, "high", 5), (5, "high", 5)])
def test_calcitonin_within_days_0_to_5_is_high_and_due_onset_plus_5(
    presented: int, priority: str, due: int
) -> None:
    ident = ONSET + timedelta(days=presented)
    spec = must(
        run(episode(onset=ONSET, identified=ident, observations=[clear(ident)]), ident),
        "calcitonin_start",
    )
    assert (spec.priority, spec.due_date) == (priority, ONSET + timedelta(days=due))


@pytest.mark.parametrize("presented", [6, 20, 28])
def test_calcitonin_from_day_6_to_28_is_routine_and_due_at_identification(presented: int) -> None:
    """The seeds disagree (004:20 vs 000:28, 001:36, 003:24): v2 raises it for
    the first 4 weeks, as a routine task."""
    ident = ONSET + timedelta(days=presented)
    ev = run(episode(onset=ONSET, identified=ident, observations=[clear(ident)]), ident)
    spec = must(ev, "calcitonin_start")
    assert (spec.priority, spec.due_date) == ("routine", ident)
    assert "within the first 4 weeks" in spec.triggers[0]
    assert "calcitonin_window_passed" not in ev.flags


def test_calcitonin_not_raised_from_day_29() -> None:
    ident = ONSET + timedelta(days=29)
    ev = run(episode(onset=ONSET, identified=ident, observations=[clear(ident)]), ident)
    assert "calcitonin_start" not in codes(ev)
    assert "calcitonin_window_passed" in ev.flags


def test_calcitonin_missed_after_identification_plus_28_days() -> None:
    ident = ONSET + timedelta(days=2)
    facts = episode(onset=ONSET, identified=ident, observations=[clear(ident)])
    assert must(run(facts, ident + timedelta(days=28)), "calcitonin_start").status == "open"
    spec = must(run(facts, ident + timedelta(days=29)), "calcitonin_start")
    assert (spec.status, spec.closed_on) == ("missed", ident + timedelta(days=29))


def test_calcitonin_not_raised_in_a_side_branch() -> None:
    facts = episode(onset=ONSET, identified=ONSET, neuro="deficit")
    assert "calcitonin_start" not in codes(run(facts, ONSET))


# ------------------------------------------------ early augmentation (V2.3) --
def test_a_small_pain_rise_on_an_nsaid_raises_nothing() -> None:
    """v1's invented "pain rose by 2 points" is gone."""
    facts = episode(
        observations=[clear(), obs("pain_nrs", 1, day(10)), obs("pain_nrs", 3, day(12))],
        meds=[med("nsaid", ID)],
    )
    assert "augmentation_consider_early" not in codes(run(facts, day(14)))


def test_two_severe_scores_on_day_20_and_21_are_not_yet_persistent() -> None:
    facts = episode(
        observations=[clear(), obs("pain_nrs", 8, day(20)), obs("pain_nrs", 8, day(21))]
    )
    assert "augmentation_consider_early" not in codes(run(facts, day(22)))


def test_two_severe_scores_from_day_21_raise_early_augmentation() -> None:
    facts = episode(
        observations=[clear(), obs("pain_nrs", 7, day(21)), obs("pain_nrs", 7, day(25))]
    )
    spec = must(run(facts, day(25)), "augmentation_consider_early")
    assert spec.due_date == day(25)
    assert "persistent severe pain" in spec.triggers[0]


def test_pain_of_6_is_not_severe() -> None:
    facts = episode(
        observations=[clear(), obs("pain_nrs", 6, day(21)), obs("pain_nrs", 6.9, day(25))]
    )
    assert "augmentation_consider_early" not in codes(run(facts, day(26)))


def test_worsening_symptoms_recorded_by_a_clinician_raise_it() -> None:
    facts = episode(observations=[clear(), obs("worsening_symptoms", True, day(9))])
    assert must(run(facts, day(9)), "augmentation_consider_early").due_date == day(9)


def test_a_later_lower_measurement_does_not_cancel_a_raised_task() -> None:
    facts = episode(
        observations=[clear(), obs("kyphosis_pct", 16, day(5)), obs("kyphosis_pct", 12, day(9))]
    )
    ev = run(facts, day(10))
    assert must(ev, "augmentation_consider_early").status == "open"
    assert ("augmentation_consider_early", 1) not in cancelled(ev)


def test_a_new_trigger_after_the_decision_raises_a_new_occurrence() -> None:
    facts = episode(
        observations=[
            clear(),
            obs("kyphosis_pct", 16, day(5)),
            obs("pulmonary_dysfunction", True, day(30)),
        ],
        tasks=[decided("augmentation_consider_early", "continue_conservative", day(10))],
    )
    ev = run(facts, day(30))
    second = must(ev, "augmentation_consider_early", 2)
    assert second.due_date == day(30)
    assert "pulmonary dysfunction" in second.triggers[0]


def test_a_cobb_angle_in_degrees_is_never_read_as_kyphosis_percent() -> None:
    facts = episode(observations=[clear(), obs("cobb_angle_deg", 40, day(5))])
    ev = run(facts, day(6))
    assert "augmentation_consider_early" not in codes(ev)
    assert "surgical_consult" not in codes(ev)


# ---------------------------------------------------- augmentation_reconsider --
def test_severe_pain_after_continuing_conservative_care_raises_reconsider() -> None:
    three = add_months(ID, 3)
    facts = episode(
        observations=[clear(), obs("pain_nrs", 7, three + timedelta(days=20))],
        tasks=[decided("augmentation_review_3m", "continue_conservative", three)],
    )
    spec = must(run(facts, three + timedelta(days=20)), "augmentation_reconsider")
    assert spec.priority == "high"
    # Before the review was closed it was not raised.
    before = episode(
        observations=[clear(), obs("pain_nrs", 7, three - timedelta(days=5))],
        tasks=[decided("augmentation_review_3m", "continue_conservative", three)],
    )
    assert "augmentation_reconsider" not in codes(run(before, three + timedelta(days=1)))


# ---------------------------------------------------------------- repeat MRI --
def test_changed_symptoms_after_a_recent_mri_raise_a_repeat_mri() -> None:
    """000:78, 003:78: symptoms change OR imaging > 3 months old (v1 required both)."""
    facts = episode(
        observations=[clear(), obs("symptoms_changed", True, day(40))],
        images=[mri(day(10), region="lumbar spine")],
    )
    spec = must(run(facts, day(40)), "repeat_mri")
    assert spec.due_date == day(47)


def test_a_knee_mri_completes_neither_mri_initial_nor_repeat_mri() -> None:
    facts = episode(observations=[clear()], images=[mri(day(3), region="knee")])
    assert must(run(facts, day(8)), "mri_initial").status == "open"
    lumbar = episode(observations=[clear()], images=[mri(day(3), region="lumbar")])
    assert must(run(lumbar, day(8)), "mri_initial").status == "done"


def test_malignancy_workup_needs_a_whole_spine_mri_with_contrast() -> None:
    facts = episode(
        etiology="pathologic_suspected",
        images=[mri(day(3), contrast=True, region="lumbar")],
    )
    assert must(run(facts, day(8)), "malignancy_workup").status == "open"
    whole = episode(
        etiology="pathologic_suspected",
        images=[mri(day(3), contrast=True, region="whole spine")],
    )
    assert must(run(whole, day(8)), "malignancy_workup").status == "done"


# -------------------------------------------------------------- surgical --
@pytest.mark.parametrize(
    "kind", ["junctional_kyphosis", "retropulsion", "pseudarthrosis", "progressive_collapse"]
)
def test_new_surgical_indications_raise_a_surgical_consult(kind: str) -> None:
    facts = episode(observations=[clear(), obs(kind, True, day(4))])
    assert must(run(facts, day(4)), "surgical_consult").due_date == day(4)


def test_intractable_pain_at_the_3_month_review_refers_to_surgery() -> None:
    three = add_months(ID, 3)
    facts = episode(
        observations=[clear()], tasks=[decided("augmentation_review_3m", "refer_surgery", three)]
    )
    spec = must(run(facts, three), "surgical_consult")
    assert "intractable pain" in spec.triggers[0]


def test_the_surgical_branch_suppresses_mobilisation_and_the_3_week_review() -> None:
    facts = episode(neuro="deficit")
    ev = run(facts, day(22))
    assert ev.phase == "surgical"
    assert {"mobilisation", "pain_review_3w", "calcitonin_start"}.isdisjoint(codes(ev))
    must(ev, "surgical_consult_urgent")
    assert (
        "corticosteroid therapy started immediately" in V2.get("surgical_consult_urgent").guidance
    )


def test_open_conservative_tasks_are_cancelled_when_the_branch_starts() -> None:
    facts = episode(
        observations=[clear(), obs("neuro_deficit", True, day(10))],
        tasks=[task("mobilisation")],
    )
    ev = run(facts, day(10))
    assert "not raised in the surgical branch" in cancelled(ev)[("mobilisation", 1)]


def test_surgery_not_indicated_returns_to_the_phase_its_day_count_gives() -> None:
    facts = episode(
        neuro="deficit",
        observations=[clear()],
        tasks=[decided("surgical_consult_urgent", "surgery_not_indicated", day(3))],
    )
    ev = run(facts, day(30))
    assert ev.phase == "conservative"
    assert must(ev, "mobilisation").status == "open"
    assert planned(ev, "augmentation_review_3m") is not None


def test_surgery_done_moves_the_episode_to_bone_health() -> None:
    facts = episode(
        neuro="deficit",
        observations=[clear()],
        tasks=[decided("surgical_consult_urgent", "surgery_done", day(3))],
    )
    assert run(facts, day(5)).phase == "bone_health"


def test_deterioration_after_the_decision_raises_a_new_urgent_consult() -> None:
    facts = episode(
        neuro="deficit",
        observations=[clear(), obs("neuro_deterioration", True, day(40))],
        tasks=[decided("surgical_consult_urgent", "surgery_not_indicated", day(3))],
    )
    ev = run(facts, day(40))
    assert ev.phase == "surgical"
    assert must(ev, "surgical_consult_urgent", 2).due_date == day(40)


# --------------------------------------------------------------- neuro exam --
def test_neuro_exam_is_done_on_the_date_of_the_recorded_exam() -> None:
    facts = episode(neuro="unknown", observations=[clear(), obs("neuro_deficit", False, day(4))])
    spec = must(run(facts, day(5)), "neuro_exam")
    assert (spec.status, spec.closed_on) == ("done", day(4))


def test_neuro_status_recorded_with_a_late_episode_is_done_the_day_it_was_recorded() -> None:
    facts = episode(recorded_on=day(6))
    spec = must(run(facts, day(6)), "neuro_exam")
    assert spec.closed_on == day(6)


# --------------------------------------------------------- old records (V2.4) --
def test_a_deficit_of_a_2016_fracture_is_history_not_an_urgent_task() -> None:
    ident = date(2016, 5, 10)
    facts = episode(identified=ident, neuro="deficit", recorded_on=date(2026, 11, 20))
    ev = run(facts, date(2026, 11, 20))
    consult = must(ev, "surgical_consult_urgent")
    assert consult.status == "missed"
    assert ev.phase == "bone_health"
    assert not [t for t in ev.tasks if t.status == "open"]


def test_a_deficit_recorded_years_later_is_current() -> None:
    ident = date(2016, 5, 10)
    facts = episode(
        identified=ident,
        recorded_on=date(2026, 11, 1),
        observations=[clear(ident), obs("neuro_deterioration", True, date(2026, 11, 20))],
    )
    ev = run(facts, date(2026, 11, 20))
    assert ev.phase == "surgical"
    assert any(t.rule == "surgical_consult_urgent" and t.status == "open" for t in ev.tasks), (
        ev.tasks
    )


# ------------------------------------------------------------- programme split --
def test_a_v2_episode_raises_no_programme_rule() -> None:
    ev = run(episode(observations=[clear()], meds=[med("alendronate", ID)]), add_months(ID, 14))
    assert {"bmd_dxa", "renal_function", "calcium_vitamin_d", "falls_prevention"}.isdisjoint(
        codes(ev)
    )
    assert get(ev, "osteoporosis_rx_start") is None  # alendronate covered the day


def test_an_imported_symptom_change_of_2018_is_history() -> None:
    ident = date(2018, 7, 5)
    facts = episode(
        identified=ident,
        recorded_on=date(2026, 12, 2),
        observations=[clear(ident), obs("symptoms_changed", True, date(2018, 12, 14))],
        images=[mri(ident)],
    )
    ev = run(facts, date(2026, 12, 2))
    assert must(ev, "repeat_mri").status == "missed"
    assert not [t for t in ev.tasks if t.status == "open"]
