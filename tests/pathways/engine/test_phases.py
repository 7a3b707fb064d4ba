"""Phases and their transitions, closed episodes, and auto-completion wiring."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pathways.engine.dates import add_months
from tests.pathways.engine.support import (
    ID,
    cancelled,
    clear,
    day,
    decided,
    episode,
    med,
    mri,
    obs,
    open_tasks,
    proc,
    run,
    task,
)

THREE = add_months(ID, 3)
TWELVE = add_months(ID, 12)
CLEAR = [clear()]


def test_acute_until_day_27_conservative_from_day_28() -> None:
    facts = episode(observations=CLEAR)
    assert run(facts, day(27)).phase == "acute"
    ev = run(facts, day(28))
    assert (ev.phase, ev.phase_since, ev.phase_cause) == (
        "conservative",
        day(28),
        "day 28 of conservative management",
    )


def test_augmentation_review_when_the_3_month_review_falls_due() -> None:
    facts = episode(observations=CLEAR)
    assert run(facts, THREE - timedelta(days=1)).phase == "conservative"
    ev = run(facts, THREE)
    assert (ev.phase, ev.phase_since, ev.phase_cause) == (
        "augmentation_review",
        THREE,
        "3-month review due",
    )


@pytest.mark.parametrize("outcome", ["continue_conservative", "resolved"])
def test_bone_health_when_the_review_is_closed_with_an_outcome(outcome: str) -> None:
    closed = THREE + timedelta(days=4)
    facts = episode(observations=CLEAR, tasks=[decided("augmentation_review_3m", outcome, closed)])
    ev = run(facts, closed + timedelta(days=1))
    assert (ev.phase, ev.phase_since) == ("bone_health", closed)
    assert ev.phase_cause == f"3-month review closed: {outcome}"


def test_review_marked_not_applicable_by_a_person_moves_to_bone_health() -> None:
    facts = episode(
        observations=CLEAR,
        tasks=[task("augmentation_review_3m", 1, "not_applicable", person=True, closed_on=THREE)],
    )
    assert run(facts, THREE).phase == "bone_health"


def test_augmentation_offered_waits_for_the_procedure_then_bone_health() -> None:
    closed = THREE + timedelta(days=2)
    done = THREE + timedelta(days=30)
    review = decided("augmentation_review_3m", "offer_augmentation", closed)
    waiting = episode(observations=CLEAR, tasks=[review])
    ev = run(waiting, closed + timedelta(days=10))
    assert (ev.phase, ev.phase_since) == ("augmentation_review", closed)
    assert "awaiting the procedure" in ev.phase_cause
    after = episode(observations=CLEAR, tasks=[review], procedures=[proc("kyphoplasty", done)])
    ev = run(after, done)
    assert (ev.phase, ev.phase_since) == ("bone_health", done)
    assert ev.phase_cause == f"kyphoplasty performed on {done}"


def test_offered_augmentation_never_done_reaches_bone_health_at_12_months() -> None:
    # Engine choice: the acute/conservative rules expire at 12 months, and
    # the episode then stands in long-term secondary prevention.
    review = decided("augmentation_review_3m", "offer_augmentation", THREE)
    facts = episode(observations=CLEAR, tasks=[review])
    assert run(facts, TWELVE - timedelta(days=1)).phase == "augmentation_review"
    ev = run(facts, TWELVE)
    assert (ev.phase, ev.phase_since) == ("bone_health", TWELVE)


def test_an_early_trigger_moves_to_augmentation_review_before_3_months() -> None:
    facts = episode(observations=[*CLEAR, obs("parenteral_narcotics", True, day(9))])
    assert run(facts, day(8)).phase == "acute"
    ev = run(facts, day(9))
    assert (ev.phase, ev.phase_since) == ("augmentation_review", day(9))
    assert ev.phase_cause.startswith("early trigger: parenteral narcotics")


def test_early_augmentation_offered_and_done_goes_to_bone_health() -> None:
    facts = episode(
        observations=[*CLEAR, obs("kyphosis_pct", 18, day(9))],
        tasks=[decided("augmentation_consider_early", "offer_augmentation", day(10))],
        procedures=[proc("vertebroplasty", day(20))],
    )
    assert run(facts, day(15)).phase == "augmentation_review"
    assert run(facts, day(20)).phase == "bone_health"


def test_the_triage_phase_is_left_from_identification() -> None:
    # Engine choice: the acute phase counts from identification ("acute (days
    # 0-28)"), whenever the triage was cleared.
    facts = episode(
        neuro="unknown", observations=[obs("neuro_deficit", False, day(3)), clear(day(4))]
    )
    assert run(facts, day(3)).phase == "triage"
    ev = run(facts, day(4))
    assert (ev.phase, ev.phase_since) == ("acute", ID)


# ---------------------------------------------------------------- closed --
@pytest.mark.parametrize("reason", ["discharged", "transferred", "deceased", "lost_to_follow_up"])
def test_a_closed_episode_raises_nothing_and_cancels_open_tasks(reason: str) -> None:
    stored = open_tasks(episode(observations=CLEAR, meds=[med("alendronate", ID)]), day(30))
    facts = episode(
        observations=CLEAR,
        meds=[med("alendronate", ID)],
        tasks=[*stored.tasks, decided("red_flag_screen", "clear", ID)],
        status="closed",
        close_reason=reason,
        closed_on=day(31),
    )
    ev = run(facts, day(400))
    assert ev.tasks == ()
    assert ev.projected == ()
    assert ev.next_review is None
    assert (ev.phase, ev.phase_since) == ("closed", day(31))
    assert ev.phase_cause == f"closed by a person: {reason.replace('_', ' ')}"
    reasons = cancelled(ev)
    open_keys = {(t.rule, t.occurrence) for t in stored.tasks if t.status == "open"}
    assert set(reasons) == open_keys
    assert open_keys
    assert all(r == f"Episode closed: {reason.replace('_', ' ')}" for r in reasons.values())


# ------------------------------------------------- person-closed tasks --
def test_person_closed_tasks_are_never_overridden_by_facts() -> None:
    """A person marked the MRI not applicable; an MRI recorded later does not
    turn it into done, and a missed window does not turn a done into missed."""
    facts = episode(
        onset=ID,
        images=[mri(day(3))],
        tasks=[
            task("mri_initial", 1, "not_applicable", person=True, closed_on=day(1)),
            task("calcitonin_start", 1, "done", person=True, closed_on=day(2)),
        ],
    )
    ev = run(facts, day(30))
    by_rule = {t.rule: t for t in ev.tasks}
    assert by_rule["mri_initial"].status == "not_applicable"
    assert by_rule["calcitonin_start"].status == "done"
    assert by_rule["calcitonin_start"].closed_on == day(2)
    assert not cancelled(ev)
