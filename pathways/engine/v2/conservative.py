"""Version 2, conservative care: the nerve root block (planned as in
version 1), vertebral augmentation at 3 months, earlier on an indication or
reconsidered after the review, and the repeat MRI (pathway-spec V2.3)."""

from __future__ import annotations

from datetime import date

from pathways.engine.context import (
    AUGMENTATION,
    AUGMENTATION_OR_SURGERY,
    EARLY_AUG_FLAG_KINDS,
    EARLY_AUG_THRESHOLDS,
    Context,
    Trigger,
    fmt_value,
    in_date_order,
)
from pathways.engine.dates import add_days, add_months, iso
from pathways.engine.ruleset import EARLY_PHASES, OPEN_PHASES, Plan, Planned, Rule, single_plan
from pathways.engine.v1.conservative import plan_nerve_root_block
from pathways.engine.v2.findings import (
    SEVERE_PAIN_NRS,
    ever_at_least,
    ever_true,
    reraised,
    spine_mris,
)

AUGMENTATION_OUTCOMES = (
    "offer_augmentation",
    "continue_conservative",
    "refer_surgery",
    "resolved",
)
AUGMENTATION_POSITIONS = (
    " The guidelines disagree. Against routine augmentation: the evidence does not "
    "support routine vertebral augmentation over conservative treatment, and the AAOS "
    "makes a strong recommendation against vertebroplasty (004:64-68, 004:103). For: "
    "the ACR and SNIS support augmentation, and the ASA agrees minimally invasive "
    "procedures may be used for pain from compression fractures (000:58-59). The "
    "tracker reminds; the clinician decides."
)
# 002:53 "persistent severe pain after 3 weeks": two scores of 7 or more from
# day 21 (project convention, stated in the guidance).
SEVERE_PAIN_FROM_DAY = 21
SEVERE_PAIN_SCORES = 2


NERVE_ROOT_BLOCK_CONSIDER: Rule = Rule(
    code="nerve_root_block_consider",
    title="Consider an L2 nerve root block",
    guidance="The seeds differ on when: an option for L3 or L4 fractures with acute "
    "injury and correlating symptoms (003:65), or for persistent pain at L3 or L4 "
    "beyond 4 weeks (004:47).",
    seed_refs=("003:65", "004:47"),
    group="conservative",
    phases=EARLY_PHASES,
    anchor="the pain review",
    trigger="fracture at L3 or L4 and pain of 7/10 or more at or after day 28",
    expires_at_12_months=True,
    outcomes=("block_planned", "not_indicated"),
    planner=plan_nerve_root_block,
)


def plan_augmentation_review_3m(ctx: Context, rule: Rule) -> Plan:
    proc = ctx.procedure(AUGMENTATION_OR_SURGERY)
    if proc is not None and proc.performed_date < ctx.three_months:
        return Plan(why_not=f"{proc.kind} performed on {iso(proc.performed_date)}")
    indications = []
    pain = ctx.latest("pain_nrs")
    if pain is not None:
        indications.append(
            f"latest pain score {fmt_value(pain.value)} on {iso(pain.effective_date)}"
        )
    for kind in ("pain_med_contraindication", "parenteral_narcotics", "hospital_admission"):
        if ctx.flag_on(kind):
            indications.append(kind.replace("_", " "))
    return single_plan(
        add_months(ctx.identified, rule.offset_months),
        ("still in conservative management at 3 months", *indications),
    )


