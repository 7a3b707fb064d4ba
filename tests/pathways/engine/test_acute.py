"""Acute and conservative management (neurologically intact, not pathologic):
calcitonin, osteoporosis Rx, calcium/vitamin D, mobilisation, opioids,
the 3-week pain review and the L2 nerve root block."""

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
    episode,
    get,
    med,
    must,
    obs,
    open_tasks,
    planned,
    projected,
    run,
)

ONSET = date(2026, 2, 25)


def onset_day(n: int) -> date:
    return ONSET + timedelta(days=n)


# ------------------------------------------------------- calcitonin_start --
@pytest.mark.parametrize("presented", [0, 1, 4, 5])
def test_calcitonin_start_raised_when_presenting_within_day_5(presented: int) -> None:
    facts = episode(onset=ONSET, identified=onset_day(presented), observations=[clear()])
    ev = run(facts, onset_day(presented))
    spec = must(ev, "calcitonin_start")
    assert (spec.due_date, spec.priority, spec.grace_days, spec.lead_days) == (
        onset_day(5),
        "high",
        7,
        14,
    )
    assert f"day {presented}" in spec.triggers[0]
    assert "calcitonin_window_passed" not in ev.flags


@pytest.mark.parametrize("presented", [6, 7, 30])
def test_calcitonin_start_not_raised_from_day_6_and_the_window_is_recorded(
    presented: int,
) -> None:
    facts = episode(onset=ONSET, identified=onset_day(presented), observations=[clear()])
    ev = run(facts, onset_day(presented))
    assert "calcitonin_start" not in codes(ev)
    assert "calcitonin_window_passed" in ev.flags


def test_calcitonin_start_missed_the_day_after_onset_plus_5() -> None:
    facts = episode(onset=ONSET, identified=onset_day(2), observations=[clear()])
    last_day = must(run(facts, onset_day(5)), "calcitonin_start")
    assert last_day.status == "open"
    spec = must(run(facts, onset_day(6)), "calcitonin_start")
    assert (spec.status, spec.closed_on) == ("missed", onset_day(6))
    assert spec.reason == f"Window closed on {onset_day(5)}"


@pytest.mark.parametrize("started", [0, 3, 5])
def test_calcitonin_start_done_by_a_start_within_the_window(started: int) -> None:
    facts = episode(
        onset=ONSET,
        identified=onset_day(1),
        meds=[med("calcitonin", onset_day(started))],
    )
    spec = must(run(facts, onset_day(10)), "calcitonin_start")
    assert (spec.status, spec.closed_on) == ("done", onset_day(started))
    assert "calcitonin started on" in spec.reason


def test_calcitonin_started_on_day_6_does_not_complete_it_it_is_missed() -> None:
    facts = episode(onset=ONSET, identified=onset_day(1), meds=[med("calcitonin", onset_day(6))])
    assert must(run(facts, onset_day(10)), "calcitonin_start").status == "missed"


# -------------------------------------------------------- calcitonin_stop --
def test_calcitonin_stop_due_28_days_after_the_start() -> None:
    facts = episode(onset=ONSET, identified=onset_day(1), meds=[med("calcitonin", onset_day(2))])
    ev = run(facts, onset_day(2))
    spec = planned(ev, "calcitonin_stop")
    assert spec is not None
    assert spec.due_date == onset_day(30)
    assert get(ev, "calcitonin_stop") is None  # visible 14 days before it is due
    assert must(run(facts, onset_day(16)), "calcitonin_stop").status == "open"


def test_calcitonin_stop_not_raised_without_calcitonin() -> None:
    assert "calcitonin_stop" not in codes(run(episode(onset=ONSET), onset_day(20)))


def test_calcitonin_stop_done_by_the_stop_date_once_reached() -> None:
    facts = episode(
        onset=ONSET,
        identified=onset_day(1),
        meds=[med("calcitonin", onset_day(2), stop=onset_day(30))],
    )
    assert must(run(facts, onset_day(29)), "calcitonin_stop").status == "open"
    spec = must(run(facts, onset_day(30)), "calcitonin_stop")
    assert (spec.status, spec.closed_on) == ("done", onset_day(30))


