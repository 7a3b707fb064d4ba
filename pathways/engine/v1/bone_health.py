"""Version 1, bone health (long term): DXA, calcitonin as bone therapy,
bisphosphonates, denosumab, the 12-month screen and falls (pathway-spec
"Bone health"). Patient-level rules live on the patient's newest open
episode: version 1 has no programme."""

from __future__ import annotations

from datetime import date

from pathways.engine.context import (
    ANTI_OSTEOPOROSIS,
    BISPHOSPHONATES,
    BMD_DECLINE_PCT_PER_YEAR,
    CALCITONIN,
    DENOSUMAB,
    BmdChange,
    Context,
)
from pathways.engine.dates import add_days, add_months, iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Planned, Rule, single_plan
from pathways.engine.v1.acute import plan_always_day0


def treatment_start(ctx: Context) -> tuple[date, str] | None:
    """First start of anti-osteoporosis treatment (or long-term calcitonin)."""
    starts = [(m.start_date, m.drug) for m in ctx.meds(ANTI_OSTEOPOROSIS)]
    for med in ctx.meds(CALCITONIN):
        # Calcitonin beyond the 4-week acute course is osteoporosis treatment
        # (seed 004 monitors its BMD yearly).
        long_term = add_days(med.start_date, 28)
        if med.stop_date is not None:
            if long_term < med.stop_date:
                starts.append((med.start_date, "calcitonin"))
        elif ctx.reached(long_term):
            starts.append((med.start_date, "calcitonin"))
    return min(starts) if starts else None


def on_treatment(ctx: Context) -> bool:
    """On anti-osteoporosis treatment as of ``as_of`` (long-term calcitonin counts)."""
    if ctx.any_active(ANTI_OSTEOPOROSIS, ctx.as_of):
        return True
    return any(
        m.active_on(ctx.as_of) and ctx.reached(add_days(m.start_date, 28))
        for m in ctx.meds(CALCITONIN)
    )


def plan_bmd_dxa(ctx: Context, rule: Rule) -> Plan:
    start = treatment_start(ctx)
    if start is None:
        return Plan(why_not="not on anti-osteoporosis treatment")
    start_date, drug = start
    scan_dates = sorted({s.performed_date for s in ctx.dxa if s.performed_date > start_date})
    occurrences = []
    anchor = start_date
    anchor_text = f"{drug} started on {iso(start_date)}"
    for n in range(1, len(scan_dates) + 2):
        due = add_months(anchor, 12)
        done_on = scan_dates[n - 1] if n - 1 < len(scan_dates) else None
        if done_on is None and not on_treatment(ctx):
            break
        if done_on is None:
            # "first one: treatment start + 12 months": after a break in
            # treatment (a gap of more than COURSE_GAP_DAYS) the current
            # course's start counts, not a start or a DXA from years before.
            course = ctx.course_start(ANTI_OSTEOPOROSIS, ctx.as_of)
            if course is not None and course > anchor:
                due = add_months(course, 12)
                anchor_text = f"treatment restarted on {iso(course)}"
        if done_on is None:
            occurrences.append(Planned(n, due, (anchor_text,)))
            break
        shown = iso(done_on)
        occurrences.append(
            Planned(n, due, (anchor_text,), done=(done_on, f"DXA performed on {shown}"))
        )
        anchor = done_on
        anchor_text = f"last DXA on {shown}"
    if not occurrences:
        return Plan(why_not="not on anti-osteoporosis treatment")
    return Plan(tuple(occurrences))


BMD_DXA: Rule = Rule(
    code="bmd_dxa",
    title="Yearly bone density (DXA)",
    guidance="Yearly bone mineral density (DXA) while on treatment.",
    seed_refs=("004",),
    group="bone_health",
    phases=OPEN_PHASES,
    anchor="last DXA (first: treatment start)",
    offset_months=12,
    recurs_months=12,
    trigger="on anti-osteoporosis treatment",
    patient_level=True,
    completes_by="a DXA",
    planner=plan_bmd_dxa,
)


