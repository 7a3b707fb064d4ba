"""Version 2, bone density in the programme (pathway-spec V2.2): the yearly
DXA while on treatment, and calcitonin as bone therapy -- switched when BMD
keeps falling on it, restarted when BMD falls after it was stopped."""

from __future__ import annotations

from datetime import date

from pathways.engine.context import ANTI_OSTEOPOROSIS, CALCITONIN, BmdChange, Context
from pathways.engine.dates import add_days, add_months, iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Planned, Rule
from pathways.engine.v2 import exposure

# "falls more than 4 % per year" (004:91-92): strictly more than 4 %.
BMD_DECLINE_PCT_PER_YEAR = 4.0
# Two DXAs of the same site form a "yearly interval" when 10-14 months apart
# (pathway-spec V2.2; project convention around 004:53 "yearly").
YEARLY_INTERVAL_MONTHS = (10, 14)
# Calcitonin is not the patient's anti-osteoporosis therapy while any of these
# covers the day (V2.2).
OTHER_THERAPY = ANTI_OSTEOPOROSIS


def treatment_start(ctx: Context) -> tuple[date, str] | None:
    """First start of anti-osteoporosis treatment (long-term calcitonin counts)."""
    starts = [(m.start_date, m.drug) for m in ctx.meds(ANTI_OSTEOPOROSIS)]
    for med in ctx.meds(CALCITONIN):
        if exposure.used_beyond_course(med, ctx.as_of):
            starts.append((med.start_date, "calcitonin"))
        elif med.stop_date is None:
            ctx.watch(add_days(med.start_date, exposure.CALCITONIN_COURSE_DAYS + 1))
    return min(starts) if starts else None


def on_any_treatment(ctx: Context, day: date) -> bool:
    return bool(exposure.anti_osteoporosis_on(ctx, day) or exposure.long_term_calcitonin(ctx, day))


def plan_bmd_dxa(ctx: Context, rule: Rule) -> Plan:
    """Yearly DXA while on treatment (004:53): the first one the rule's offset
    after treatment starts, then the offset after the last DXA."""
    start = treatment_start(ctx)
    if start is None:
        return Plan(why_not="not on anti-osteoporosis treatment")
    start_date, drug = start
    scan_dates = sorted({s.performed_date for s in ctx.dxa if s.performed_date > start_date})
    occurrences = []
    anchor, anchor_text = start_date, f"{drug.replace('_', ' ')} started on {iso(start_date)}"
    for n in range(1, len(scan_dates) + 2):
        done_on = scan_dates[n - 1] if n - 1 < len(scan_dates) else None
        if done_on is None and not on_any_treatment(ctx, ctx.as_of):
            break
        occurrences.append(
            Planned(
                n,
                add_months(anchor, rule.offset_months),
                (anchor_text,),
                done=(done_on, f"DXA performed on {iso(done_on)}") if done_on else None,
            )
        )
        if done_on is None:
            break
        anchor, anchor_text = done_on, f"last DXA on {iso(done_on)}"
    if not occurrences:
        return Plan(why_not="not on anti-osteoporosis treatment")
    return Plan(tuple(occurrences))


BMD_DXA: Rule = Rule(
    code="bmd_dxa",
    title="Yearly bone density (DXA)",
    guidance="Monitor bone mineral density yearly while on treatment (004:53).",
    seed_refs=("004:53",),
    group="programme",
    phases=OPEN_PHASES,
    anchor="last DXA (first: treatment start)",
    offset_months=12,
    recurs_months=12,
    trigger="on anti-osteoporosis treatment",
    patient_level=True,
    completes_by="a DXA",
    planner=plan_bmd_dxa,
)


def yearly_changes(ctx: Context) -> dict[str, list[BmdChange]]:
    """Annualised BMD changes per site over yearly intervals only (10-14 months)."""
    low, high = YEARLY_INTERVAL_MONTHS
    by_site: dict[str, list[BmdChange]] = {}
    for change in ctx.bmd_series():
        if add_months(change.start, low) <= change.to <= add_months(change.start, high):
            by_site.setdefault(change.site, []).append(change)
    return by_site


def fell(change: BmdChange) -> bool:
    # Unrounded (V2.2): the shown figure is rounded the same way, see shown_fall.
    return change.pct_per_year < -BMD_DECLINE_PCT_PER_YEAR


