"""Version 1's own decisions beside its rules: the side branch an episode
is in, the phase it stands in, and the flags it shows."""

from __future__ import annotations

from datetime import date

from pathways.engine.context import AUGMENTATION, SURGERY, Context
from pathways.engine.dates import iso
from pathways.engine.v1.branches import (
    malignancy_suspected,
    pathologic_confirmed,
    surgical_urgent_triggers,
)
from pathways.engine.v1.conservative import early_augmentation_triggers


def branch(ctx: Context) -> tuple[str, str, date]:
    surgery = ctx.procedure(SURGERY)
    urgent = surgical_urgent_triggers(ctx)
    if urgent and not (surgery and surgery.performed_date >= urgent[0].on):
        return "surgical", urgent[0].text, urgent[0].on
    confirmed = pathologic_confirmed(ctx)
    if confirmed is not None:
        return "pathologic_workup", confirmed.text, confirmed.on
    suspected = malignancy_suspected(ctx)
    if suspected is not None:
        return "pathologic_workup", suspected.text, suspected.on
    return "", "", ctx.identified


def phase(
    ctx: Context, branch: str, branch_cause: str, branch_since: date
) -> tuple[str, str, date]:
    if branch:
        return branch, branch_cause, branch_since
    surgery = ctx.procedure(SURGERY)
    if surgery is not None:
        return (
            "bone_health",
            f"surgery performed on {iso(surgery.performed_date)}",
            surgery.performed_date,
        )
    augmented = ctx.procedure(AUGMENTATION)
    if augmented is not None:
        return (
            "bone_health",
            f"{augmented.kind} performed on {iso(augmented.performed_date)}",
            augmented.performed_date,
        )
    review = ctx.person_closed("augmentation_review_3m")
    if review is not None and review.outcome != "offer_augmentation":
        outcome = review.outcome or review.status.replace("_", " ")
        return "bone_health", f"3-month review closed: {outcome}", review.closed_on or ctx.as_of
    if ctx.reached(ctx.twelve_months):
        return "bone_health", "12 months after identification", ctx.twelve_months
    if review is not None:
        return (
            "augmentation_review",
            "augmentation offered at the 3-month review; awaiting the procedure",
            review.closed_on or ctx.as_of,
        )
    if ctx.reached(ctx.three_months):
        return "augmentation_review", "3-month review due", ctx.three_months
    early = ctx.person_closed("augmentation_consider_early")
    triggers = [t for t in early_augmentation_triggers(ctx) if t.on < ctx.three_months]
    if triggers and (early is None or early.outcome == "offer_augmentation"):
        return "augmentation_review", f"early trigger: {triggers[0].text}", triggers[0].on
    if not triage_clear(ctx):
        return "triage", "neuro exam and red-flag screen not yet recorded clear", ctx.identified
    if ctx.reached(ctx.day(28)):
        return "conservative", "day 28 of conservative management", ctx.day(28)
    return "acute", "neuro exam and red-flag screen recorded clear", ctx.identified


def triage_clear(ctx: Context) -> bool:
    deficit = ctx.latest("neuro_deficit")
    neuro_ok = ctx.facts.neuro_status == "intact" or (
        deficit is not None and deficit.value is False
    )
    red = ctx.person_closed("red_flag_screen")
    screen = ctx.latest("malignancy_suspected")
    flags_ok = (red is not None and red.outcome != "red_flags_found") or (
        screen is not None and screen.value is False
    )
    return neuro_ok and flags_ok


def flags(ctx: Context) -> tuple[str, ...]:
    out = []
    if (ctx.identified - ctx.onset).days > 5:
        out.append("calcitonin_window_passed")
    if ctx.facts.recorded_on > ctx.twelve_months:
        out.append("historical")
    return tuple(out)
