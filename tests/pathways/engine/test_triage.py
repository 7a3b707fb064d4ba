"""Triage rules (raised at episode creation): neuro_exam, red_flag_screen, mri_initial."""

from __future__ import annotations

from datetime import date

import pytest

from tests.pathways.engine.support import (
    ID,
    cancelled,
    clear,
    day,
    decided,
    episode,
    get,
    imaging,
    mri,
    must,
    obs,
    open_tasks,
    run,
)


def test_a_new_episode_raises_the_triage_rules_on_day_0() -> None:
    ev = run(episode(neuro="unknown"), ID)
    neuro = must(ev, "neuro_exam")
    assert (neuro.due_date, neuro.priority, neuro.grace_days, neuro.lead_days) == (
        ID,
        "urgent",
        0,
        0,
    )
    assert neuro.status == "open"
    red = must(ev, "red_flag_screen")
    assert (red.due_date, red.priority, red.grace_days, red.lead_days) == (ID, "routine", 7, 14)
    scan = must(ev, "mri_initial")
    assert (scan.due_date, scan.grace_days, scan.lead_days) == (day(7), 7, 14)
    assert scan.triggers == ("no MRI recorded for this episode",)
    assert ev.phase == "triage"


# ------------------------------------------------------------ neuro_exam --
@pytest.mark.parametrize("status", ["intact", "deficit"])
def test_neuro_status_intact_or_deficit_completes_neuro_exam(status: str) -> None:
    spec = must(run(episode(neuro=status), ID), "neuro_exam")
    assert spec.status == "done"
    assert spec.closed_on == ID
    assert status in spec.reason
    assert spec.reason.startswith("Completed by fact")


def test_unknown_neuro_status_leaves_neuro_exam_open_and_overdue_next_day() -> None:
    spec = must(run(episode(neuro="unknown"), day(1)), "neuro_exam")
    assert spec.status == "open"
    # Urgent: grace 0, so the task is overdue from the day after it is due.
    assert spec.due_date == ID
    assert spec.grace_days == 0


@pytest.mark.parametrize("deficit", [False, True])
def test_a_neuro_deficit_observation_completes_neuro_exam_on_its_date(deficit: bool) -> None:
    facts = episode(neuro="unknown", observations=[obs("neuro_deficit", deficit, day(2))])
    assert must(run(facts, day(1)), "neuro_exam").status == "open"  # not yet recorded
    spec = must(run(facts, day(2)), "neuro_exam")
    assert (spec.status, spec.closed_on) == ("done", day(2))


def test_neuro_exam_cites_the_first_exam_not_a_later_follow_up() -> None:
    # Engine choice: the exam was done when first recorded; a follow-up exam
    # must not move the completion date (and the FLS time-to-exam figure).
    facts = episode(
        neuro="unknown",
        observations=[obs("neuro_deficit", False, day(1)), obs("neuro_deficit", False, day(40))],
    )
    assert must(run(facts, day(50)), "neuro_exam").closed_on == day(1)


# ------------------------------------------------------- red_flag_screen --
@pytest.mark.parametrize("suspected", [False, True])
def test_a_malignancy_screen_observation_completes_the_red_flag_screen(suspected: bool) -> None:
    # Engine choice (the spec lists no fact for it): a recorded
    # malignancy-suspected answer, true or false, is the screen's result.
    facts = episode(observations=[obs("malignancy_suspected", suspected, day(3))])
    assert must(run(facts, day(2)), "red_flag_screen").status == "open"
    spec = must(run(facts, day(3)), "red_flag_screen")
    assert (spec.status, spec.closed_on) == ("done", day(3))


def test_red_flag_screen_closed_by_a_person_is_never_overridden() -> None:
    facts = episode(
        observations=[obs("malignancy_suspected", False, day(4))],
        tasks=[decided("red_flag_screen", "clear", day(1))],
    )
    spec = must(run(facts, day(5)), "red_flag_screen")
    assert (spec.status, spec.outcome, spec.closed_on) == ("done", "clear", day(1))
    assert spec.reason == ""


