"""Historical episodes (recorded > 12 months after identification), the
12-month expiry, replays (facts dated after as_of) and back-dated facts."""

from __future__ import annotations

from datetime import date, timedelta

from pathways.engine.dates import add_months
from tests.pathways.engine.support import (
    ID,
    RULESET,
    cancelled,
    clear,
    codes,
    day,
    episode,
    get,
    med,
    mri,
    must,
    obs,
    open_tasks,
    persist,
    run,
)

TWELVE = add_months(ID, 12)
EXPIRING = {r.code for r in RULESET.rules if r.expires_at_12_months}
ACUTE_AND_CONSERVATIVE = {
    "calcitonin_start",
    "calcitonin_stop",
    "osteoporosis_rx_start",
    "calcium_vitamin_d",
    "mobilisation",
    "opioid_review",
    "pain_review_3w",
    "nerve_root_block_consider",
    "augmentation_review_3m",
    "augmentation_consider_early",
}


def test_the_expiring_rules_are_the_acute_conservative_and_triage_rules() -> None:
    # Spec: "the acute and conservative rules expire 12 months after
    # identification". Engine choice: the triage rules expire too (an import
    # of old records must not flood the worklist with a years-overdue urgent
    # neuro exam); repeat_mri is tied to its own record date and does not.
    assert EXPIRING == ACUTE_AND_CONSERVATIVE | {"neuro_exam", "red_flag_screen", "mri_initial"}


def _historical(**kw: object) -> tuple[date, object]:
    recorded = TWELVE + timedelta(days=40)
    facts = episode(onset=ID, neuro="unknown", recorded_on=recorded, **kw)  # type: ignore[arg-type]
    return recorded, run(facts, recorded)


def test_a_historical_episode_starts_in_bone_health_with_expired_tasks_missed() -> None:
    recorded, ev = _historical(levels=("L3",), observations=[obs("pain_nrs", 8, day(30))])
    assert ev.phase == "bone_health"  # type: ignore[attr-defined]
    assert "historical" in ev.flags  # type: ignore[attr-defined]
    by_rule = {t.rule: t for t in ev.tasks}  # type: ignore[attr-defined]
    for code in (
        "neuro_exam",
        "red_flag_screen",
        "mri_initial",
        "osteoporosis_rx_start",
        "calcium_vitamin_d",
        "mobilisation",
        "nerve_root_block_consider",
        "augmentation_review_3m",
    ):
        assert by_rule[code].status == "missed", code
    assert by_rule["mobilisation"].reason == f"Expired 12 months after identification ({TWELVE})"
    assert by_rule["mobilisation"].closed_on == TWELVE
    # The day-30 pain score did the 3-week review; calcitonin's window closed.
    assert by_rule["pain_review_3w"].status == "done"
    assert by_rule["calcitonin_start"].status == "missed"
    assert by_rule["calcitonin_start"].closed_on == day(6)
    # Original due dates are kept.
    assert by_rule["augmentation_review_3m"].due_date == add_months(ID, 3)


def test_a_historical_episode_keeps_the_long_term_rules_open() -> None:
    _recorded, ev = _historical(meds=[med("alendronate", day(2))])
    by_rule = {t.rule: t for t in ev.tasks}  # type: ignore[attr-defined]
    # Without a pain score the 3-week review was superseded at 3 months.
    assert by_rule["pain_review_3w"].status == "missed"
    assert by_rule["pain_review_3w"].closed_on == add_months(ID, 3)
    # Spec: only the acute and conservative rules expire.
    assert by_rule["falls_prevention"].status == "open"
    assert by_rule["new_fracture_screen_12m"].status == "open"
    assert by_rule["bmd_dxa"].status == "open"
    assert by_rule["osteoporosis_rx_start"].status == "done"  # the drug start completed it


def test_facts_imported_later_complete_the_expired_tasks_they_did() -> None:
    recorded = TWELVE + timedelta(days=40)
    stored = open_tasks(episode(recorded_on=recorded, neuro="unknown"), recorded)
    assert must(run(stored, recorded), "mri_initial").status == "missed"
    imported = episode(
        recorded_on=recorded, neuro="unknown", images=[mri(day(2))], tasks=stored.tasks
    )
    spec = must(run(imported, recorded + timedelta(days=1)), "mri_initial")
    assert (spec.status, spec.closed_on) == ("done", day(2))


def test_recorded_exactly_12_months_later_is_not_flagged_historical() -> None:
    # Engine choice: "more than 12 months" is strict; the expiry itself is
    # reached on the 12-month date either way.
    ev = run(episode(recorded_on=TWELVE), TWELVE)
    assert "historical" not in ev.flags
    assert ev.phase == "bone_health"
    assert must(ev, "mobilisation").status == "missed"
    late = run(episode(recorded_on=TWELVE + timedelta(days=1)), TWELVE + timedelta(days=1))
    assert "historical" in late.flags


