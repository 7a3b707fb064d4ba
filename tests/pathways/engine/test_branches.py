"""Branch rules: surgical consults, malignancy work-up, oncology MDT, and the
suppression of the conservative rules while in a branch."""

from __future__ import annotations

import pytest

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
    mri,
    must,
    obs,
    open_tasks,
    planned,
    proc,
    run,
    task,
)

URGENT_KINDS = ["neuro_deficit", "instability", "canal_compromise", "neuro_deterioration"]
SUPPRESSED = {
    "calcitonin_start",
    "calcitonin_stop",
    "augmentation_review_3m",
    "augmentation_consider_early",
    "nerve_root_block_consider",
}


# ------------------------------------------------ surgical_consult_urgent --
@pytest.mark.parametrize("kind", URGENT_KINDS)
def test_urgent_consult_raised_immediately_on_each_trigger(kind: str) -> None:
    facts = episode(observations=[clear(), obs(kind, True, day(10))])
    assert get(run(facts, day(9)), "surgical_consult_urgent") is None
    ev = run(facts, day(10))
    spec = must(ev, "surgical_consult_urgent")
    assert (spec.due_date, spec.priority, spec.grace_days, spec.lead_days) == (
        day(10),
        "urgent",
        0,
        0,
    )
    assert spec.status == "open"
    assert kind.replace("_", " ") in spec.triggers[0]
    assert (ev.phase, ev.phase_since) == ("surgical", day(10))


@pytest.mark.parametrize("kind", URGENT_KINDS)
def test_a_false_flag_raises_no_urgent_consult(kind: str) -> None:
    ev = run(episode(observations=[clear(), obs(kind, False, day(3))]), day(5))
    assert "surgical_consult_urgent" not in codes(ev)
    assert ev.phase == "acute"


def test_a_deficit_on_examination_raises_the_consult_at_identification() -> None:
    ev = run(episode(neuro="deficit"), day(3))
    spec = must(ev, "surgical_consult_urgent")
    assert spec.due_date == ID
    assert spec.triggers == ("neurological deficit on examination",)


def test_a_flag_cleared_later_cancels_the_open_consult_with_a_reason() -> None:
    base = episode(observations=[clear(), obs("instability", True, day(2))])
    stored = open_tasks(base, day(2))
    later = episode(
        observations=[*base.observations, obs("instability", False, day(6))],
        tasks=stored.tasks,
    )
    ev = run(later, day(6))
    assert get(ev, "surgical_consult_urgent") is None
    reason = cancelled(ev)[("surgical_consult_urgent", 1)]
    assert reason.startswith("No longer applies")
    assert "instability" in reason
    assert ev.phase == "acute"


def test_a_person_closed_consult_is_not_cancelled_when_the_flag_clears() -> None:
    facts = episode(
        observations=[clear(), obs("instability", True, day(2)), obs("instability", False, day(6))],
        tasks=[decided("surgical_consult_urgent", "surgery_not_indicated", day(3))],
    )
    assert ("surgical_consult_urgent", 1) not in cancelled(run(facts, day(7)))


def test_new_deterioration_after_a_closed_consult_raises_a_second_consult() -> None:
    # "progressive neurological deterioration demands urgent decompression
    # regardless of fracture age" (seed 000): a new true run after the consult.
    facts = episode(
        observations=[
            clear(),
            obs("neuro_deterioration", True, day(2)),
            obs("neuro_deterioration", False, day(20)),
            obs("neuro_deterioration", True, day(200)),
        ],
        tasks=[decided("surgical_consult_urgent", "surgery_not_indicated", day(3))],
    )
    ev = run(facts, day(200))
    second = must(ev, "surgical_consult_urgent", 2)
    assert (second.due_date, second.status, second.priority) == (day(200), "open", "urgent")
    assert must(ev, "surgical_consult_urgent", 1).outcome == "surgery_not_indicated"


def test_surgery_after_the_trigger_ends_the_surgical_branch() -> None:
    facts = episode(
        observations=[clear(), obs("canal_compromise", True, day(1))],
        procedures=[proc("surgery", day(4))],
    )
    assert run(facts, day(3)).phase == "surgical"
    ev = run(facts, day(4))
    assert (ev.phase, ev.phase_since) == ("bone_health", day(4))
    assert ev.phase_cause == f"surgery performed on {day(4)}"