def shown_fall(change: BmdChange) -> str:
    """The fall as shown: never "4.0 %" for a rule that fired at > 4 %."""
    value = -change.pct_per_year
    text = f"{value:.1f}"
    if float(text) <= BMD_DECLINE_PCT_PER_YEAR:
        text = f"{value:.3f}".rstrip("0")
    return text


def calcitonin_is_the_therapy(ctx: Context, day: date) -> bool:
    return bool(exposure.long_term_calcitonin(ctx, day) or ctx.any_active(CALCITONIN, day)) and (
        not exposure.on_treatment(ctx, OTHER_THERAPY, day)
    )


def plan_calcitonin_switch(ctx: Context, rule: Rule) -> Plan:
    """004:91: BMD falls > 4 %/yr over two successive yearly intervals, while
    calcitonin is the patient's anti-osteoporosis therapy -> switch."""
    hits: dict[date, str] = {}
    for site, changes in yearly_changes(ctx).items():
        for first, second in zip(changes, changes[1:], strict=False):
            if first.to != second.start:
                continue  # not successive intervals
            if fell(first) and fell(second) and calcitonin_is_the_therapy(ctx, second.to):
                hits.setdefault(
                    second.to,
                    f"{site.replace('_', ' ')} BMD fell {shown_fall(first)} % then "
                    f"{shown_fall(second)} % a year on calcitonin alone",
                )
    if not hits:
        return Plan(why_not="no two successive yearly BMD falls over 4 % on calcitonin alone")
    return Plan(tuple(Planned(n, on, (hits[on],)) for n, on in enumerate(sorted(hits), start=1)))


CALCITONIN_SWITCH: Rule = Rule(
    code="calcitonin_switch",
    title="Switch calcitonin to a bisphosphonate",
    guidance="If bone mineral density falls more than 4 % per year over two successive "
    "years on calcitonin, switch to a bisphosphonate (004:91).",
    seed_refs=("004:91",),
    group="programme",
    phases=OPEN_PHASES,
    anchor="the second DXA",
    trigger="calcitonin is the only anti-osteoporosis therapy and BMD fell more than 4 % "
    "a year over two successive yearly intervals (DXAs 10-14 months apart)",
    priority="high",
    patient_level=True,
    planner=plan_calcitonin_switch,
)


def plan_calcitonin_restart(ctx: Context, rule: Rule) -> Plan:
    """004:92: after calcitonin used beyond the 4-week course was stopped, the
    latest yearly interval fell > 4 % and no other therapy is active."""
    stopped = [
        m
        for m in ctx.meds(CALCITONIN)
        if m.stop_date is not None and exposure.used_beyond_course(m, ctx.as_of)
    ]
    if not stopped:
        return Plan(why_not="calcitonin was not used beyond the 4-week course and stopped")
    stop = max(m.stop_date for m in stopped if m.stop_date is not None)
    hits: dict[date, str] = {}
    for site, changes in yearly_changes(ctx).items():
        latest = changes[-1]
        if (
            fell(latest)
            and latest.to > stop
            and not ctx.any_active(CALCITONIN, latest.to)
            and not exposure.on_treatment(ctx, OTHER_THERAPY, latest.to)
        ):
            hits.setdefault(
                latest.to,
                f"calcitonin stopped on {iso(stop)}; {site.replace('_', ' ')} BMD fell "
                f"{shown_fall(latest)} % a year by {iso(latest.to)}",
            )
    if not hits:
        return Plan(why_not="no yearly BMD fall over 4 % after calcitonin was stopped")
    return Plan(tuple(Planned(n, on, (hits[on],)) for n, on in enumerate(sorted(hits), start=1)))


CALCITONIN_RESTART: Rule = Rule(
    code="calcitonin_restart",
    title="Consider restarting calcitonin",
    guidance="After stopping calcitonin, restart it if yearly bone mineral density falls "
    "more than 4 % (004:92).",
    seed_refs=("004:92",),
    group="programme",
    phases=OPEN_PHASES,
    anchor="the DXA",
    trigger="calcitonin used beyond the 4-week course was stopped, no other "
    "anti-osteoporosis drug is on treatment, and the latest yearly interval fell "
    "more than 4 %",
    priority="high",
    patient_level=True,
    planner=plan_calcitonin_restart,
)


RULES: tuple[Rule, ...] = (BMD_DXA, CALCITONIN_SWITCH, CALCITONIN_RESTART)