def test_expiry_on_the_12_month_date_not_the_day_before() -> None:
    facts = episode(observations=[clear()])
    assert must(run(facts, TWELVE - timedelta(days=1)), "mobilisation").status == "open"
    assert must(run(facts, TWELVE), "mobilisation").status == "missed"


def test_an_expired_rule_raises_nothing_new_after_12_months() -> None:
    """Fixed: an opioid started in year 2 raised an opioid review already
    `missed` -- work nobody expected, counted as missed."""
    later = TWELVE + timedelta(days=100)
    facts = episode(
        levels=("L3",),
        observations=[clear(), obs("pain_nrs", 9, later)],
        meds=[med("opioid", later), med("calcitonin", later)],
    )
    ev = run(facts, later + timedelta(days=30))
    assert "opioid_review" not in codes(ev)
    assert "nerve_root_block_consider" not in codes(ev)
    assert "calcitonin_stop" not in codes(ev)


def test_a_task_raised_before_the_expiry_is_missed_at_the_expiry() -> None:
    start = TWELVE - timedelta(days=3)
    facts = episode(observations=[clear()], meds=[med("opioid", start)])
    assert must(run(facts, start), "opioid_review").status == "open"
    spec = must(run(facts, start + timedelta(days=10)), "opioid_review")
    assert (spec.status, spec.closed_on) == ("missed", TWELVE)


def test_an_expired_open_task_is_cancelled_with_the_reason_if_it_exists() -> None:
    later = TWELVE + timedelta(days=100)
    facts = episode(observations=[clear()], meds=[med("opioid", later)])
    stored = persist(facts, run(facts, later))
    from dataclasses import replace

    from pathways.engine import ExistingTask

    rogue = replace(stored, tasks=(*stored.tasks, ExistingTask("opioid_review", 1, "open")))
    reason = cancelled(run(rogue, later))[("opioid_review", 1)]
    assert reason == f"No longer applies: expired 12 months after identification ({TWELVE})"


# ------------------------------------------------------------ replays --
def test_facts_dated_after_as_of_are_ignored() -> None:
    facts = episode(
        observations=[clear(), obs("instability", True, day(10))],
        images=[mri(day(8))],
        meds=[med("alendronate", day(9))],
    )
    ev = run(facts, day(7))
    assert ev.phase == "acute"
    assert "surgical_consult_urgent" not in codes(ev)
    assert must(ev, "mri_initial").status == "open"
    assert must(ev, "osteoporosis_rx_start").status == "open"
    # ... and the evaluation is looked at again on the first of those dates.
    assert ev.next_review == day(8)
    # Replaying on a later date sees them.
    ev = run(facts, day(10))
    assert ev.phase == "surgical"
    assert must(ev, "mri_initial").status == "done"


def test_replay_equals_evaluating_only_the_facts_known_then() -> None:
    full = episode(
        observations=[clear(), obs("pain_nrs", 8, day(30)), obs("kyphosis_pct", 16, day(50))],
        meds=[med("opioid", day(5)), med("alendronate", day(40))],
        levels=("L4",),
    )
    known = episode(
        observations=[clear(), obs("pain_nrs", 8, day(30))],
        meds=[med("opioid", day(5))],
        levels=("L4",),
    )
    a, b = run(full, day(35)), run(known, day(35))
    assert (a.phase, a.tasks, a.projected, a.cancel) == (b.phase, b.tasks, b.projected, b.cancel)


# ---------------------------------------------------- back-dated facts --
def test_a_back_dated_fact_is_honoured_by_its_own_date() -> None:
    # A pain score typed on day 40 but taken on day 22 completes the 3-week
    # review on day 22; an instability flag dated day 5 dates the consult.
    facts = episode(
        observations=[clear(), obs("pain_nrs", 3, day(22)), obs("instability", True, day(5))]
    )
    ev = run(facts, day(40))
    assert must(ev, "pain_review_3w").closed_on == day(22)
    assert must(ev, "surgical_consult_urgent").due_date == day(5)


def test_an_open_task_stays_raised_when_a_back_dated_fact_moves_it_later() -> None:
    """Fixed: a raised task whose due date moved beyond the lead time was
    returned as merely projected, so the service left the stored row with
    its stale due date."""
    first = episode(onset=ID, meds=[med("calcitonin", day(1))])
    stored = open_tasks(first, day(16))
    assert must(run(stored, day(16)), "calcitonin_stop").due_date == day(29)
    corrected = episode(onset=ID, meds=[med("calcitonin", day(5))], tasks=stored.tasks)
    ev = run(corrected, day(17))
    spec = must(ev, "calcitonin_stop")
    assert (spec.due_date, spec.status) == (day(33), "open")
    assert get(ev, "calcitonin_stop") is not None
    assert not cancelled(ev)
