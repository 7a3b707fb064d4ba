"""Version 2, drug follow-up in the programme (pathway-spec V2.2): the
bisphosphonate duration reviews and yearly renal checks, and the 6-monthly
denosumab dose that must not lapse."""

from __future__ import annotations

from pathways.engine.context import BISPHOSPHONATES, DENOSUMAB, Context
from pathways.engine.dates import add_months, iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Planned, Rule
from pathways.engine.v2 import exposure
from pathways.engine.v2.follow_up import series

# The 3- and 5-year bisphosphonate duration reviews (004:85 "3-5 years
# initially, longer in patients who remain at high risk").
DURATION_REVIEW_YEARS = (3, 5)


def plan_bisphosphonate_duration(ctx: Context, rule: Rule) -> Plan:
    meds = ctx.meds(BISPHOSPHONATES)
    if not meds:
        return Plan(why_not="no bisphosphonate recorded")
    occurrences = []
    for n, years in enumerate(DURATION_REVIEW_YEARS, start=1):
        reached = exposure.date_exposure_reaches(meds, years, ctx.as_of)
        if reached is None:
            break
        occurrences.append(Planned(n, reached, (f"{years} years of bisphosphonate treatment",)))
    if not occurrences:
        return Plan(why_not="bisphosphonate paused before 3 years of treatment")
    return Plan(tuple(occurrences))


BISPHOSPHONATE_DURATION_REVIEW: Rule = Rule(
    code="bisphosphonate_duration_review",
    title="Review bisphosphonate duration",
    guidance="Bisphosphonates are prescribed for 3-5 years initially, longer in patients "
    "who remain at high risk (004:85); monitor for osteonecrosis of the jaw and "
    "atypical femoral fractures, whose risk increases with duration (004:86).",
    seed_refs=("004:85", "004:86"),
    group="programme",
    phases=OPEN_PHASES,
    anchor="3 and 5 years of cumulative bisphosphonate treatment (a gap pauses the count)",
    trigger="bisphosphonate treatment",
    patient_level=True,
    planner=plan_bisphosphonate_duration,
)


def plan_renal_function(ctx: Context, rule: Rule) -> Plan:
    """004:87 "monitor renal function with chronic use": yearly while a
    bisphosphonate covers the day, counted from the current course's start."""
    covering = exposure.on_treatment(ctx, BISPHOSPHONATES, ctx.as_of)
    if not covering:
        return Plan(why_not="no bisphosphonate active")
    start = ctx.course_start(BISPHOSPHONATES, ctx.as_of) or min(m.start_date for m in covering)
    return series(
        rule,
        add_months(start, rule.offset_months),
        f"bisphosphonate since {iso(start)}",
        ctx,
    )


RENAL_FUNCTION: Rule = Rule(
    code="renal_function",
    title="Check renal function (bisphosphonate)",
    guidance="Monitor renal function with chronic bisphosphonate use (004:87).",
    seed_refs=("004:87",),
    group="programme",
    phases=OPEN_PHASES,
    anchor="bisphosphonate course start",
    offset_months=12,
    recurs_months=12,
    trigger="bisphosphonate on treatment",
    patient_level=True,
    planner=plan_renal_function,
)


def plan_denosumab_dose(ctx: Context, rule: Rule) -> Plan:
    doses = sorted(ctx.meds(DENOSUMAB), key=lambda m: m.start_date)
    if not doses:
        return Plan(why_not="denosumab not started")
    occurrences = []
    for n, dose in enumerate(doses, start=1):
        nxt = doses[n] if n < len(doses) else None
        if nxt is None and dose.stop_date is not None:
            break  # therapy stopped on purpose: no next dose is due
        priority = ""
        if nxt is None:
            lapse = exposure.cover_end(dose)
            # A lapsed denosumab (past 6 months + 28 days) is no longer on
            # treatment and its dose turns high priority (V2.2): stopping
            # denosumab is followed by rapid bone loss.
            if lapse is not None and ctx.reached(lapse):
                priority = "high"
        occurrences.append(
            Planned(
                n,
                add_months(dose.start_date, rule.offset_months),
                (f"denosumab dose on {iso(dose.start_date)}",),
                done=(nxt.start_date, f"denosumab dose given on {iso(nxt.start_date)}")
                if nxt
                else None,
                priority=priority,
            )
        )
    if not occurrences:
        return Plan(why_not="denosumab stopped")
    return Plan(tuple(occurrences))


DENOSUMAB_DOSE: Rule = Rule(
    code="denosumab_dose",
    title="Next denosumab 60 mg SC dose",
    guidance="Denosumab 60 mg subcutaneously every 6 months (003:42). A dose more than "
    "28 days late means treatment has lapsed; the task then turns high priority "
    "(project convention, pathway-spec V2.2).",
    seed_refs=("003:42",),
    group="programme",
    phases=OPEN_PHASES,
    anchor="last dose",
    offset_months=6,
    recurs_months=6,
    trigger="denosumab on treatment",
    grace_days=28,
    patient_level=True,
    completes_by="a denosumab dose",
    planner=plan_denosumab_dose,
)


RULES: tuple[Rule, ...] = (BISPHOSPHONATE_DURATION_REVIEW, RENAL_FUNCTION, DENOSUMAB_DOSE)
