"""Version 2, triage: the neurological exam, the red-flag screen and the
first MRI, counted on the spine regions it shows (pathway-spec V2.3)."""

from __future__ import annotations

from pathways.engine.context import Context
from pathways.engine.dates import add_days, iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Rule, single_plan
from pathways.engine.v2.findings import region_label, spine_mris


def plan_neuro_exam(ctx: Context, rule: Rule) -> Plan:
    """Done on the date of the recorded exam (V2.3), not the identification date."""
    done = None
    obs = ctx.first("neuro_deficit")
    if obs is not None:
        done = (obs.effective_date, f"neurological exam recorded on {iso(obs.effective_date)}")
    elif ctx.facts.neuro_status in ("intact", "deficit"):
        # The status came with the episode: the exam was documented the day the
        # episode was recorded. An old record entered years later carries its
        # exam from the time of the fracture.
        on = ctx.facts.recorded_on
        if on >= ctx.twelve_months:
            on = ctx.identified
        done = (on, f"neurological status recorded as {ctx.facts.neuro_status} on {iso(on)}")
    return single_plan(ctx.identified, ("episode identified",), done=done)


NEURO_EXAM: Rule = Rule(
    code="neuro_exam",
    title="Document a complete neurological exam",
    guidance="Document a complete neurological examination to establish the baseline "
    "of motor function, sensory levels, reflexes and sphincter control (000:90). "
    "Conservative management is contraindicated when neurologic deficits are present "
    "(000:86).",
    seed_refs=("000:90", "000:86", "002:25"),
    group="triage",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="always",
    priority="urgent",
    expires_at_12_months=True,
    completes_by="a recorded neurological status or exam (done on the exam's date)",
    planner=plan_neuro_exam,
)


def plan_red_flag_screen(ctx: Context, rule: Rule) -> Plan:
    done = None
    obs = ctx.first("malignancy_suspected")
    if obs is not None:
        done = (obs.effective_date, f"red-flag screen recorded on {iso(obs.effective_date)}")
    return single_plan(ctx.identified, ("episode identified",), done=done)


RED_FLAG_SCREEN: Rule = Rule(
    code="red_flag_screen",
    title="Screen red flags",
    guidance="Assess red flags: known malignancy, neurological symptoms, signs of spinal "
    "instability (002:26). Multiple vertebral fractures should raise suspicion of "
    "malignancy, particularly with atypical clinical features (000:79). Close with the "
    'outcome "clear" or "red flags found".',
    seed_refs=("002:26", "000:79"),
    group="triage",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="always",
    expires_at_12_months=True,
    outcomes=("clear", "red_flags_found"),
    completes_by="a malignancy-suspected observation (yes or no)",
    planner=plan_red_flag_screen,
)


def plan_mri_initial(ctx: Context, rule: Rule) -> Plan:
    mris = spine_mris(ctx)
    done = (
        (mris[0].performed_date, f"MRI of the {region_label(mris[0].region)} on "
         f"{iso(mris[0].performed_date)}")
        if mris
        else None
    )  # fmt: skip
    return single_plan(
        add_days(ctx.identified, rule.offset_days), ("no spine MRI recorded yet",), done=done
    )


MRI_INITIAL: Rule = Rule(
    code="mri_initial",
    title="MRI spine without contrast",
    guidance="MRI of the spine without contrast: bone marrow edema indicates an acute "
    "injury, and it differentiates osteoporotic from pathologic fractures (002:24).",
    seed_refs=("002:24",),
    group="triage",
    phases=OPEN_PHASES,
    anchor="identified",
    offset_days=7,
    trigger="no spine MRI recorded for this episode",
    expires_at_12_months=True,
    completes_by="an MRI of a spine region (cervical, thoracic, lumbar or whole spine)",
    planner=plan_mri_initial,
)


RULES: tuple[Rule, ...] = (NEURO_EXAM, RED_FLAG_SCREEN, MRI_INITIAL)