# ----------------------------------------------------------- mri_initial --
def test_mri_initial_due_day_7_then_done_by_the_mri() -> None:
    facts = episode(images=[mri(day(9))])
    before = must(run(facts, day(8)), "mri_initial")
    assert (before.status, before.due_date) == ("open", day(7))
    after = must(run(facts, day(9)), "mri_initial")
    assert (after.status, after.closed_on) == ("done", day(9))
    assert "MRI performed on" in after.reason


@pytest.mark.parametrize("offset", [-3, 0])
def test_the_diagnostic_mri_recorded_after_creation_completes_mri_initial(offset: int) -> None:
    """Fixed: an MRI dated on/before identification used to cancel the task
    ("no longer applies"); the spec says an MRI completes mri_initial."""
    created = open_tasks(episode(), ID)
    later = episode(images=[mri(day(offset))], tasks=created.tasks)
    ev = run(later, day(1))
    spec = must(ev, "mri_initial")
    assert (spec.status, spec.closed_on) == ("done", day(offset))
    assert ("mri_initial", 1) not in cancelled(ev)


@pytest.mark.parametrize("modality", ["ct", "xray"])
def test_other_imaging_does_not_complete_mri_initial(modality: str) -> None:
    assert must(run(episode(images=[imaging(modality, day(1))]), day(2)), "mri_initial").status == (
        "open"
    )


def test_mri_dated_after_as_of_is_ignored_in_a_replay() -> None:
    facts = episode(images=[mri(day(5))])
    assert must(run(facts, day(4)), "mri_initial").status == "open"


# --------------------------------------------------------- triage phase --
def test_triage_until_neuro_exam_and_red_flag_screen_are_clear() -> None:
    assert run(episode(neuro="unknown", observations=[clear()]), day(1)).phase == "triage"
    assert run(episode(neuro="intact"), day(1)).phase == "triage"  # screen not recorded
    ev = run(episode(neuro="intact", observations=[clear()]), day(1))
    assert (ev.phase, ev.phase_since) == ("acute", ID)
    assert ev.phase_cause == "neuro exam and red-flag screen recorded clear"


def test_triage_is_cleared_by_a_neuro_observation_and_a_person_closed_screen() -> None:
    facts = episode(
        neuro="unknown",
        observations=[obs("neuro_deficit", False, day(1))],
        tasks=[decided("red_flag_screen", "clear", day(1))],
    )
    assert run(facts, day(2)).phase == "acute"


def test_red_flags_found_by_a_person_sends_the_episode_to_pathologic_workup() -> None:
    facts = episode(tasks=[decided("red_flag_screen", "red_flags_found", day(2))])
    ev = run(facts, day(3))
    assert (ev.phase, ev.phase_since) == ("pathologic_workup", day(2))
    assert must(ev, "malignancy_workup").due_date == day(7)


def test_a_deficit_sends_the_episode_to_the_surgical_branch_from_triage() -> None:
    ev = run(episode(neuro="deficit"), ID)
    assert ev.phase == "surgical"
    assert must(ev, "surgical_consult_urgent").priority == "urgent"


def test_triage_stays_triage_past_day_28_until_cleared() -> None:
    # Engine choice: acute -> conservative needs the triage cleared first;
    # an uncleared episode stays in triage (until the 3-month review falls due).
    ev = run(episode(neuro="unknown"), day(40))
    assert ev.phase == "triage"


def test_back_dated_episode_shows_passed_triage_tasks_with_original_dates() -> None:
    """Creating an episode whose dates lie in the past: tasks whose dates
    have passed appear at once with their original due dates."""
    identified = date(2026, 10, 1)
    ev = run(episode(identified=identified, neuro="unknown"), date(2026, 10, 20))
    assert must(ev, "neuro_exam").due_date == identified
    assert must(ev, "mri_initial").due_date == date(2026, 10, 8)
    assert must(ev, "pain_review_3w").due_date == date(2026, 10, 22)
    assert all(t.status == "open" for t in ev.tasks if t.rule in {"neuro_exam", "mri_initial"})
    assert get(ev, "augmentation_review_3m") is None  # still projected
