"""Version 1, the side branches: surgery and a suspected or confirmed
malignancy (pathway-spec "Branches"). Their triggers also decide the
episode's branch (``v1.phases``)."""

from __future__ import annotations

from datetime import date

from pathways.engine.context import (
    SURGICAL_HEIGHT_LOSS_PCT,
    SURGICAL_KYPHOSIS_PCT,
    SURGICAL_URGENT_KINDS,
    Context,
    Trigger,
    fmt_value,
    in_date_order,
)
from pathways.engine.dates import add_days, iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Planned, Rule, single_plan
from pathways.engine.v1.conservative import early_deformity


def surgical_urgent_triggers(ctx: Context) -> list[Trigger]:
    """Derived once per evaluation: the branch, the phase and the planners ask."""
    return ctx.once(_surgical_urgent_triggers)


def _surgical_urgent_triggers(ctx: Context) -> list[Trigger]:
    out: list[Trigger] = []
    if ctx.facts.neuro_status == "deficit":
        out.append(Trigger(ctx.identified, "neurological deficit on examination"))
    for kind in SURGICAL_URGENT_KINDS:
        obs = ctx.flag_on(kind)
        if obs is not None:
            out.append(
                Trigger(
                    obs.effective_date,
                    f"{kind.replace('_', ' ')} recorded on {iso(obs.effective_date)}",
                )
            )
    return in_date_order(out)


def plan_surgical_consult_urgent(ctx: Context, rule: Rule) -> Plan:
    triggers = surgical_urgent_triggers(ctx)
    if not triggers:
        return Plan(
            why_not="no neurological deficit, instability, canal compromise or deterioration"
        )
    occurrences: list[Planned] = []
    occurrence = 1
    texts = tuple(t.text for t in triggers)
    due = triggers[0].on
    # Progressive deterioration after a consult was done demands a new urgent
    # consult "regardless of fracture age" (seed 000): a true flag dated after
    # the previous consult was closed raises the next occurrence.
    while True:
        closed = ctx.person_closed(rule.code, occurrence)
        later = [t for t in triggers if closed and closed.closed_on and t.on > closed.closed_on]
        occurrences.append(Planned(occurrence, due, texts))
        if not later:
            break
        occurrence += 1
        due = later[0].on
        texts = tuple(t.text for t in later)
    return Plan(tuple(occurrences))


SURGICAL_CONSULT_URGENT: Rule = Rule(
    code="surgical_consult_urgent",
    title="Immediate surgical consultation",
    guidance="Immediate surgical consultation. Conservative management is "
    "contraindicated with a neurological deficit; progressive neurological "
    "deterioration demands urgent decompression regardless of fracture age.",
    seed_refs=("000", "002", "003"),
    group="branch",
    phases=OPEN_PHASES,
    anchor="trigger",
    trigger="neurological deficit, instability, canal compromise / cord compression, "
    "or progressive neurological deterioration",
    priority="urgent",
    outcomes=("surgery_planned", "surgery_not_indicated"),
    planner=plan_surgical_consult_urgent,
)


def deformity_surgical(ctx: Context) -> list[Trigger]:
    out = []
    kyph = ctx.first_at_least("kyphosis_pct", SURGICAL_KYPHOSIS_PCT)
    if kyph is not None:
        out.append(Trigger(kyph.effective_date, f"kyphosis {fmt_value(kyph.value)} % (>= 15 %)"))
    height = ctx.first_at_least("height_loss_pct", SURGICAL_HEIGHT_LOSS_PCT)
    if height is not None:
        out.append(
            Trigger(
                height.effective_date,
                f"vertebral height loss {fmt_value(height.value)} % (>= 20 %)",
            )
        )
    return in_date_order(out)


def plan_surgical_consult(ctx: Context, rule: Rule) -> Plan:
    triggers = deformity_surgical(ctx)
    if not triggers:
        return Plan(why_not="no deformity at the surgical thresholds")
    return single_plan(triggers[0].on, tuple(t.text for t in triggers))


SURGICAL_CONSULT: Rule = Rule(
    code="surgical_consult",
    title="Surgical consultation for deformity",
    guidance="Surgical consultation for spinal deformity (kyphosis >= 15 %, vertebral "
    "body height loss >= 20 %, junctional kyphosis, retropulsion).",
    seed_refs=("000", "003"),
    group="branch",
    phases=OPEN_PHASES,
    anchor="trigger",
    trigger="kyphosis >= 15 % or vertebral body height loss >= 20 %",
    # "Immediately" but not urgent in the spec: high priority, default grace.
    priority="high",
    outcomes=("surgery_planned", "surgery_not_indicated"),
    planner=plan_surgical_consult,
)


