"""Version 1, conservative care: the nerve root block, vertebral augmentation
(at 3 months, or earlier on a trigger) and the repeat MRI (pathway-spec
"Acute and conservative management", second half)."""

from __future__ import annotations

from datetime import date

from pathways.engine.context import (
    ANALGESICS,
    AUGMENTATION,
    AUGMENTATION_OR_SURGERY,
    EARLY_AUG_FLAG_KINDS,
    EARLY_AUG_THRESHOLDS,
    NERVE_BLOCK_FROM_DAY,
    NERVE_BLOCK_PAIN,
    PAIN_WORSENING_POINTS,
    Context,
    Trigger,
    fmt_value,
    in_date_order,
)
from pathways.engine.dates import add_days, add_months, iso
from pathways.engine.ruleset import EARLY_PHASES, OPEN_PHASES, Plan, Planned, Rule, single_plan

AUGMENTATION_OUTCOMES = ("offer_augmentation", "continue_conservative", "resolved")

AUGMENTATION_CONTROVERSY = (
    " The societies disagree: AAOS recommends against vertebroplasty (two level-I "
    "sham-controlled trials showed no difference in pain or function); ACR and SNIS "
    "support augmentation (benefit in pain, vertebral height, alignment, function and "
    "quality of life). The tracker reminds; the clinician decides."
)


def plan_nerve_root_block(ctx: Context, rule: Rule) -> Plan:
    levels = set(ctx.facts.levels)
    if not levels & {"L3", "L4"}:
        return Plan(why_not="fracture not at L3 or L4")
    start = ctx.day(NERVE_BLOCK_FROM_DAY)
    for pain in ctx.pain_scores():
        if pain.effective_date >= start and float(pain.value) >= NERVE_BLOCK_PAIN:
            return single_plan(
                pain.effective_date,
                (
                    f"fracture at {'/'.join(sorted(levels & {'L3', 'L4'}))}",
                    f"pain NRS {fmt_value(pain.value)} on {iso(pain.effective_date)} "
                    f"(day {(pain.effective_date - ctx.identified).days}, persists >= 4 weeks)",
                ),
            )
    return Plan(why_not="no pain >= 7/10 on a review at or after day 28")


NERVE_ROOT_BLOCK_CONSIDER: Rule = Rule(
    code="nerve_root_block_consider",
    title="Consider an L2 nerve root block",
    guidance="Consider an L2 nerve root block for an L3 or L4 fracture with pain "
    "persisting at 4 weeks or more.",
    seed_refs=("003", "004"),
    group="conservative",
    phases=EARLY_PHASES,
    anchor="the pain review",
    trigger="fracture at L3 or L4 and pain >= 7/10 on a review at or after day 28",
    expires_at_12_months=True,
    outcomes=("block_planned", "not_indicated"),
    planner=plan_nerve_root_block,
)


def augmentation_indications(ctx: Context) -> list[str]:
    out = []
    pain = ctx.latest("pain_nrs")
    if pain is not None:
        out.append(f"latest pain NRS {fmt_value(pain.value)} on {iso(pain.effective_date)}")
    for kind in ("pain_med_contraindication", "parenteral_narcotics", "hospital_admission"):
        if ctx.flag_on(kind):
            out.append(kind.replace("_", " "))
    return out


def plan_augmentation_review_3m(ctx: Context, rule: Rule) -> Plan:
    proc = ctx.procedure(AUGMENTATION_OR_SURGERY)
    if proc is not None and proc.performed_date < ctx.three_months:
        return Plan(why_not=f"{proc.kind} performed on {iso(proc.performed_date)}")
    return single_plan(
        ctx.three_months,
        ("still in conservative management at 3 months", *augmentation_indications(ctx)),
    )


AUGMENTATION_REVIEW_3M = Rule(
    code="augmentation_review_3m",
    title="3-month review: vertebral augmentation?",
    guidance="3-month review. Offer vertebral augmentation (vertebroplasty or "
    "kyphoplasty) if pain is refractory to oral medication, pain medication is "
    "contraindicated, or parenteral narcotics / hospital admission were needed."
    + AUGMENTATION_CONTROVERSY,
    seed_refs=("000", "001", "002", "003", "004"),
    group="conservative",
    phases=EARLY_PHASES,
    anchor="identified",
    offset_months=3,
    trigger="still in conservative management",
    expires_at_12_months=True,
    outcomes=AUGMENTATION_OUTCOMES,
    planner=plan_augmentation_review_3m,
)


def early_deformity(ctx: Context) -> list[Trigger]:
    out = []
    for kind, threshold in EARLY_AUG_THRESHOLDS.items():
        obs = ctx.first_at_least(kind, threshold)
        if obs is not None:
            label = kind.removesuffix("_pct").replace("_", " ")
            out.append(
                Trigger(
                    obs.effective_date, f"{label} {fmt_value(obs.value)} % (>= {threshold:g} %)"
                )
            )
    return out