# -------------------------------------------------- osteoporosis_rx_start --
def test_osteoporosis_rx_raised_day_0_when_no_drug_is_active() -> None:
    spec = must(run(episode(), ID), "osteoporosis_rx_start")
    assert (spec.due_date, spec.priority, spec.status) == (ID, "high", "open")


@pytest.mark.parametrize("drug", ["alendronate", "zoledronic_acid", "denosumab", "teriparatide"])
def test_osteoporosis_rx_not_raised_when_a_drug_is_active_at_identification(drug: str) -> None:
    assert "osteoporosis_rx_start" not in codes(run(episode(meds=[med(drug, day(-400))]), ID))


def test_a_drug_stopped_before_identification_does_not_count() -> None:
    facts = episode(meds=[med("alendronate", day(-800), stop=day(-10))])
    assert must(run(facts, ID), "osteoporosis_rx_start").status == "open"


@pytest.mark.parametrize(
    "drug", ["risedronate", "ibandronate", "romosozumab", "strontium_ranelate"]
)
def test_an_anti_osteoporosis_drug_start_completes_osteoporosis_rx(drug: str) -> None:
    spec = must(run(episode(meds=[med(drug, day(4))]), day(6)), "osteoporosis_rx_start")
    assert (spec.status, spec.closed_on) == ("done", day(4))


@pytest.mark.parametrize("drug", ["calcitonin", "calcium", "vitamin_d", "nsaid", "opioid"])
def test_other_drugs_do_not_complete_osteoporosis_rx(drug: str) -> None:
    assert must(run(episode(meds=[med(drug, day(1))]), day(6)), "osteoporosis_rx_start").status == (
        "open"
    )


def test_back_dated_drug_active_at_identification_cancels_the_open_task() -> None:
    # Engine choice: "no anti-osteoporosis drug active" is decidable at
    # creation (medications are patient-level); a drug found to have been
    # active already means the rule never applied -- cancelled with why.
    stored = open_tasks(episode(), ID)
    later = episode(meds=[med("alendronate", day(-30))], tasks=stored.tasks)
    ev = run(later, day(3))
    assert cancelled(ev)[("osteoporosis_rx_start", 1)] == (
        f"No longer applies: alendronate active since {day(-30)}"
    )


# -------------------------------------- calcium / mobilisation / falls ---
def test_calcium_and_vitamin_d_done_only_when_both_are_recorded() -> None:
    assert must(
        run(episode(meds=[med("calcium", day(1))]), day(5)), "calcium_vitamin_d"
    ).status == ("open")
    facts = episode(meds=[med("calcium", day(1)), med("vitamin_d", day(3))])
    spec = must(run(facts, day(5)), "calcium_vitamin_d")
    assert (spec.status, spec.closed_on) == ("done", day(3))


@pytest.mark.parametrize("rule", ["mobilisation", "falls_prevention", "calcium_vitamin_d"])
def test_always_rules_due_day_0_and_stay_open(rule: str) -> None:
    spec = must(run(episode(), day(60)), rule)
    assert (spec.due_date, spec.status, spec.priority, spec.grace_days) == (
        ID,
        "open",
        "routine",
        7,
    )


# ---------------------------------------------------------- opioid_review --
def test_opioid_review_due_7_days_after_the_opioid_record() -> None:
    facts = episode(meds=[med("opioid", day(3))])
    assert "opioid_review" not in codes(run(facts, day(2)))
    spec = must(run(facts, day(3)), "opioid_review")
    assert (spec.due_date, spec.status) == (day(10), "open")


def test_each_opioid_record_raises_its_own_review() -> None:
    facts = episode(meds=[med("opioid", day(1), day(5)), med("opioid", day(40))])
    ev = run(facts, day(40))
    assert must(ev, "opioid_review", 1).due_date == day(8)
    assert must(ev, "opioid_review", 2).due_date == day(47)


def test_back_dated_opioid_moves_the_due_date_to_the_fact_date() -> None:
    # Recorded on day 20 but started on day 2: due on day 9, overdue at once.
    spec = must(run(episode(meds=[med("opioid", day(2))]), day(20)), "opioid_review")
    assert spec.due_date == day(9)


def test_an_nsaid_raises_no_opioid_review() -> None:
    assert "opioid_review" not in codes(run(episode(meds=[med("nsaid", day(1))]), day(5)))