def malignancy_suspected(ctx: Context) -> Trigger | None:
    """Derived once per evaluation: the branch, the phase and the planners ask."""
    return ctx.once(_malignancy_suspected)


def _malignancy_suspected(ctx: Context) -> Trigger | None:
    if ctx.facts.etiology == "pathologic_suspected":
        return Trigger(ctx.identified, "etiology recorded as pathologic (suspected)")
    obs = ctx.flag_on("malignancy_suspected")
    if obs is not None:
        return Trigger(obs.effective_date, f"malignancy suspected on {iso(obs.effective_date)}")
    red = ctx.person_closed("red_flag_screen")
    if red is not None and red.outcome == "red_flags_found" and red.closed_on is not None:
        return Trigger(red.closed_on, f"red flags found on screening ({iso(red.closed_on)})")
    return None


def pathologic_confirmed(ctx: Context) -> Trigger | None:
    """Derived once per evaluation: the branch, the phase and the planners ask."""
    return ctx.once(_pathologic_confirmed)


def _pathologic_confirmed(ctx: Context) -> Trigger | None:
    if ctx.facts.etiology == "pathologic_confirmed":
        return Trigger(ctx.identified, "etiology recorded as pathologic (confirmed)")
    obs = ctx.flag_on("pathologic_confirmed")
    if obs is not None:
        return Trigger(
            obs.effective_date, f"pathologic fracture confirmed on {iso(obs.effective_date)}"
        )
    return None


def branch_due(ctx: Context, rule: Rule, trig: Trigger) -> date:
    """Day 7 (from ``identified``: the spec names no other anchor), but a
    suspicion that arises later is due on the day it arises, never before it
    existed."""
    return max(add_days(ctx.identified, rule.offset_days), trig.on)


def plan_malignancy_workup(ctx: Context, rule: Rule) -> Plan:
    trig = malignancy_suspected(ctx) or pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="malignancy no longer suspected")
    contrast = [i for i in ctx.mris() if i.contrast and i.performed_date >= trig.on]
    done = (
        (
            contrast[0].performed_date,
            f"MRI with contrast performed on {iso(contrast[0].performed_date)}",
        )
        if contrast
        else None
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text,), done=done)


MALIGNANCY_WORKUP: Rule = Rule(
    code="malignancy_workup",
    title="Malignancy work-up: MRI whole spine with contrast",
    guidance="MRI of the complete spine without and with IV contrast; image-guided "
    "biopsy if imaging is ambiguous.",
    seed_refs=("002", "000"),
    group="branch",
    phases=OPEN_PHASES,
    anchor="identified (not before the trigger)",
    offset_days=7,
    trigger="malignancy suspected (known malignancy, atypical features, multiple "
    "fractures with atypical features)",
    priority="high",
    completes_by="an MRI with contrast after the suspicion",
    planner=plan_malignancy_workup,
)


def plan_oncology_mdt(ctx: Context, rule: Rule) -> Plan:
    trig = pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="pathologic fracture not confirmed")
    severe: list[str] = []
    pain = ctx.latest("pain_nrs")
    if pain is not None and float(pain.value) >= 7:
        severe.append(f"severe pain (NRS {fmt_value(pain.value)})")
    if ctx.flag_on("worsening_symptoms"):
        severe.append("worsening pain")
    if deformity_surgical(ctx) or early_deformity(ctx):
        severe.append("deformity")
    if ctx.flag_on("pulmonary_dysfunction"):
        severe.append("pulmonary dysfunction")
    if surgical_urgent_triggers(ctx):
        severe.append("neurological effects")
    advice = (
        "multidisciplinary IR + surgery + radiation oncology (" + ", ".join(severe) + ")"
        if severe
        else "radiation oncology consult (asymptomatic)"
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text, f"recommended: {advice}"))


ONCOLOGY_MDT: Rule = Rule(
    code="oncology_mdt",
    title="Oncology referral for pathologic fracture",
    guidance="Radiation oncology consult if asymptomatic; multidisciplinary "
    "interventional radiology + surgery + radiation oncology if severe or worsening "
    "pain, deformity, pulmonary dysfunction or neurological effects.",
    seed_refs=("002",),
    group="branch",
    phases=OPEN_PHASES,
    anchor="identified (not before the trigger)",
    offset_days=7,
    trigger="pathologic fracture confirmed",
    priority="high",
    planner=plan_oncology_mdt,
)


RULES: tuple[Rule, ...] = (
    SURGICAL_CONSULT_URGENT,
    SURGICAL_CONSULT,
    MALIGNANCY_WORKUP,
    ONCOLOGY_MDT,
)