def pain_worsening(ctx: Context) -> Trigger | None:
    """Pain rising by >= 2 NRS points while an analgesic is active."""
    scores = ctx.pain_scores()
    for previous, current in zip(scores, scores[1:], strict=False):
        rise = float(current.value) - float(previous.value)
        if rise >= PAIN_WORSENING_POINTS and ctx.any_active(ANALGESICS, current.effective_date):
            return Trigger(
                current.effective_date,
                f"pain rose from {fmt_value(previous.value)} to {fmt_value(current.value)} "
                f"on {iso(current.effective_date)} despite analgesics",
            )
    return None


def early_augmentation_triggers(ctx: Context) -> list[Trigger]:
    """Derived once per evaluation: the branch, the phase and the planners ask."""
    return ctx.once(_early_augmentation_triggers)


def _early_augmentation_triggers(ctx: Context) -> list[Trigger]:
    out = early_deformity(ctx)
    for kind in EARLY_AUG_FLAG_KINDS:
        obs = ctx.flag_on(kind)
        if obs is not None:
            out.append(
                Trigger(
                    obs.effective_date, f"{kind.replace('_', ' ')} on {iso(obs.effective_date)}"
                )
            )
    worse = pain_worsening(ctx)
    if worse is not None:
        out.append(worse)
    return in_date_order(out)


def plan_augmentation_consider_early(ctx: Context, rule: Rule) -> Plan:
    if ctx.procedure(AUGMENTATION):
        return Plan(why_not="vertebral augmentation already performed")
    triggers = [t for t in early_augmentation_triggers(ctx) if t.on < ctx.three_months]
    if not triggers:
        return Plan(why_not="no early-augmentation trigger before 3 months")
    return single_plan(triggers[0].on, tuple(t.text for t in triggers))


AUGMENTATION_CONSIDER_EARLY: Rule = Rule(
    code="augmentation_consider_early",
    title="Consider vertebral augmentation before 3 months",
    guidance="Consider vertebral augmentation before 3 months: deformity (kyphosis >= "
    "15 %, scoliosis >= 10 %, dorsal wall height reduction >= 10 %, height loss >= 20 %), "
    "pulmonary dysfunction, parenteral narcotics or hospital admission for pain, "
    "contraindication to pain medication, or worsening symptoms despite medication."
    + AUGMENTATION_CONTROVERSY,
    seed_refs=("001", "002", "003"),
    group="conservative",
    phases=EARLY_PHASES,
    anchor="trigger",
    trigger="an early-augmentation trigger before 3 months",
    priority="high",
    expires_at_12_months=True,
    outcomes=AUGMENTATION_OUTCOMES,
    planner=plan_augmentation_consider_early,
)


def plan_repeat_mri(ctx: Context, rule: Rule) -> Plan:
    reasons: list[tuple[date, str]] = []
    seen: set[str] = set()
    for kind in ("symptoms_changed", "worsening_symptoms"):
        for obs in ctx.by_kind.get(kind, []):
            if obs.value is True and obs.id not in seen:
                seen.add(obs.id)
                last = ctx.last_spine_imaging_before(obs.effective_date)
                if last is None or add_months(last, 3) < obs.effective_date:
                    age = "no spine imaging" if last is None else f"last spine imaging {iso(last)}"
                    reasons.append(
                        (
                            obs.effective_date,
                            f"{kind.replace('_', ' ')} on {iso(obs.effective_date)}; {age}",
                        )
                    )
    # Before an augmentation referral the MRI must be recent (seed 000).
    for code in ("augmentation_review_3m", "augmentation_consider_early"):
        decided = ctx.person_closed(code)
        if decided and decided.outcome == "offer_augmentation" and decided.closed_on:
            last = ctx.last_spine_imaging_before(decided.closed_on, mri_only=True)
            if last is None or add_months(last, 3) < decided.closed_on:
                age = "no MRI" if last is None else f"last MRI {iso(last)}"
                reasons.append(
                    (decided.closed_on, f"augmentation offered on {iso(decided.closed_on)}; {age}")
                )
    if not reasons:
        return Plan(why_not="no new symptoms with imaging older than 3 months")
    reasons.sort()
    occurrences = []
    for n, (on, text) in enumerate(reasons, start=1):
        after = [m for m in ctx.mris() if m.performed_date >= on]
        done = (
            (after[0].performed_date, f"MRI performed on {iso(after[0].performed_date)}")
            if after
            else None
        )
        occurrences.append(Planned(n, add_days(on, rule.offset_days), (text,), done=done))
    return Plan(tuple(occurrences))


REPEAT_MRI: Rule = Rule(
    code="repeat_mri",
    title="Repeat MRI: new fracture?",
    guidance="Repeat MRI to look for a new fracture. Do not assume all pain comes from "
    "the known fracture; edema resolves within 1-3 months, so it is not a precise "
    "measure of fracture age.",
    seed_refs=("000", "003"),
    group="conservative",
    phases=OPEN_PHASES,
    anchor="the record",
    offset_days=7,
    trigger="new or changed symptoms with spine imaging older than 3 months (or none); "
    "an augmentation referral with an MRI older than 3 months",
    completes_by="an MRI after the trigger",
    planner=plan_repeat_mri,
)


RULES: tuple[Rule, ...] = (
    NERVE_ROOT_BLOCK_CONSIDER,
    AUGMENTATION_REVIEW_3M,
    AUGMENTATION_CONSIDER_EARLY,
    REPEAT_MRI,
)
