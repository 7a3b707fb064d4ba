"""Version 2, the side branches: surgical consultations (re-raised on a new
deterioration) and the malignancy work-up (pathway-spec V2.3). Their
triggers also decide the episode's branch (``v2.phases``)."""

from __future__ import annotations

from pathways.engine.context import (
    SURGICAL_HEIGHT_LOSS_PCT,
    SURGICAL_KYPHOSIS_PCT,
    SURGICAL_URGENT_KINDS,
    Context,
    Trigger,
    fmt_value,
    in_date_order,
)
from pathways.engine.dates import iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Rule, single_plan
from pathways.engine.v1.branches import branch_due, pathologic_confirmed
from pathways.engine.v2.conservative import early_deformity
from pathways.engine.v2.findings import (
    SEVERE_PAIN_NRS,
    ever_at_least,
    ever_true,
    is_whole_spine,
    reraised,
)

CONSULT_OUTCOMES = ("surgery_done", "surgery_planned", "surgery_not_indicated")
# Deformity on repeat imaging and the surgical indications of 003:71 and
# 004:75-78, recorded as boolean observations.
SURGICAL_DEFORMITY_FLAGS = (
    "junctional_kyphosis",
    "retropulsion",
    "pseudarthrosis",
    "progressive_collapse",
)


def surgical_urgent_triggers(ctx: Context) -> list[Trigger]:
    """Derived once per evaluation: the branch, the phase and the planners ask."""
    return ctx.once(_surgical_urgent_triggers)


def _surgical_urgent_triggers(ctx: Context) -> list[Trigger]:
    out: list[Trigger] = []
    if ctx.facts.neuro_status == "deficit":
        out.append(Trigger(ctx.identified, "neurological deficit on examination"))
    for kind in SURGICAL_URGENT_KINDS:
        for obs in ever_true(ctx, kind):
            out.append(
                Trigger(obs.effective_date, f"{kind.replace('_', ' ')} recorded on "
                        f"{iso(obs.effective_date)}")
            )  # fmt: skip
    return in_date_order(out)


def plan_surgical_consult_urgent(ctx: Context, rule: Rule) -> Plan:
    triggers = surgical_urgent_triggers(ctx)
    if not triggers:
        return Plan(
            why_not="no neurological deficit, instability, canal compromise or deterioration"
        )
    return reraised(ctx, rule, triggers)


SURGICAL_CONSULT_URGENT: Rule = Rule(
    code="surgical_consult_urgent",
    title="Immediate surgical consultation",
    guidance="Immediate surgical referral is mandatory for any neurological deficit, with "
    "corticosteroid therapy started immediately and surgery as soon as possible "
    "(002:69); also for frank spinal instability (002:70) and spinal cord compression "
    "(002:71). Progressive neurological deterioration demands urgent surgical "
    "decompression regardless of fracture age (000:91). Close with the consult's "
    "outcome: surgery done, surgery planned, or surgery not indicated (the episode "
    "then returns to conservative care).",
    seed_refs=("002:69", "002:70", "002:71", "000:91", "000:86"),
    group="branch",
    phases=OPEN_PHASES,
    anchor="trigger",
    trigger="neurological deficit, instability, canal compromise / cord compression, "
    "or progressive neurological deterioration",
    priority="urgent",
    expires_at_12_months=True,
    raises_after_expiry=True,
    outcomes=CONSULT_OUTCOMES,
    planner=plan_surgical_consult_urgent,
)


def surgical_deformity_triggers(ctx: Context) -> list[Trigger]:
    out = []
    kyph = ever_at_least(ctx, "kyphosis_pct", SURGICAL_KYPHOSIS_PCT)
    if kyph is not None:
        out.append(
            Trigger(kyph.effective_date, f"kyphosis {fmt_value(kyph.value)} % (15 % or more)")
        )
    height = ever_at_least(ctx, "height_loss_pct", SURGICAL_HEIGHT_LOSS_PCT)
    if height is not None:
        out.append(
            Trigger(
                height.effective_date,
                f"vertebral height loss {fmt_value(height.value)} % (20 % or more)",
            )
        )
    for kind in SURGICAL_DEFORMITY_FLAGS:
        for obs in ever_true(ctx, kind)[:1]:
            out.append(
                Trigger(
                    obs.effective_date,
                    f"{kind.replace('_', ' ')} recorded on {iso(obs.effective_date)}",
                )
            )
    review = ctx.person_closed("augmentation_review_3m")
    if review is not None and review.outcome == "refer_surgery" and review.closed_on:
        out.append(Trigger(review.closed_on, "intractable pain despite conservative care "
                           f"(3-month review, {iso(review.closed_on)})"))  # fmt: skip
    return in_date_order(out)


def plan_surgical_consult(ctx: Context, rule: Rule) -> Plan:
    triggers = surgical_deformity_triggers(ctx)
    if not triggers:
        return Plan(why_not="no deformity or other surgical indication recorded")
    return single_plan(triggers[0].on, tuple(t.text for t in triggers))


