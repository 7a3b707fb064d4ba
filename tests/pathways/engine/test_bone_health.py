"""Bone health (long-term): DXA, calcitonin switch/restart, bisphosphonate
duration, renal function, denosumab, the 12-month screen, patient-level rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pathways.engine.dates import add_months
from tests.pathways.engine.support import (
    ID,
    cancelled,
    codes,
    day,
    dxa,
    episode,
    get,
    med,
    must,
    open_tasks,
    planned,
    projected,
    run,
    task,
)

Y1 = add_months(ID, 12)
Y2 = add_months(ID, 24)
Y3 = add_months(ID, 36)
LONG_CALCITONIN = med("calcitonin", date(2025, 1, 1))


def months(n: int) -> date:
    return add_months(ID, n)


# ---------------------------------------------------------------- bmd_dxa --
def test_first_dxa_due_12_months_after_treatment_start() -> None:
    facts = episode(meds=[med("alendronate", day(3))])
    spec = projected(run(facts, day(3)), "bmd_dxa")
    assert spec is not None
    assert spec.due_date == add_months(day(3), 12)
    assert spec.triggers == (f"alendronate started on {day(3)}",)
    raised = must(run(facts, add_months(day(3), 12) - timedelta(days=14)), "bmd_dxa")
    assert (raised.status, raised.priority, raised.grace_days) == ("open", "routine", 7)


def test_a_dxa_completes_that_years_task_and_the_next_is_due_a_year_later() -> None:
    scan_on = Y1 + timedelta(days=5)
    facts = episode(meds=[med("alendronate", ID)], scans=[dxa(scan_on, 0.9)])
    ev = run(facts, scan_on)
    first = must(ev, "bmd_dxa", 1)
    assert (first.status, first.closed_on, first.due_date) == ("done", scan_on, Y1)
    second = projected(ev, "bmd_dxa", 2)
    assert second is not None
    assert second.due_date == add_months(scan_on, 12)
    assert second.triggers == (f"last DXA on {scan_on}",)


def test_dxas_at_two_sites_on_one_day_complete_one_occurrence() -> None:
    facts = episode(
        meds=[med("alendronate", ID)],
        scans=[dxa(Y1, 0.9, "lumbar_spine"), dxa(Y1, 0.7, "femoral_neck")],
    )
    ev = run(facts, Y1)
    assert must(ev, "bmd_dxa", 1).status == "done"
    assert get(ev, "bmd_dxa", 2) is None
    assert projected(ev, "bmd_dxa", 2) is not None


def test_after_a_treatment_break_the_next_dxa_counts_from_the_restart() -> None:
    """Fixed: the pending DXA was anchored on a DXA (or start) from before a
    years-long break, so it showed up years overdue."""
    facts = episode(
        meds=[med("alendronate", date(2015, 1, 5), stop=date(2018, 1, 5)), med("risedronate", ID)],
        scans=[dxa(date(2016, 1, 10), 0.9)],
    )
    ev = run(facts, day(1))
    assert must(ev, "bmd_dxa", 1).status == "done"
    pending = projected(ev, "bmd_dxa", 2)
    assert pending is not None
    assert pending.due_date == Y1
    assert pending.triggers == (f"treatment restarted on {ID}",)


def test_continuous_treatment_keeps_the_last_dxa_as_anchor() -> None:
    facts = episode(
        meds=[med("alendronate", date(2020, 1, 5)), med("denosumab", date(2023, 1, 5))],
        scans=[dxa(date(2025, 6, 1), 0.9)],
    )
    assert planned(run(facts, ID), "bmd_dxa", 2).due_date == date(2026, 6, 1)  # type: ignore[union-attr]


def test_no_dxa_task_without_treatment() -> None:
    assert "bmd_dxa" not in codes(run(episode(), Y1))


def test_stopping_treatment_cancels_the_open_dxa_task() -> None:
    facts = episode(meds=[med("alendronate", ID)])
    stored = open_tasks(facts, Y1)
    assert must(run(stored, Y1), "bmd_dxa").status == "open"
    later = episode(meds=[med("alendronate", ID, stop=Y1 + timedelta(days=3))], tasks=stored.tasks)
    ev = run(later, Y1 + timedelta(days=3))
    assert cancelled(ev)[("bmd_dxa", 1)] == "No longer applies: not on anti-osteoporosis treatment"


def test_calcitonin_beyond_4_weeks_is_treatment_monitored_by_dxa() -> None:
    facts = episode(meds=[med("calcitonin", ID)])
    assert "bmd_dxa" not in codes(run(facts, day(27)))
    ev = run(facts, day(28))
    assert planned(ev, "bmd_dxa").due_date == Y1  # type: ignore[union-attr]


def test_a_4_week_calcitonin_course_is_not_long_term_treatment() -> None:
    facts = episode(meds=[med("calcitonin", ID, stop=day(28))])
    assert "bmd_dxa" not in codes(run(facts, day(100)))
    longer = episode(meds=[med("calcitonin", ID, stop=day(200))])
    assert "bmd_dxa" not in codes(run(longer, day(27)))
    assert "bmd_dxa" in codes(run(longer, day(28)))


# ---------------------------------------------------- calcitonin_switch --
def _switch(b0: float, b1: float, b2: float, dates: tuple[date, date, date] = (ID, Y1, Y2)) -> bool:
    facts = episode(
        meds=[LONG_CALCITONIN],
        scans=[dxa(dates[0], b0), dxa(dates[1], b1), dxa(dates[2], b2)],
    )
    return "calcitonin_switch" in codes(run(facts, dates[2]))


def test_switch_needs_two_successive_falls_over_4_percent() -> None:
    assert _switch(1.0, 0.95, 0.90)  # -5 %, -5.3 %
    assert not _switch(1.0, 0.95, 0.95)  # one fall only
    assert not _switch(1.0, 1.0, 0.95)  # one fall only (the later one)
    assert not _switch(1.0, 0.97, 0.94)  # two falls of about 3 %


def test_switch_boundary_exactly_4_percent_is_not_more_than_4() -> None:
    assert not _switch(1.0, 0.96, 0.9216)  # -4.0 % twice
    assert _switch(1.0, 0.9599, 0.9214)  # -4.01 % twice


def test_switch_counts_a_fall_just_over_4_percent_that_rounds_to_4() -> None:
    """Fixed: the decision used the 2-decimal display value (-4.004 -> -4.0)."""
    assert _switch(1.0, 0.95996, 0.95996 * 0.95996)


def test_switch_over_a_leap_year_is_a_calendar_year() -> None:
    """Fixed: 365.25-day annualisation turned a 4.01 % fall over 2027-03-02 ..
    2028-03-02 (366 days) into 3.999 %/yr and missed the switch."""
    dates = (date(2026, 3, 2), date(2027, 3, 2), date(2028, 3, 2))
    assert _switch(1.0, 0.9599, 0.9599 * 0.9599, dates)


def test_switch_raised_immediately_on_the_second_dxa_date() -> None:
    facts = episode(meds=[LONG_CALCITONIN], scans=[dxa(ID, 1.0), dxa(Y1, 0.95), dxa(Y2, 0.9)])
    assert "calcitonin_switch" not in codes(run(facts, Y2 - timedelta(days=1)))
    spec = must(run(facts, Y2), "calcitonin_switch")
    assert (spec.due_date, spec.priority, spec.status) == (Y2, "high", "open")
    assert "on calcitonin" in spec.triggers[0]


def test_switch_only_while_on_calcitonin() -> None:
    facts = episode(
        meds=[med("alendronate", ID)], scans=[dxa(ID, 1.0), dxa(Y1, 0.95), dxa(Y2, 0.9)]
    )
    assert "calcitonin_switch" not in codes(run(facts, Y2))


def test_falls_at_different_sites_are_not_successive() -> None:
    facts = episode(
        meds=[LONG_CALCITONIN],
        scans=[
            dxa(ID, 1.0, "lumbar_spine"),
            dxa(Y1, 0.95, "lumbar_spine"),
            dxa(Y1, 0.8, "femoral_neck"),
            dxa(Y2, 0.76, "femoral_neck"),
        ],
    )
    assert "calcitonin_switch" not in codes(run(facts, Y2))


def test_scans_under_180_days_apart_are_not_annualised() -> None:
    # Engine choice: shorter intervals are within the machine's precision.
    facts = episode(
        meds=[LONG_CALCITONIN],
        scans=[dxa(ID, 1.0), dxa(day(100), 0.9), dxa(Y1, 0.95), dxa(Y2, 0.9)],
    )
    ev = run(facts, Y2)
    changes = ev.derived["bmd_changes"]
    assert [(c["from"], c["to"]) for c in changes] == [(ID, Y1), (Y1, Y2)]  # type: ignore[index,union-attr,attr-defined]
    assert "calcitonin_switch" in codes(ev)


def test_derived_bmd_changes_are_shown_rounded() -> None:
    facts = episode(scans=[dxa(ID, 1.0), dxa(Y1, 0.95996)])
    assert run(facts, Y1).derived["bmd_changes"] == [
        {
            "site": "lumbar_spine",
            "from": ID,
            "to": Y1,
            "from_bmd": 1.0,
            "to_bmd": 0.95996,
            "pct_per_year": -4.0,
        }
    ]


# --------------------------------------------------- calcitonin_restart --
def test_restart_when_stopped_and_the_latest_yearly_fall_is_over_4() -> None:
    stop = day(60)
    facts = episode(
        meds=[med("calcitonin", day(-400), stop=stop)], scans=[dxa(ID, 1.0), dxa(Y1, 0.95)]
    )
    spec = must(run(facts, Y1), "calcitonin_restart")
    assert (spec.due_date, spec.priority) == (Y1, "high")
    assert f"calcitonin stopped on {stop}" in spec.triggers[0]


@pytest.mark.parametrize("latest", [0.97, 0.96])
def test_no_restart_when_the_latest_fall_is_4_percent_or_less(latest: float) -> None:
    facts = episode(
        meds=[med("calcitonin", day(-400), stop=day(60))], scans=[dxa(ID, 1.0), dxa(Y1, latest)]
    )
    assert "calcitonin_restart" not in codes(run(facts, Y1))


def test_no_restart_when_only_an_earlier_fall_was_over_4() -> None:
    facts = episode(
        meds=[med("calcitonin", day(-400), stop=day(60))],
        scans=[dxa(ID, 1.0), dxa(Y1, 0.9), dxa(Y2, 0.9)],
    )
    assert "calcitonin_restart" not in codes(run(facts, Y2))


def test_no_restart_while_calcitonin_is_active_again() -> None:
    facts = episode(
        meds=[med("calcitonin", day(-400), stop=day(60)), med("calcitonin", day(200))],
        scans=[dxa(ID, 1.0), dxa(Y1, 0.9)],
    )
    assert "calcitonin_restart" not in codes(run(facts, Y1))


def test_no_restart_if_calcitonin_was_never_stopped() -> None:
    facts = episode(meds=[LONG_CALCITONIN], scans=[dxa(ID, 1.0), dxa(Y1, 0.9)])
    assert "calcitonin_restart" not in codes(run(facts, Y1))


# ---------------------------------------- bisphosphonate_duration_review --
def test_duration_review_3_years_after_the_course_start() -> None:
    facts = episode(meds=[med("alendronate", day(2))])
    spec = planned(run(facts, day(2)), "bisphosphonate_duration_review")
    assert spec is not None
    assert spec.due_date == add_months(day(2), 36)
    assert spec.priority == "routine"


@pytest.mark.parametrize(("gap", "new_course"), [(90, False), (91, True)])
def test_a_drug_holiday_over_90_days_restarts_the_course(gap: int, new_course: bool) -> None:
    restart = day(100 + gap)
    facts = episode(meds=[med("alendronate", ID, stop=day(100)), med("risedronate", restart)])
    spec = planned(run(facts, restart), "bisphosphonate_duration_review")
    expected = add_months(restart, 36) if new_course else Y3
    assert spec is not None
    assert spec.due_date == expected


def test_no_duration_review_without_an_active_bisphosphonate() -> None:
    assert "bisphosphonate_duration_review" not in codes(
        run(episode(meds=[med("denosumab", ID)]), ID)
    )


# --------------------------------------------------------- renal_function --
def test_renal_function_yearly_with_the_previous_year_missed_when_next_raised() -> None:
    facts = episode(meds=[med("alendronate", ID)])
    first = projected(run(facts, ID), "renal_function", 1)
    assert first is not None
    assert first.due_date == Y1
    ev = run(facts, Y1 - timedelta(days=14))
    assert must(ev, "renal_function", 1).status == "open"
    assert projected(ev, "renal_function", 2).due_date == Y2  # type: ignore[union-attr]
    raised_2 = Y2 - timedelta(days=14)
    assert must(run(facts, raised_2 - timedelta(days=1)), "renal_function", 1).status == "open"
    ev = run(facts, raised_2)
    missed = must(ev, "renal_function", 1)
    assert (missed.status, missed.closed_on) == ("missed", raised_2)
    assert missed.reason == "Next yearly renal check raised"
    assert must(ev, "renal_function", 2).status == "open"
    assert projected(ev, "renal_function", 3).due_date == Y3  # type: ignore[union-attr]


def test_renal_check_done_by_a_person_is_not_missed() -> None:
    facts = episode(
        meds=[med("alendronate", ID)],
        tasks=[task("renal_function", 1, "done", person=True, closed_on=Y1)],
    )
    assert must(run(facts, Y2), "renal_function", 1).status == "done"


# --------------------------------------------------------- denosumab_dose --
def test_denosumab_next_dose_6_months_later_with_28_days_grace() -> None:
    facts = episode(meds=[med("denosumab", ID)])
    spec = planned(run(facts, ID), "denosumab_dose")
    assert spec is not None
    assert (spec.due_date, spec.grace_days, spec.lead_days, spec.priority) == (
        months(6),
        28,
        14,
        "routine",
    )


def test_the_next_denosumab_dose_completes_the_task() -> None:
    given = months(6) + timedelta(days=3)
    facts = episode(meds=[med("denosumab", ID), med("denosumab", given)])
    ev = run(facts, given)
    first = must(ev, "denosumab_dose", 1)
    assert (first.status, first.closed_on) == ("done", given)
    assert planned(ev, "denosumab_dose", 2).due_date == add_months(given, 6)  # type: ignore[union-attr]


def test_denosumab_stopped_raises_no_next_dose() -> None:
    facts = episode(meds=[med("denosumab", ID, stop=day(30))])
    assert "denosumab_dose" not in codes(run(facts, day(40)))


# --------------------------------------------- new_fracture_screen / falls --
def test_new_fracture_screen_at_12_months() -> None:
    ev = run(episode(), ID)
    spec = projected(ev, "new_fracture_screen_12m")
    assert spec is not None
    assert (spec.due_date, spec.priority) == (Y1, "routine")
    assert must(run(episode(), Y1 - timedelta(days=14)), "new_fracture_screen_12m").status == "open"


def test_new_fracture_screen_clamps_from_29_february() -> None:
    ev = run(episode(identified=date(2028, 2, 29)), date(2028, 2, 29))
    assert planned(ev, "new_fracture_screen_12m").due_date == date(2029, 2, 28)  # type: ignore[union-attr]


# ---------------------------------------------------- patient-level rules --
PATIENT_LEVEL = {
    "bmd_dxa",
    "calcitonin_switch",
    "calcitonin_restart",
    "bisphosphonate_duration_review",
    "renal_function",
    "denosumab_dose",
}


def test_patient_level_rules_live_on_one_episode_only() -> None:
    meds = [med("alendronate", ID), med("denosumab", ID)]
    owner = run(episode(meds=meds), Y1)
    assert {
        "bmd_dxa",
        "renal_function",
        "denosumab_dose",
        "bisphosphonate_duration_review",
    } <= codes(owner)
    other = episode(meds=meds, owns_patient_rules=False, tasks=[task("bmd_dxa", 1)])
    ev = run(other, Y1)
    assert not PATIENT_LEVEL & codes(ev)
    assert cancelled(ev)[("bmd_dxa", 1)] == (
        "No longer applies: kept on the patient's most recent open episode"
    )
    # Episode-level rules are still raised on both.
    assert "new_fracture_screen_12m" in codes(ev)