def plan_calcitonin_switch(ctx: Context, rule: Rule) -> Plan:
    by_site: dict[str, list[BmdChange]] = {}
    for change in ctx.bmd_series():
        by_site.setdefault(change.site, []).append(change)
    hits: dict[date, str] = {}
    for site, changes in by_site.items():
        for first, second in zip(changes, changes[1:], strict=False):
            # "falls more than 4 % per year over two successive years" (seed 004):
            # two successive yearly changes, both below -4 %/yr, on calcitonin.
            if (
                first.pct_per_year < BMD_DECLINE_PCT_PER_YEAR
                and second.pct_per_year < BMD_DECLINE_PCT_PER_YEAR
                and ctx.any_active(CALCITONIN, second.to)
            ):
                hits.setdefault(
                    second.to,
                    f"{site.replace('_', ' ')} BMD fell {first.shown} %/yr then "
                    f"{second.shown} %/yr on calcitonin",
                )
    if not hits:
        return Plan(why_not="no two successive yearly BMD falls > 4 % on calcitonin")
    return Plan(tuple(Planned(n, on, (hits[on],)) for n, on in enumerate(sorted(hits), start=1)))


CALCITONIN_SWITCH: Rule = Rule(
    code="calcitonin_switch",
    title="Switch calcitonin to a bisphosphonate",
    guidance="BMD fell more than 4 % a year on two successive yearly DXAs on calcitonin: "
    "switch to a bisphosphonate.",
    seed_refs=("004",),
    group="bone_health",
    phases=OPEN_PHASES,
    anchor="the second DXA",
    trigger="on calcitonin and BMD fell > 4 %/yr on two successive yearly DXAs",
    priority="high",
    patient_level=True,
    planner=plan_calcitonin_switch,
)


def plan_calcitonin_restart(ctx: Context, rule: Rule) -> Plan:
    stopped = [m.stop_date for m in ctx.meds(CALCITONIN) if m.stop_date is not None]
    if not stopped:
        return Plan(why_not="calcitonin never stopped")
    stop = max(stopped)
    latest_by_site: dict[str, BmdChange] = {}
    for change in ctx.bmd_series():
        latest_by_site[change.site] = change
    hits: dict[date, str] = {}
    for site, change in latest_by_site.items():
        if (
            change.pct_per_year < BMD_DECLINE_PCT_PER_YEAR
            and change.to > stop
            and not ctx.any_active(CALCITONIN, change.to)
        ):
            hits.setdefault(
                change.to,
                f"calcitonin stopped on {iso(stop)}; {site.replace('_', ' ')} BMD fell "
                f"{change.shown} %/yr by {iso(change.to)}",
            )
    if not hits:
        return Plan(why_not="no yearly BMD fall > 4 % after calcitonin was stopped")
    return Plan(tuple(Planned(n, on, (hits[on],)) for n, on in enumerate(sorted(hits), start=1)))


CALCITONIN_RESTART: Rule = Rule(
    code="calcitonin_restart",
    title="Consider restarting calcitonin",
    guidance="Calcitonin was stopped and the latest yearly BMD fell more than 4 %: "
    "consider restarting calcitonin.",
    seed_refs=("004",),
    group="bone_health",
    phases=OPEN_PHASES,
    anchor="the DXA",
    trigger="calcitonin stopped and the latest yearly BMD fell > 4 %",
    priority="high",
    patient_level=True,
    planner=plan_calcitonin_restart,
)


def plan_bisphosphonate_duration(ctx: Context, rule: Rule) -> Plan:
    start = ctx.course_start(BISPHOSPHONATES, ctx.as_of)
    if start is None:
        return Plan(why_not="no bisphosphonate active")
    return single_plan(add_months(start, 36), (f"bisphosphonate course since {iso(start)}",))


BISPHOSPHONATE_DURATION_REVIEW: Rule = Rule(
    code="bisphosphonate_duration_review",
    title="Review bisphosphonate duration",
    guidance="Review treatment duration: 3-5 years initially, longer if still at high "
    "risk; watch for osteonecrosis of the jaw and atypical femoral fracture.",
    seed_refs=("004",),
    group="bone_health",
    phases=OPEN_PHASES,
    anchor="bisphosphonate course start",
    offset_months=36,
    trigger="bisphosphonate active",
    patient_level=True,
    planner=plan_bisphosphonate_duration,
)