SURGICAL_CONSULT: Rule = Rule(
    code="surgical_consult",
    title="Surgical consultation",
    guidance="Surgical consultation for spinal deformity: 15 % or more kyphosis, 20 % or "
    "more vertebral body height loss (000:70), junctional kyphosis or retropulsion "
    "(003:71); for unstable fractures with ongoing collapse, progressive kyphosis or "
    "chronic pseudarthrosis, and persistent intractable back pain despite "
    "conservative management (004:75-78).",
    seed_refs=("000:70", "003:71", "004:75", "004:76", "004:78"),
    group="branch",
    phases=OPEN_PHASES,
    anchor="trigger",
    trigger="deformity at the surgical thresholds, junctional kyphosis, retropulsion, "
    "pseudarthrosis, progressive collapse, or the 3-month review referring for surgery",
    # "Immediately" but not urgent in the spec: high priority, default grace.
    priority="high",
    expires_at_12_months=True,
    raises_after_expiry=True,
    outcomes=CONSULT_OUTCOMES,
    planner=plan_surgical_consult,
)


def malignancy_suspected(ctx: Context) -> Trigger | None:
    """Derived once per evaluation: the branch, the phase and the planners ask."""
    return ctx.once(_malignancy_suspected)


def _malignancy_suspected(ctx: Context) -> Trigger | None:
    if ctx.facts.etiology == "pathologic_suspected":
        return Trigger(ctx.identified, "cause recorded as possibly pathologic")
    obs = ctx.flag_on("malignancy_suspected")
    if obs is not None:
        return Trigger(obs.effective_date, f"malignancy suspected on {iso(obs.effective_date)}")
    red = ctx.person_closed("red_flag_screen")
    if red is not None and red.outcome == "red_flags_found" and red.closed_on is not None:
        return Trigger(red.closed_on, f"red flags found on screening ({iso(red.closed_on)})")
    return None


def plan_malignancy_workup(ctx: Context, rule: Rule) -> Plan:
    trig = malignancy_suspected(ctx) or pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="malignancy no longer suspected")
    # 002:27: MRI of the complete spine without and with IV contrast.
    whole = [
        i
        for i in ctx.imaging
        if i.modality == "mri" and i.contrast and is_whole_spine(i.region)
        and i.performed_date >= trig.on
    ]  # fmt: skip
    done = (
        (
            whole[0].performed_date,
            f"whole-spine MRI with contrast on {iso(whole[0].performed_date)}",
        )
        if whole
        else None
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text,), done=done)


MALIGNANCY_WORKUP: Rule = Rule(
    code="malignancy_workup",
    title="Malignancy work-up: MRI whole spine with contrast",
    guidance="If malignancy is suspected, obtain MRI of the complete spine without and "
    "with IV contrast, and consider image-guided biopsy if the imaging is ambiguous "
    "(002:27).",
    seed_refs=("002:27", "000:79", "001:82"),
    group="branch",
    phases=OPEN_PHASES,
    anchor="identified (not before the suspicion)",
    offset_days=7,
    trigger="malignancy suspected",
    priority="high",
    expires_at_12_months=True,
    raises_after_expiry=True,
    completes_by="a whole-spine MRI with contrast after the suspicion",
    planner=plan_malignancy_workup,
)


def plan_oncology_mdt(ctx: Context, rule: Rule) -> Plan:
    trig = pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="pathologic fracture not confirmed")
    # 002:84 "severe **and** worsening pain", 002:89 deformity or pulmonary
    # dysfunction, 002:93 neurologic effects.
    findings: list[str] = []
    pain = ctx.latest("pain_nrs")
    if (
        pain is not None
        and float(pain.value) >= SEVERE_PAIN_NRS
        and ctx.flag_on("worsening_symptoms")
    ):
        findings.append(f"severe and worsening pain (NRS {fmt_value(pain.value)})")
    if surgical_deformity_triggers(ctx) or early_deformity(ctx):
        findings.append("spinal deformity")
    if ctx.flag_on("pulmonary_dysfunction"):
        findings.append("pulmonary dysfunction")
    if surgical_urgent_triggers(ctx):
        findings.append("neurological effects")
    advice = (
        "multidisciplinary approach (" + ", ".join(findings) + ")"
        if findings
        else "radiation oncology consultation or medical management (no severe symptoms)"
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text, f"suggested: {advice}"))


ONCOLOGY_MDT: Rule = Rule(
    code="oncology_mdt",
    title="Oncology referral for pathologic fracture",
    guidance="Asymptomatic pathologic fracture: radiation oncology consultation or "
    "medical management (002:82). Severe and worsening pain: a multidisciplinary "
    "approach with interventional radiology, surgery and radiation oncology (002:86); "
    "percutaneous thermal ablation or vertebral augmentation (002:87). Deformity or "
    "pulmonary dysfunction: multidisciplinary approach with vertebral augmentation "
    "(002:91). Neurologic effects: surgical and radiation oncology consultation "
    "(002:95).",
    seed_refs=("002:82", "002:86", "002:87", "002:91", "002:95"),
    group="branch",
    phases=OPEN_PHASES,
    anchor="identified (not before the confirmation)",
    offset_days=7,
    trigger="pathologic fracture confirmed",
    priority="high",
    expires_at_12_months=True,
    raises_after_expiry=True,
    planner=plan_oncology_mdt,
)


RULES: tuple[Rule, ...] = (
    SURGICAL_CONSULT_URGENT,
    SURGICAL_CONSULT,
    MALIGNANCY_WORKUP,
    ONCOLOGY_MDT,
)