# ------------------------------------------------------- surgical_consult --
@pytest.mark.parametrize(
    ("kind", "below", "at"),
    [("kyphosis_pct", 14.9, 15.0), ("height_loss_pct", 19.9, 20.0)],
)
def test_deformity_consult_threshold_on_both_sides(kind: str, below: float, at: float) -> None:
    under = run(episode(observations=[clear(), obs(kind, below, day(5))]), day(5))
    assert "surgical_consult" not in codes(under)
    ev = run(episode(observations=[clear(), obs(kind, at, day(5))]), day(5))
    spec = must(ev, "surgical_consult")
    assert (spec.due_date, spec.priority, spec.grace_days, spec.status) == (
        day(5),
        "high",
        7,
        "open",
    )
    assert ">=" in spec.triggers[0]
    # Deformity is not a branch: conservative rules stay raised.
    assert ev.phase == "augmentation_review"  # the early-augmentation trigger (seed 001)
    assert planned(ev, "augmentation_review_3m") is not None


def test_deformity_consult_cites_the_first_measurement_over_the_threshold() -> None:
    # Engine choice (context.first_at_least): due at the first measurement at
    # or over the threshold, raised while the latest still is.
    facts = episode(
        observations=[clear(), obs("kyphosis_pct", 16, day(3)), obs("kyphosis_pct", 18, day(9))]
    )
    assert must(run(facts, day(10)), "surgical_consult").due_date == day(3)


def test_deformity_measured_back_below_the_threshold_withdraws_the_consult() -> None:
    facts = episode(
        observations=[
            clear(),
            obs("height_loss_pct", 22, day(3)),
            obs("height_loss_pct", 19.9, day(9)),
        ]
    )
    assert "surgical_consult" not in codes(run(facts, day(10)))


# ------------------------------------------------------ malignancy_workup --
def test_suspected_etiology_raises_the_workup_on_day_7_and_the_branch() -> None:
    ev = run(episode(etiology="pathologic_suspected"), ID)
    spec = must(ev, "malignancy_workup")
    assert (spec.due_date, spec.priority, spec.grace_days, spec.lead_days) == (
        day(7),
        "high",
        7,
        14,
    )
    assert (ev.phase, ev.phase_since) == ("pathologic_workup", ID)


def test_workup_is_due_on_day_7_when_suspected_during_the_first_week() -> None:
    """Fixed: "Day N counts from identified unless a rule names another
    anchor" -- a suspicion on day 3 is due on day 7, not day 10."""
    facts = episode(observations=[obs("malignancy_suspected", True, day(3))])
    assert must(run(facts, day(3)), "malignancy_workup").due_date == day(7)


def test_workup_suspected_after_day_7_is_due_the_day_it_arises() -> None:
    # Never due before the suspicion existed (documented in v1.branches.branch_due).
    facts = episode(observations=[clear(), obs("malignancy_suspected", True, day(30))])
    assert get(run(facts, day(29)), "malignancy_workup") is None
    ev = run(facts, day(30))
    assert must(ev, "malignancy_workup").due_date == day(30)
    assert (ev.phase, ev.phase_since) == ("pathologic_workup", day(30))


def test_workup_done_by_a_contrast_mri_after_the_suspicion_only() -> None:
    base = [obs("malignancy_suspected", True, day(2))]
    plain = episode(observations=base, images=[mri(day(4))])
    assert must(run(plain, day(5)), "malignancy_workup").status == "open"
    early = episode(observations=base, images=[mri(day(1), contrast=True)])
    assert must(run(early, day(5)), "malignancy_workup").status == "open"
    ok = episode(observations=base, images=[mri(day(4), contrast=True)])
    spec = must(run(ok, day(5)), "malignancy_workup")
    assert (spec.status, spec.closed_on) == ("done", day(4))


def test_suspicion_withdrawn_cancels_the_open_workup_and_leaves_the_branch() -> None:
    first = episode(observations=[obs("malignancy_suspected", True, day(1))])
    stored = open_tasks(first, day(1))
    later = episode(
        observations=[*first.observations, obs("malignancy_suspected", False, day(8))],
        tasks=stored.tasks,
    )
    ev = run(later, day(8))
    assert cancelled(ev)[("malignancy_workup", 1)] == (
        "No longer applies: malignancy no longer suspected"
    )
    assert ev.phase == "acute"