def plan_renal_function(ctx: Context, rule: Rule) -> Plan:
    start = ctx.course_start(BISPHOSPHONATES, ctx.as_of)
    if start is None:
        return Plan(why_not="no bisphosphonate active")
    # A long course plans many yearly checks: the trigger is worded once and
    # each due date is worked out once (it is the previous check's "next").
    triggers = (f"bisphosphonate course since {iso(start)}",)
    lead = rule.effective_lead
    occurrences: list[Planned] = []
    n = 1
    due = add_months(start, 12)
    while True:
        nxt = add_months(start, 12 * (n + 1))
        occurrences.append(
            Planned(
                n,
                due,
                triggers,
                superseded_on=add_days(nxt, -lead),
                superseded_why="next yearly renal check raised",
            )
        )
        # Plan one occurrence past today so the projected plan shows it; the
        # day the next one joins the plan is watched (next_review).
        if not ctx.reached(add_days(due, -lead)):
            break
        n += 1
        due = nxt
    return Plan(tuple(occurrences))


RENAL_FUNCTION: Rule = Rule(
    code="renal_function",
    title="Check renal function (bisphosphonate)",
    guidance="Check renal function on chronic bisphosphonate therapy.",
    seed_refs=("004",),
    group="bone_health",
    phases=OPEN_PHASES,
    anchor="bisphosphonate course start",
    offset_months=12,
    recurs_months=12,
    trigger="bisphosphonate active",
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
            break  # therapy stopped: no next dose is due
        occurrences.append(
            Planned(
                n,
                add_months(dose.start_date, 6),
                (f"denosumab dose on {iso(dose.start_date)}",),
                done=(nxt.start_date, f"denosumab dose given on {iso(nxt.start_date)}")
                if nxt
                else None,
            )
        )
    if not occurrences:
        return Plan(why_not="denosumab stopped")
    return Plan(tuple(occurrences))


DENOSUMAB_DOSE: Rule = Rule(
    code="denosumab_dose",
    title="Next denosumab 60 mg SC dose",
    guidance="Next denosumab 60 mg SC dose, every 6 months. Do not let it lapse: "
    "stopping denosumab is followed by rapid bone loss.",
    seed_refs=("003",),
    group="bone_health",
    phases=OPEN_PHASES,
    anchor="last dose",
    offset_months=6,
    recurs_months=6,
    trigger="denosumab active",
    grace_days=28,
    patient_level=True,
    completes_by="a denosumab dose",
    planner=plan_denosumab_dose,
)


def plan_new_fracture_screen(ctx: Context, rule: Rule) -> Plan:
    return single_plan(ctx.twelve_months, ("12 months after identification",))


NEW_FRACTURE_SCREEN: Rule = Rule(
    code="new_fracture_screen_12m",
    title="Screen for a new vertebral fracture (12 months)",
    guidance="Screen for a new vertebral fracture (20 % risk within 12 months): height "
    "loss, new back pain; MRI if symptoms changed.",
    seed_refs=("000", "003"),
    group="bone_health",
    phases=OPEN_PHASES,
    anchor="identified",
    offset_months=12,
    trigger="always",
    planner=plan_new_fracture_screen,
)


FALLS_PREVENTION: Rule = Rule(
    code="falls_prevention",
    title="Falls risk assessment and prevention",
    guidance="Fall-risk assessment and fall-prevention education.",
    seed_refs=("001",),
    group="acute",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="always",
    planner=plan_always_day0,
)


RULES: tuple[Rule, ...] = (
    BMD_DXA,
    CALCITONIN_SWITCH,
    CALCITONIN_RESTART,
    BISPHOSPHONATE_DURATION_REVIEW,
    RENAL_FUNCTION,
    DENOSUMAB_DOSE,
    NEW_FRACTURE_SCREEN,
    FALLS_PREVENTION,
)
