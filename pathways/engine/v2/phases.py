"""Version 2's own decisions beside its rules: branch, phase, flags."""

from __future__ import annotations

from datetime import date

from pathways.engine.context import AUGMENTATION, SURGERY, Context, Trigger
from pathways.engine.dates import iso
from pathways.engine.v1.branches import pathologic_confirmed
from pathways.engine.v2.branches import malignancy_suspected, surgical_urgent_triggers
from pathways.engine.v2.conservative import early_augmentation_triggers

CONSULTS = ("surgical_consult_urgent", "surgical_consult")


def _current(ctx: Context, triggers: list[Trigger]) -> list[Trigger]:
    """Old records (V2.4): once 12 months have passed, only a fact dated after
    the first year is "current"; an old deficit is history."""
    if not ctx.reached(ctx.twelve_months):
        return triggers
    return [t for t in triggers if t.on >= ctx.twelve_months]


def _consult_outcomes(ctx: Context, code: str) -> list[tuple[date, str]]:
    out = []
    for (rule, _occ), task in ctx.tasks.items():
        if rule == code and task.closed_by_person and task.closed_on is not None:
            out.append((task.closed_on, task.outcome))
    return sorted(out)


def _decided_since(ctx: Context, outcomes: set[str]) -> date | None:
    decided = [d for d, outcome in _consult_outcomes(ctx, CONSULTS[0]) if outcome in outcomes]
    return max(decided) if decided else None


def surgery_not_indicated_since(ctx: Context) -> date | None:
    return _decided_since(ctx, {"surgery_not_indicated"})


def branch(ctx: Context) -> tuple[str, str, date]:
    surgery = ctx.procedure(SURGERY)
    urgent = _current(ctx, surgical_urgent_triggers(ctx))
    decided = _decided_since(ctx, {"surgery_not_indicated", "surgery_done"})
    if decided is not None:
        # The consult's outcome decides the branch (V2.3): after it, only a
        # new trigger (deterioration) puts the episode back in it.
        urgent = [t for t in urgent if t.on > decided]
    if urgent and not (surgery and surgery.performed_date >= urgent[0].on):
        return "surgical", urgent[0].text, urgent[0].on
    for trig in (pathologic_confirmed(ctx), malignancy_suspected(ctx)):
        if trig is not None and _current(ctx, [trig]):
            return "pathologic_workup", trig.text, trig.on
    return "", "", ctx.identified


def phase(ctx: Context, branch_name: str, cause: str, since: date) -> tuple[str, str, date]:
    """The first that holds, in this order: the side branch; a surgery or an
    augmentation done; the 3-month review's outcome (or the 12-month mark);
    then the early phases by day count and triggers."""
    if branch_name:
        return branch_name, cause, since
    return _treated(ctx) or _reviewed(ctx) or _early(ctx)


def _treated(ctx: Context) -> tuple[str, str, date] | None:
    for code in CONSULTS:
        for closed_on, outcome in _consult_outcomes(ctx, code):
            if outcome == "surgery_done":
                return "bone_health", f"surgery done ({iso(closed_on)})", closed_on
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
    return None


def _reviewed(ctx: Context) -> tuple[str, str, date] | None:
    review = ctx.person_closed("augmentation_review_3m")
    if review is not None and review.outcome == "refer_surgery":
        consult = _consult_outcomes(ctx, "surgical_consult")
        if consult:
            closed_on = consult[-1][0]
            return "bone_health", f"surgical consultation closed ({iso(closed_on)})", closed_on
        return (
            "augmentation_review",
            "referred for a surgical consultation at the 3-month review",
            review.closed_on or ctx.as_of,
        )
    if review is not None and review.outcome != "offer_augmentation":
        outcome = (review.outcome or review.status).replace("_", " ")
        return "bone_health", f"3-month review closed: {outcome}", review.closed_on or ctx.as_of
    if ctx.reached(ctx.twelve_months):
        return "bone_health", "12 months after identification", ctx.twelve_months
    if review is not None:
        return (
            "augmentation_review",
            "augmentation offered at the 3-month review; awaiting the procedure",
            review.closed_on or ctx.as_of,
        )
    return None


def _early(ctx: Context) -> tuple[str, str, date]:
    if ctx.reached(ctx.three_months):
        return "augmentation_review", "3-month review due", ctx.three_months
    early = ctx.person_closed("augmentation_consider_early")
    triggers = [t for t in early_augmentation_triggers(ctx) if t.on < ctx.three_months]
    if triggers and (early is None or early.outcome == "offer_augmentation"):
        return "augmentation_review", f"early trigger: {triggers[0].text}", triggers[0].on
    if not _triage_clear(ctx):
        return "triage", "neuro exam and red-flag screen not yet recorded clear", ctx.identified
    if ctx.reached(ctx.day(28)):
        return "conservative", "day 28 of conservative management", ctx.day(28)
    return "acute", "neuro exam and red-flag screen recorded clear", ctx.identified


def _triage_clear(ctx: Context) -> bool:
    deficit = ctx.latest("neuro_deficit")
    neuro_ok = (
        ctx.facts.neuro_status == "intact"
        or (deficit is not None and deficit.value is False)
        # A surgeon found surgery not indicated: back on the conservative
        # pathway at the phase its day count gives (V2.3).
        or surgery_not_indicated_since(ctx) is not None
    )
    red = ctx.person_closed("red_flag_screen")
    screen = ctx.latest("malignancy_suspected")
    flags_ok = (red is not None and red.outcome != "red_flags_found") or (
        screen is not None and screen.value is False
    )
    return neuro_ok and flags_ok


def flags(ctx: Context) -> tuple[str, ...]:
    out = []
    if (ctx.identified - ctx.onset).days > 28:
        out.append("calcitonin_window_passed")
    if ctx.facts.recorded_on > ctx.twelve_months:
        out.append("historical")
    return tuple(out)