def test_an_opioid_started_before_onset_is_not_counted() -> None:
    # Engine choice: only the fracture's analgesic regimen (from onset on).
    facts = episode(onset=day(-2), meds=[med("opioid", day(-30))])
    assert "opioid_review" not in codes(run(facts, day(5)))


# --------------------------------------------------------- pain_review_3w --
def test_pain_review_due_day_21_and_done_by_a_score_from_day_21() -> None:
    early = episode(observations=[obs("pain_nrs", 5, day(20))])
    assert must(run(early, day(22)), "pain_review_3w").status == "open"
    ok = episode(observations=[obs("pain_nrs", 5, day(21))])
    spec = must(run(ok, day(22)), "pain_review_3w")
    assert (spec.due_date, spec.status, spec.closed_on) == (day(21), "done", day(21))


def test_pain_review_missed_when_the_3_month_review_supersedes_it() -> None:
    three = add_months(ID, 3)
    facts = episode()
    assert must(run(facts, three - timedelta(days=1)), "pain_review_3w").status == "open"
    spec = must(run(facts, three), "pain_review_3w")
    assert (spec.status, spec.closed_on) == ("missed", three)
    assert spec.reason == "Superseded by the 3-month augmentation review"


def test_a_pain_score_after_the_miss_does_not_undo_it() -> None:
    """Fixed: missed work is counted, never silently dropped -- a score after
    3 months used to flip the missed 3-week review to done."""
    three = add_months(ID, 3)
    facts = episode(observations=[obs("pain_nrs", 4, three + timedelta(days=10))])
    spec = must(run(facts, three + timedelta(days=10)), "pain_review_3w")
    assert spec.status == "missed"


def test_a_pain_score_on_the_day_before_the_supersession_completes_it() -> None:
    three = add_months(ID, 3)
    facts = episode(observations=[obs("pain_nrs", 4, three - timedelta(days=1))])
    assert must(run(facts, three + timedelta(days=10)), "pain_review_3w").status == "done"


# ---------------------------------------------- nerve_root_block_consider --
@pytest.mark.parametrize(
    ("levels", "raised"),
    [
        (("L3",), True),
        (("L4",), True),
        (("L2",), False),
        (("L5",), False),
        (("L2", "L3"), True),
        (("T12",), False),
    ],
)
def test_nerve_root_block_only_for_l3_or_l4(levels: tuple[str, ...], raised: bool) -> None:
    facts = episode(levels=levels, observations=[clear(), obs("pain_nrs", 8, day(30))])
    assert ("nerve_root_block_consider" in codes(run(facts, day(30)))) is raised


@pytest.mark.parametrize(
    ("pain", "on", "raised"),
    [(7, 28, True), (6.9, 28, False), (7, 27, False), (10, 60, True), (6, 60, False)],
)
def test_nerve_root_block_pain_at_least_7_from_day_28(pain: float, on: int, raised: bool) -> None:
    facts = episode(levels=("L3",), observations=[clear(), obs("pain_nrs", pain, day(on))])
    ev = run(facts, day(70))
    assert ("nerve_root_block_consider" in codes(ev)) is raised
    if raised:
        spec = must(ev, "nerve_root_block_consider")
        assert (spec.due_date, spec.status, spec.priority) == (day(on), "open", "routine")
        assert "fracture at L3" in spec.triggers[0]


def test_nerve_root_block_cites_the_first_qualifying_review() -> None:
    facts = episode(
        levels=("L4",),
        observations=[
            obs("pain_nrs", 9, day(20)),
            obs("pain_nrs", 7, day(35)),
            obs("pain_nrs", 8, day(50)),
        ],
    )
    assert must(run(facts, day(60)), "nerve_root_block_consider").due_date == day(35)


def test_nerve_root_block_decision_by_a_person_stands() -> None:
    facts = episode(
        levels=("L3",),
        observations=[obs("pain_nrs", 8, day(30))],
        tasks=[decided("nerve_root_block_consider", "block_planned", day(31))],
    )
    spec = must(run(facts, day(40)), "nerve_root_block_consider")
    assert (spec.status, spec.outcome) == ("done", "block_planned")


def test_nerve_root_block_projection_is_not_shown_before_the_pain_review() -> None:
    assert projected(run(episode(levels=("L3",)), day(1)), "nerve_root_block_consider") is None