# ----------------------------------------------------------- oncology_mdt --
def test_confirmed_pathologic_fracture_raises_oncology_on_day_7() -> None:
    ev = run(episode(etiology="pathologic_confirmed"), ID)
    spec = must(ev, "oncology_mdt")
    assert (spec.due_date, spec.priority) == (day(7), "high")
    assert "recommended: radiation oncology consult (asymptomatic)" in spec.triggers
    # Confirmation implies the work-up too (engine choice).
    assert must(ev, "malignancy_workup").due_date == day(7)
    assert ev.phase == "pathologic_workup"


def test_confirmation_observation_raises_oncology_the_day_it_is_recorded_after_day_7() -> None:
    facts = episode(observations=[clear(), obs("pathologic_confirmed", True, day(20))])
    assert "oncology_mdt" not in codes(run(facts, day(19)))
    assert must(run(facts, day(20)), "oncology_mdt").due_date == day(20)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (obs("pain_nrs", 7, ID), "severe pain (NRS 7)"),
        (obs("worsening_symptoms", True, ID), "worsening pain"),
        (obs("kyphosis_pct", 15, ID), "deformity"),
        (obs("scoliosis_pct", 10, ID), "deformity"),
        (obs("pulmonary_dysfunction", True, ID), "pulmonary dysfunction"),
        (obs("instability", True, ID), "neurological effects"),
    ],
)
def test_oncology_recommends_the_mdt_when_severe(extra: object, expected: str) -> None:
    ev = run(episode(etiology="pathologic_confirmed", observations=[extra]), day(1))  # type: ignore[list-item]
    text = must(ev, "oncology_mdt").triggers[1]
    assert text.startswith("recommended: multidisciplinary IR + surgery + radiation oncology")
    assert expected in text


def test_pain_6_is_not_severe_for_the_oncology_advice() -> None:
    ev = run(episode(etiology="pathologic_confirmed", observations=[obs("pain_nrs", 6, ID)]), ID)
    assert "asymptomatic" in must(ev, "oncology_mdt").triggers[1]


# ------------------------------------------------------------ suppression --
def _everything_conservative(**kw: object) -> dict[str, object]:
    """Facts that raise every conservative rule outside a branch."""
    return {
        "levels": ("L3",),
        "observations": [
            clear(),
            obs("pain_nrs", 8, day(30)),
            obs("pulmonary_dysfunction", True, day(10)),
            *kw.pop("observations", []),  # type: ignore[misc]
        ],
        "meds": [med("calcitonin", day(1), day(29))],
        **kw,
    }


def test_outside_a_branch_every_conservative_rule_is_planned() -> None:
    ev = run(episode(**_everything_conservative()), day(40))  # type: ignore[arg-type]
    assert SUPPRESSED <= codes(ev)


@pytest.mark.parametrize(
    ("branch", "kw"),
    [
        ("surgical", {"neuro": "deficit"}),
        ("surgical", {"observations": [obs("neuro_deterioration", True, ID)]}),
        ("pathologic_workup", {"etiology": "pathologic_suspected"}),
        ("pathologic_workup", {"etiology": "pathologic_confirmed"}),
    ],
)
def test_a_branch_suppresses_the_conservative_rules(branch: str, kw: dict[str, object]) -> None:
    ev = run(episode(**_everything_conservative(**kw)), day(40))  # type: ignore[arg-type]
    assert ev.phase == branch
    assert not SUPPRESSED & codes(ev)
    # ... but not the rest of the acute care.
    for code in ("osteoporosis_rx_start", "mobilisation", "pain_review_3w", "falls_prevention"):
        assert code in codes(ev)


def test_entering_a_branch_cancels_open_conservative_tasks_with_the_reason() -> None:
    facts = episode(onset=ID, observations=[clear()])
    stored = open_tasks(facts, ID)
    assert must(run(stored, ID), "calcitonin_start").status == "open"
    later = episode(
        onset=ID,
        observations=[clear(), obs("neuro_deficit", True, day(2))],
        tasks=stored.tasks,
    )
    ev = run(later, day(2))
    assert cancelled(ev)[("calcitonin_start", 1)] == (
        "No longer applies: not raised in the surgical branch"
    )
    assert ev.phase == "surgical"


def test_a_person_closed_conservative_task_is_kept_in_a_branch() -> None:
    facts = episode(
        neuro="deficit",
        tasks=[
            task("augmentation_consider_early", 1, "done", person=True, outcome="resolved"),
            task("pain_review_3w", 1, "not_applicable", person=True, closed_on=day(1)),
        ],
    )
    ev = run(facts, day(22))
    assert not cancelled(ev)
    assert must(ev, "pain_review_3w").status == "not_applicable"