AUGMENTATION_REVIEW_3M = Rule(
    code="augmentation_review_3m",
    title="3-month review: vertebral augmentation?",
    guidance="3-month review. Offer vertebral augmentation if pain persists after 3 months "
    "of conservative therapy (000:63): pain refractory to oral medication, "
    "contraindication to pain medication, or parenteral narcotics or hospital "
    "admission needed (003:52-54). Refer to a surgeon for persistent intractable pain "
    "despite conservative management (004:76)." + AUGMENTATION_POSITIONS,
    seed_refs=(
        "000:63",
        "003:52",
        "003:53",
        "003:54",
        "004:76",
        "004:64",
        "004:66",
        "004:68",
        "004:103",
        "000:58",
        "000:59",
    ),  # fmt: skip
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
        obs = ever_at_least(ctx, kind, threshold)
        if obs is not None:
            label = kind.removesuffix("_pct").replace("_", " ")
            out.append(
                Trigger(
                    obs.effective_date,
                    f"{label} {fmt_value(obs.value)} % ({threshold:g} % or more)",
                )
            )
    return out


def persistent_severe_pain(ctx: Context) -> Trigger | None:
    """Two pain scores >= 7 at or after day 21 (002:53; ">= 7" is the
    project's convention for "severe")."""
    start = add_days(ctx.identified, SEVERE_PAIN_FROM_DAY)
    severe = [
        p for p in ctx.pain_scores()
        if p.effective_date >= start and float(p.value) >= SEVERE_PAIN_NRS
    ]  # fmt: skip
    if len(severe) < SEVERE_PAIN_SCORES:
        return None
    second = severe[SEVERE_PAIN_SCORES - 1]
    return Trigger(
        second.effective_date,
        f"persistent severe pain: scores of 7 or more on {iso(severe[0].effective_date)} "
        f"and {iso(second.effective_date)}",
    )


def early_augmentation_triggers(ctx: Context) -> list[Trigger]:
    """Derived once per evaluation: the branch, the phase and the planners ask."""
    return ctx.once(_early_augmentation_triggers)


def _early_augmentation_triggers(ctx: Context) -> list[Trigger]:
    """Deformity, the recorded flags and persistent severe pain. "Worsening
    symptoms despite medications" (001:45) counts only when a clinician
    records it: version 1's invented "pain rose by 2 points" is gone (V2.3)."""
    out = early_deformity(ctx)
    for kind in EARLY_AUG_FLAG_KINDS:
        for obs in ever_true(ctx, kind):
            out.append(
                Trigger(
                    obs.effective_date, f"{kind.replace('_', ' ')} on {iso(obs.effective_date)}"
                )
            )
    pain = persistent_severe_pain(ctx)
    if pain is not None:
        out.append(pain)
    return in_date_order(out)


def plan_augmentation_consider_early(ctx: Context, rule: Rule) -> Plan:
    if ctx.procedure(AUGMENTATION):
        return Plan(why_not="vertebral augmentation already performed")
    triggers = [t for t in early_augmentation_triggers(ctx) if t.on < ctx.three_months]
    if not triggers:
        return Plan(why_not="no early-augmentation trigger before 3 months")
    return reraised(ctx, rule, triggers)


AUGMENTATION_CONSIDER_EARLY: Rule = Rule(
    code="augmentation_consider_early",
    title="Consider vertebral augmentation before 3 months",
    guidance="Indications for earlier intervention: spinal deformity (15 % or more "
    "kyphosis, 10 % or more scoliosis, 10 % or more dorsal wall height reduction, or "
    "20 % or more vertebral body height loss), worsening symptoms despite medication, "
    "pulmonary dysfunction (001:44-46); contraindication to pain medication, "
    "parenteral narcotics or hospital admission (000:49-50); persistent severe pain "
    "from 3 weeks (002:53) — two pain scores of 7 or more from day 21, the project's "
    "convention for severe. Do not delay intervention for progressive deformity "
    "(001:83)." + AUGMENTATION_POSITIONS,
    seed_refs=(
        "001:44",
        "001:45",
        "001:46",
        "000:49",
        "000:50",
        "002:53",
        "001:83",
        "004:64",
        "000:58",
    ),  # fmt: skip
    group="conservative",
    phases=EARLY_PHASES,
    anchor="trigger",
    trigger="an early-augmentation indication before 3 months (a new one after the "
    "previous decision raises it again)",
    priority="high",
    expires_at_12_months=True,
    outcomes=AUGMENTATION_OUTCOMES,
    planner=plan_augmentation_consider_early,
)


def plan_augmentation_reconsider(ctx: Context, rule: Rule) -> Plan:
    """After the 3-month review chose to continue conservative care, a severe
    pain score or worsening symptoms raise it again: fracture age does not
    change the outcome of augmentation (001:58, 002:61)."""
    review = ctx.person_closed("augmentation_review_3m")
    if review is None or review.outcome != "continue_conservative" or review.closed_on is None:
        return Plan(why_not="the 3-month review did not continue conservative care")
    if ctx.procedure(AUGMENTATION):
        return Plan(why_not="vertebral augmentation already performed")
    after = review.closed_on
    triggers = [
        Trigger(p.effective_date, f"pain score {fmt_value(p.value)} on {iso(p.effective_date)}")
        for p in ctx.pain_scores()
        if p.effective_date > after and float(p.value) >= SEVERE_PAIN_NRS
    ] + [
        Trigger(o.effective_date, f"worsening symptoms on {iso(o.effective_date)}")
        for o in ever_true(ctx, "worsening_symptoms")
        if o.effective_date > after
    ]
    if not triggers:
        return Plan(why_not="no severe pain or worsening symptoms since the 3-month review")
    return reraised(ctx, rule, sorted(triggers, key=lambda t: t.on))


AUGMENTATION_RECONSIDER: Rule = Rule(
    code="augmentation_reconsider",
    title="Reconsider vertebral augmentation",
    guidance="Conservative care was continued at the 3-month review, and pain is severe "
    "or symptoms are worsening. The age of the fracture does not change the outcome "
    "of augmentation (001:58, 002:61); do not deny augmentation to appropriate "
    "candidates after conservative therapy fails (002:103)." + AUGMENTATION_POSITIONS,
    seed_refs=("001:58", "002:61", "002:103", "004:64", "000:58"),
    group="conservative",
    phases=OPEN_PHASES,
    anchor="trigger",
    trigger="after the 3-month review continued conservative care: a pain score of 7 or "
    "more, or worsening symptoms",
    priority="high",
    expires_at_12_months=True,
    raises_after_expiry=True,
    outcomes=AUGMENTATION_OUTCOMES,
    planner=plan_augmentation_reconsider,
)


def plan_repeat_mri(ctx: Context, rule: Rule) -> Plan:
    """000:78, 003:78: MRI if symptoms change **or** imaging is > 3 months old.
    Changed symptoms after the latest spine MRI raise it whatever its age; an
    augmentation referral raises it when the latest spine MRI is > 3 months old."""
    reasons: list[tuple[date, str]] = []
    mris = spine_mris(ctx)
    for kind in ("symptoms_changed", "worsening_symptoms"):
        for obs in ever_true(ctx, kind):
            on = obs.effective_date
            before = [m.performed_date for m in mris if m.performed_date < on]
            last = max(before) if before else None
            age = "no spine MRI before" if last is None else f"latest spine MRI {iso(last)}"
            reasons.append((on, f"{kind.replace('_', ' ')} on {iso(on)}; {age}"))
    for code in ("augmentation_review_3m", "augmentation_consider_early"):
        decided = ctx.person_closed(code)
        if decided and decided.outcome == "offer_augmentation" and decided.closed_on:
            before = [m.performed_date for m in mris if m.performed_date <= decided.closed_on]
            last = max(before) if before else None
            if last is None or add_months(last, 3) < decided.closed_on:
                age = "no spine MRI" if last is None else f"latest spine MRI {iso(last)}"
                reasons.append(
                    (decided.closed_on, f"augmentation offered on {iso(decided.closed_on)}; {age}")
                )
    if not reasons:
        return Plan(why_not="no changed symptoms or augmentation referral needing an MRI")
    reasons.sort()
    occurrences = []
    for n, (on, text) in enumerate(reasons, start=1):
        after = [m for m in mris if m.performed_date >= on]
        done = (
            (after[0].performed_date, f"spine MRI on {iso(after[0].performed_date)}")
            if after
            else None
        )
        occurrences.append(Planned(n, add_days(on, rule.offset_days), (text,), done=done))
    return Plan(tuple(occurrences))


REPEAT_MRI: Rule = Rule(
    code="repeat_mri",
    title="Repeat MRI: new fracture?",
    guidance="Do not assume all pain is from the known fracture: obtain an MRI if "
    "symptoms change or imaging is more than 3 months old (000:78, 003:78). Edema "
    "resolves within 1-3 months, so it is not a precise measure of fracture age "
    "(003:79).",
    seed_refs=("000:78", "003:78", "003:79"),
    group="conservative",
    phases=OPEN_PHASES,
    anchor="the record",
    offset_days=7,
    trigger="changed symptoms recorded after the latest spine MRI; an augmentation "
    "referral with the latest spine MRI more than 3 months old",
    # Old records (V2.4): a change of symptoms years ago is history; one
    # recorded now is today's work, whatever the fracture's age.
    expires_at_12_months=True,
    raises_after_expiry=True,
    completes_by="a spine MRI after the trigger",
    planner=plan_repeat_mri,
)


RULES: tuple[Rule, ...] = (
    NERVE_ROOT_BLOCK_CONSIDER,
    AUGMENTATION_REVIEW_3M,
    AUGMENTATION_CONSIDER_EARLY,
    AUGMENTATION_RECONSIDER,
    REPEAT_MRI,
)
