"""next_review: the earliest date after as_of on which the evaluation can
change with no new fact (the sweep only touches episodes due for review)."""

from __future__ import annotations

from datetime import date, timedelta

from pathways.engine import Evaluation
from pathways.engine.dates import add_months
from tests.pathways.engine.support import (
    ID,
    clear,
    day,
    decided,
    episode,
    med,
    obs,
    open_tasks,
    run,
)


def first_change(facts: object, as_of: date, horizon: int = 800) -> date | None:
    """Brute force: the first later day whose evaluation differs."""
    base = run(facts, as_of)  # type: ignore[arg-type]

    def view(ev: Evaluation) -> tuple[object, ...]:
        return (
            ev.phase,
            ev.phase_cause,
            ev.phase_since,
            ev.tasks,
            ev.projected,
            ev.cancel,
            ev.flags,
        )

    for n in range(1, horizon):
        if view(run(facts, as_of + timedelta(days=n))) != view(base):  # type: ignore[arg-type]
            return as_of + timedelta(days=n)
    return None


def test_a_new_episode_is_reviewed_when_calcitonin_is_missed_then_the_pain_review() -> None:
    facts = episode(observations=[clear()])  # onset == identified
    ev = run(facts, ID)
    # calcitonin_start is missed on onset + 6 ...
    assert ev.next_review == day(6)
    assert first_change(facts, ID) == day(6)
    # ... then pain_review_3w (day 21) becomes visible 14 days ahead, on day 7.
    assert run(facts, day(6)).next_review == day(7)
    late = episode(onset=day(-10), observations=[clear()])  # no calcitonin window
    assert run(late, ID).next_review == day(7)


def test_calcitonin_window_end_is_a_review_date() -> None:
    facts = open_tasks(episode(onset=ID, observations=[clear()]), ID)
    ev = run(facts, day(6) - timedelta(days=1))
    assert ev.next_review == day(6)  # the task is missed on onset + 6


def test_next_review_steps_through_the_pathway() -> None:
    facts = episode(observations=[clear()])
    seen = []
    as_of = ID
    while True:
        ev = run(facts, as_of)
        if ev.next_review is None:
            break
        assert ev.next_review > as_of
        assert first_change(facts, as_of, horizon=(ev.next_review - as_of).days) is None
        seen.append(ev.next_review)
        as_of = ev.next_review
    three = add_months(ID, 3)
    twelve = add_months(ID, 12)
    for expected in (
        day(6),
        day(7),
        day(28),
        three - timedelta(days=14),
        three,
        twelve - timedelta(days=14),
        twelve,
    ):
        assert expected in seen, expected
    assert seen[-1] == twelve  # nothing changes by time alone after the expiry


def test_a_person_closed_review_in_bone_health_needs_no_further_review() -> None:
    facts = episode(
        observations=[clear(), obs("pain_nrs", 3, day(22))],
        tasks=[decided("augmentation_review_3m", "resolved", add_months(ID, 3))],
    )
    ev = run(facts, add_months(ID, 13))
    assert ev.phase == "bone_health"
    assert ev.next_review is None


def test_a_medication_stop_date_ahead_is_a_review_date() -> None:
    """Fixed: a drug is active until its stop date; without that date the
    DXA task stayed open past the end of treatment until another review."""
    stop = add_months(ID, 14)
    facts = episode(observations=[clear()], meds=[med("alendronate", ID, stop=stop)])
    ev = run(facts, add_months(ID, 13))
    assert ev.next_review is not None
    assert ev.next_review <= stop
    assert first_change(facts, add_months(ID, 13)) is not None


def test_long_term_calcitonin_becomes_treatment_on_day_28() -> None:
    """Fixed: the 28-day mark of open-ended calcitonin was not watched."""
    facts = episode(onset=ID, observations=[clear()], meds=[med("calcitonin", ID)])
    ev = run(facts, day(25))
    assert ev.next_review is not None
    assert ev.next_review <= day(28)


def test_a_closed_episode_has_no_review() -> None:
    ev = run(episode(status="closed", close_reason="deceased", closed_on=day(3)), day(4))
    assert ev.next_review is None


def test_the_day_the_next_yearly_renal_check_joins_the_plan_is_a_review_date() -> None:
    # A bisphosphonate course since 27 Feb 2026: the first yearly renal check
    # is due 27 Feb 2027 and raised 14 days ahead, on 13 Feb. That day the
    # planner adds the second check to the plan, so the evaluation changes
    # then and the planner must watch the day (a case Hypothesis found where
    # nothing else watched it: the sweep looked again a day late).
    from pathways.engine.context import Context
    from pathways.engine.v1.bone_health import RENAL_FUNCTION

    facts = episode(
        identified=date(2026, 11, 30),
        observations=[clear()],
        meds=[med("alendronate", date(2026, 2, 27))],
    )
    ctx = Context(facts, date(2027, 2, 1))
    plan = RENAL_FUNCTION.planner(ctx, RENAL_FUNCTION)
    assert [p.occurrence for p in plan.occurrences] == [1]
    assert ctx.next_review() == date(2027, 2, 13)
    later = RENAL_FUNCTION.planner(Context(facts, date(2027, 2, 13)), RENAL_FUNCTION)
    assert [p.occurrence for p in later.occurrences] == [1, 2]
