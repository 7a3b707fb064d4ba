"""Augmentation: the 3-month review, the early triggers and the repeat MRI."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pathways.engine.dates import add_months
from tests.pathways.engine.support import (
    ID,
    RULESET,
    clear,
    codes,
    day,
    decided,
    episode,
    get,
    imaging,
    med,
    mri,
    must,
    obs,
    planned,
    proc,
    projected,
    run,
)

THREE = add_months(ID, 3)


# ------------------------------------------------- augmentation_review_3m --
def test_three_month_review_projected_then_raised_14_days_ahead() -> None:
    facts = episode(observations=[clear()])
    ev = run(facts, ID)
    spec = projected(ev, "augmentation_review_3m")
    assert spec is not None
    assert spec.due_date == THREE
    assert spec.visible_from == THREE - timedelta(days=14)
    assert get(run(facts, THREE - timedelta(days=15)), "augmentation_review_3m") is None
    raised = must(run(facts, THREE - timedelta(days=14)), "augmentation_review_3m")
    assert (raised.status, raised.priority, raised.grace_days) == ("open", "routine", 7)
    assert raised.triggers[0] == "still in conservative management at 3 months"


@pytest.mark.parametrize(
    ("identified", "due"),
    [
        (date(2026, 11, 30), date(2027, 2, 28)),
        (date(2027, 11, 30), date(2028, 2, 29)),
        (date(2026, 10, 31), date(2027, 1, 31)),
        (date(2026, 5, 31), date(2026, 8, 31)),
        (date(2026, 3, 31), date(2026, 6, 30)),
    ],
)
def test_three_month_review_due_date_clamps_to_month_end(identified: date, due: date) -> None:
    ev = run(episode(identified=identified), identified)
    assert planned(ev, "augmentation_review_3m").due_date == due  # type: ignore[union-attr]


def test_three_month_review_lists_the_indications_it_found() -> None:
    facts = episode(
        observations=[
            obs("pain_nrs", 8, day(80)),
            obs("parenteral_narcotics", True, day(70)),
        ]
    )
    triggers = must(run(facts, THREE), "augmentation_review_3m").triggers
    assert f"latest pain NRS 8 on {day(80)}" in triggers
    assert "parenteral narcotics" in triggers


@pytest.mark.parametrize("kind", ["vertebroplasty", "kyphoplasty", "surgery"])
def test_no_three_month_review_after_an_early_procedure(kind: str) -> None:
    facts = episode(procedures=[proc(kind, day(40))])
    assert "augmentation_review_3m" not in codes(run(facts, THREE))


def test_a_procedure_on_the_3_month_date_keeps_the_review() -> None:
    facts = episode(procedures=[proc("kyphoplasty", THREE)])
    assert "augmentation_review_3m" in codes(run(facts, THREE))


def test_three_month_review_has_the_three_outcomes_and_the_controversy() -> None:
    rule = RULESET.get("augmentation_review_3m")
    assert rule.outcomes == ("offer_augmentation", "continue_conservative", "resolved")
    assert "AAOS" in rule.guidance
    assert "ACR" in rule.guidance
    assert "SNIS" in rule.guidance
    assert rule.seed_refs == ("000", "001", "002", "003", "004")


# -------------------------------------------- augmentation_consider_early --
@pytest.mark.parametrize(
    ("kind", "below", "at"),
    [
        ("kyphosis_pct", 14.9, 15.0),
        ("scoliosis_pct", 9.9, 10.0),
        ("dorsal_wall_loss_pct", 9.9, 10.0),
        ("height_loss_pct", 19.9, 20.0),
    ],
)
def test_early_augmentation_deformity_thresholds_both_sides(
    kind: str, below: float, at: float
) -> None:
    under = run(episode(observations=[clear(), obs(kind, below, day(10))]), day(10))
    assert "augmentation_consider_early" not in codes(under)
    assert under.phase == "acute"
    ev = run(episode(observations=[clear(), obs(kind, at, day(10))]), day(10))
    spec = must(ev, "augmentation_consider_early")
    assert (spec.due_date, spec.priority, spec.status, spec.grace_days) == (
        day(10),
        "high",
        "open",
        7,
    )
    assert f">= {at:g} %" in spec.triggers[0]
    assert (ev.phase, ev.phase_since) == ("augmentation_review", day(10))


@pytest.mark.parametrize(
    "kind",
    [
        "pulmonary_dysfunction",
        "parenteral_narcotics",
        "hospital_admission",
        "pain_med_contraindication",
        "worsening_symptoms",
    ],
)
def test_early_augmentation_flags(kind: str) -> None:
    ev = run(episode(observations=[clear(), obs(kind, True, day(12))]), day(12))
    assert must(ev, "augmentation_consider_early").due_date == day(12)
    off = run(episode(observations=[clear(), obs(kind, False, day(12))]), day(12))
    assert "augmentation_consider_early" not in codes(off)


@pytest.mark.parametrize(
    ("rise", "analgesic", "raised"),
    [(2, True, True), (1.5, True, False), (3, False, False), (4, True, True)],
)
def test_worsening_pain_despite_analgesics(rise: float, analgesic: bool, raised: bool) -> None:
    # Engine choice: a rise of >= 2 NRS points (the usual minimal clinically
    # important change) while an analgesic is active.
    meds = [med("nsaid", day(1))] if analgesic else []
    facts = episode(
        observations=[clear(), obs("pain_nrs", 5, day(5)), obs("pain_nrs", 5 + rise, day(15))],
        meds=meds,
    )
    ev = run(facts, day(15))
    assert ("augmentation_consider_early" in codes(ev)) is raised
    if raised:
        assert "despite analgesics" in must(ev, "augmentation_consider_early").triggers[0]


def test_early_trigger_on_or_after_3_months_is_left_to_the_3_month_review() -> None:
    late = run(episode(observations=[clear(), obs("pulmonary_dysfunction", True, THREE)]), THREE)
    assert "augmentation_consider_early" not in codes(late)
    just = THREE - timedelta(days=1)
    ok = run(episode(observations=[clear(), obs("pulmonary_dysfunction", True, just)]), just)
    assert must(ok, "augmentation_consider_early").due_date == just


def test_early_augmentation_not_raised_once_augmentation_was_done() -> None:
    facts = episode(
        observations=[clear(), obs("kyphosis_pct", 20, day(5))],
        procedures=[proc("vertebroplasty", day(20))],
    )
    ev = run(facts, day(21))
    assert "augmentation_consider_early" not in codes(ev)
    assert (ev.phase, ev.phase_since) == ("bone_health", day(20))


def test_early_augmentation_declined_returns_the_episode_to_conservative_care() -> None:
    facts = episode(
        observations=[clear(), obs("hospital_admission", True, day(5))],
        tasks=[decided("augmentation_consider_early", "continue_conservative", day(6))],
    )
    assert run(facts, day(7)).phase == "acute"
    assert run(facts, day(28)).phase == "conservative"


# ------------------------------------------------------------- repeat_mri --
def test_repeat_mri_on_changed_symptoms_without_imaging() -> None:
    facts = episode(observations=[clear(), obs("symptoms_changed", True, day(50))])
    spec = must(run(facts, day(50)), "repeat_mri")
    assert (spec.due_date, spec.status, spec.priority) == (day(57), "open", "routine")
    assert "no spine imaging" in spec.triggers[0]


def test_repeat_mri_imaging_exactly_3_months_old_is_recent_enough() -> None:
    symptom = add_months(day(10), 3)
    recent = episode(
        images=[imaging("xray", day(10))], observations=[obs("symptoms_changed", True, symptom)]
    )
    assert "repeat_mri" not in codes(run(recent, symptom))
    older = episode(
        images=[imaging("xray", day(10))],
        observations=[obs("symptoms_changed", True, symptom + timedelta(days=1))],
    )
    ev = run(older, symptom + timedelta(days=1))
    assert must(ev, "repeat_mri").due_date == symptom + timedelta(days=8)
    assert f"last spine imaging {day(10)}" in must(ev, "repeat_mri").triggers[0]


def test_repeat_mri_done_by_an_mri_after_the_trigger_only() -> None:
    trigger = obs("worsening_symptoms", True, day(200))
    stale = episode(observations=[trigger], images=[mri(day(2))])
    assert must(run(stale, day(205)), "repeat_mri").status == "open"
    done = episode(observations=[trigger], images=[mri(day(2)), mri(day(204))])
    spec = must(run(done, day(205)), "repeat_mri")
    assert (spec.status, spec.closed_on) == ("done", day(204))


def test_repeat_mri_before_an_augmentation_referral_with_an_old_mri() -> None:
    offered = THREE + timedelta(days=10)
    facts = episode(
        images=[mri(day(3))],
        tasks=[decided("augmentation_review_3m", "offer_augmentation", offered)],
    )
    spec = must(run(facts, offered), "repeat_mri")
    assert spec.due_date == offered + timedelta(days=7)
    assert "augmentation offered" in spec.triggers[0]
    # A recent MRI (within 3 months) needs no repeat.
    recent = episode(
        images=[mri(day(60))],
        tasks=[decided("augmentation_review_3m", "offer_augmentation", offered)],
    )
    assert "repeat_mri" not in codes(run(recent, offered))


def test_repeat_mri_one_occurrence_per_trigger() -> None:
    facts = episode(
        observations=[
            obs("symptoms_changed", True, day(100)),
            obs("worsening_symptoms", True, day(300)),
        ],
        images=[mri(day(101))],
    )
    ev = run(facts, day(300))
    assert must(ev, "repeat_mri", 1).status == "done"
    second = must(ev, "repeat_mri", 2)
    assert (second.status, second.due_date) == ("open", day(307))


def test_repeat_mri_does_not_expire_at_12_months() -> None:
    # Engine choice: tied to its own record date, a new-fracture concern
    # years later still asks for an MRI (seeds 000/003).
    late = add_months(ID, 20)
    facts = episode(observations=[obs("symptoms_changed", True, late)])
    assert must(run(facts, late), "repeat_mri").status == "open"
