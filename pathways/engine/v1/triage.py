"""Version 1, triage: the work raised when the fracture is recorded
(pathway-spec "Triage")."""

from __future__ import annotations

from pathways.engine.context import Context, fmt_value
from pathways.engine.dates import add_days, iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Rule, single_plan


def plan_neuro_exam(ctx: Context, rule: Rule) -> Plan:
    done = None
    if ctx.facts.neuro_status in ("intact", "deficit"):
        done = (ctx.identified, f"neuro status recorded as {ctx.facts.neuro_status}")
    else:
        # The exam was done when it was first recorded; later records are
        # follow-up exams and must not move the completion date.
        obs = ctx.first("neuro_deficit")
        if obs is not None:
            done = (
                obs.effective_date,
                f"neuro deficit {fmt_value(obs.value)} recorded on {iso(obs.effective_date)}",
            )
    return single_plan(ctx.identified, ("episode identified",), done=done)


NEURO_EXAM: Rule = Rule(
    code="neuro_exam",
    title="Document a complete neurological exam",
    guidance="Document a complete neurological exam: motor function, sensory levels, "
    "reflexes and sphincter control. It is the baseline against which deterioration is "
    "judged; a deficit makes conservative management contraindicated.",
    seed_refs=("000", "002"),
    group="triage",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="always",
    priority="urgent",
    expires_at_12_months=True,
    completes_by="a neuro status of intact or deficit",
    planner=plan_neuro_exam,
)


def plan_red_flag_screen(ctx: Context, rule: Rule) -> Plan:
    done = None
    obs = ctx.first("malignancy_suspected")
    if obs is not None:
        done = (
            obs.effective_date,
            f"malignancy suspected = {fmt_value(obs.value)} recorded on {iso(obs.effective_date)}",
        )
    return single_plan(ctx.identified, ("episode identified",), done=done)


RED_FLAG_SCREEN: Rule = Rule(
    code="red_flag_screen",
    title="Screen red flags",
    guidance="Screen red flags: known malignancy, neurological symptoms, signs of "
    "instability, multiple fractures with atypical features. Close with the outcome "
    '"clear" or "red flags found".',
    seed_refs=("002", "000"),
    group="triage",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="always",
    expires_at_12_months=True,
    outcomes=("clear", "red_flags_found"),
    completes_by="a malignancy-suspected observation (true or false)",
    planner=plan_red_flag_screen,
)


def plan_mri_initial(ctx: Context, rule: Rule) -> Plan:
    # Triage rules are raised at episode creation, when the episode has no
    # facts yet, so "no MRI recorded for this episode" always holds then; any
    # MRI recorded afterwards -- the diagnostic one included -- is the fact the
    # task asks for and completes it (spec: "an MRI completes mri_initial").
    mris = ctx.mris()
    done = (
        (mris[0].performed_date, f"MRI performed on {iso(mris[0].performed_date)}")
        if mris
        else None
    )
    return single_plan(
        add_days(ctx.identified, rule.offset_days),
        ("no MRI recorded for this episode",),
        done=done,
    )


MRI_INITIAL: Rule = Rule(
    code="mri_initial",
    title="MRI spine without contrast",
    guidance="MRI of the spine without contrast: bone marrow edema means an acute "
    "fracture; it also separates osteoporotic from pathologic fractures.",
    seed_refs=("002",),
    group="triage",
    phases=OPEN_PHASES,
    anchor="identified",
    offset_days=7,
    trigger="no MRI recorded for this episode",
    expires_at_12_months=True,
    completes_by="an MRI",
    planner=plan_mri_initial,
)


RULES: tuple[Rule, ...] = (NEURO_EXAM, RED_FLAG_SCREEN, MRI_INITIAL)
