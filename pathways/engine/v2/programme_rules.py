"""Version 2: the patient's bone-health programme (pathway-spec V2.1, V2.2).

One programme per patient, whatever the number of fractures: its tasks
belong to the patient (unique key patient + rule + occurrence), so a second
fracture never duplicates the DXA, renal, duration-review or denosumab
series nor re-raises a task a clinician closed. The planners read their
numbers from the rule (anchor offset, recurrence) -- one place per number.

Seed lines are cited as file:line of docs/seeds (000-004).
"""

from __future__ import annotations

from datetime import date

from pathways.engine.context import (
    ANTI_OSTEOPOROSIS,
    BISPHOSPHONATES,
    BmdChange,
    Context,
)
from pathways.engine.dates import add_days, add_months
from pathways.engine.programme import ProgrammeContext
from pathways.engine.ruleset import Plan, Planned, Rule
from pathways.engine.v2 import exposure

ALL_PHASES = frozenset(
    {"triage", "acute", "conservative", "augmentation_review", "bone_health", "surgical",
     "pathologic_workup"}
)  # fmt: skip
# "falls more than 4 % per year" (004:91-92): strictly more than 4 %.
BMD_DECLINE_PCT_PER_YEAR = 4.0
# Two DXAs of the same site form a "yearly interval" when 10-14 months apart
# (pathway-spec V2.2; project convention around 004:53 "yearly").
YEARLY_INTERVAL_MONTHS = (10, 14)
# The 3- and 5-year bisphosphonate duration reviews (004:85 "3-5 years
# initially, longer in patients who remain at high risk").
DURATION_REVIEW_YEARS = (3, 5)
# Calcitonin is not the patient's anti-osteoporosis therapy while any of these
# covers the day (V2.2).
OTHER_THERAPY = ANTI_OSTEOPOROSIS


def _pctx(ctx: Context) -> ProgrammeContext:
    assert isinstance(ctx, ProgrammeContext)
    return ctx


def _series(rule: Rule, first_due: date, why: str, ctx: Context) -> Plan:
    """A recurring series from ``first_due`` every ``rule.recurs_months``; each
    occurrence is missed when the next one is raised (pathway-spec, task
    states), and one occurrence past today is planned for the projected plan."""
    occurrences: list[Planned] = []
    n = 1
    due = first_due
    while True:
        nxt = add_months(first_due, rule.recurs_months * n)
        occurrences.append(
            Planned(
                n,
                due,
                (why,),
                superseded_on=add_days(nxt, -rule.effective_lead),
                superseded_why=f"the next {rule.title.lower()} was raised",
            )
        )
        if add_days(due, -rule.effective_lead) > ctx.as_of:
            break
        n += 1
        due = nxt
    return Plan(tuple(occurrences))


# ----------------------------------------------------------- always (once) --
def plan_calcium_vitamin_d(ctx: Context, rule: Rule) -> Plan:
    p = _pctx(ctx)
    calcium = ctx.meds({"calcium"})
    vitamin_d = ctx.meds({"vitamin_d"})
    done = None
    if calcium and vitamin_d:
        on = max(calcium[0].start_date, vitamin_d[0].start_date, p.first_identified)
        done = (on, "calcium and vitamin D recorded")
    return Plan(
        (Planned(1, p.first_identified, (f"first fracture identified on {p.first_identified}",),
                 done=done),)
    )  # fmt: skip


def plan_falls_prevention(ctx: Context, rule: Rule) -> Plan:
    p = _pctx(ctx)
    return Plan(
        (Planned(1, p.first_identified, (f"first fracture identified on {p.first_identified}",)),)
    )


def plan_new_fracture_screen(ctx: Context, rule: Rule) -> Plan:
    p = _pctx(ctx)
    first = add_months(p.first_identified, rule.offset_months)
    return _series(rule, first, f"yearly since the fracture of {p.first_identified}", ctx)


# ------------------------------------------------------------------- DXA --
def treatment_start(ctx: Context) -> tuple[date, str] | None:
    """First start of anti-osteoporosis treatment (long-term calcitonin counts)."""
    starts = [(m.start_date, m.drug) for m in ctx.meds(ANTI_OSTEOPOROSIS)]
    for med in ctx.meds({"calcitonin"}):
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
    anchor, anchor_text = start_date, f"{drug.replace('_', ' ')} started on {start_date}"
    for n in range(1, len(scan_dates) + 2):
        done_on = scan_dates[n - 1] if n - 1 < len(scan_dates) else None
        if done_on is None and not on_any_treatment(ctx, ctx.as_of):
            break
        occurrences.append(
            Planned(
                n,
                add_months(anchor, rule.offset_months),
                (anchor_text,),
                done=(done_on, f"DXA performed on {done_on}") if done_on else None,
            )
        )
        if done_on is None:
            break
        anchor, anchor_text = done_on, f"last DXA on {done_on}"
    if not occurrences:
        return Plan(why_not="not on anti-osteoporosis treatment")
    return Plan(tuple(occurrences))


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
    return bool(exposure.long_term_calcitonin(ctx, day) or ctx.active({"calcitonin"}, day)) and (
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


def plan_calcitonin_restart(ctx: Context, rule: Rule) -> Plan:
    """004:92: after calcitonin used beyond the 4-week course was stopped, the
    latest yearly interval fell > 4 % and no other therapy is active."""
    stopped = [
        m
        for m in ctx.meds({"calcitonin"})
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
            and not ctx.active({"calcitonin"}, latest.to)
            and not exposure.on_treatment(ctx, OTHER_THERAPY, latest.to)
        ):
            hits.setdefault(
                latest.to,
                f"calcitonin stopped on {stop}; {site.replace('_', ' ')} BMD fell "
                f"{shown_fall(latest)} % a year by {latest.to}",
            )
    if not hits:
        return Plan(why_not="no yearly BMD fall over 4 % after calcitonin was stopped")
    return Plan(tuple(Planned(n, on, (hits[on],)) for n, on in enumerate(sorted(hits), start=1)))


# ------------------------------------------------------- bisphosphonates --
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


def plan_renal_function(ctx: Context, rule: Rule) -> Plan:
    """004:87 "monitor renal function with chronic use": yearly while a
    bisphosphonate covers the day, counted from the current course's start."""
    covering = exposure.on_treatment(ctx, BISPHOSPHONATES, ctx.as_of)
    if not covering:
        return Plan(why_not="no bisphosphonate active")
    start = ctx.course_start(BISPHOSPHONATES, ctx.as_of) or min(m.start_date for m in covering)
    return _series(
        rule,
        add_months(start, rule.offset_months),
        f"bisphosphonate since {start}",
        ctx,
    )


# ------------------------------------------------------------- denosumab --
def plan_denosumab_dose(ctx: Context, rule: Rule) -> Plan:
    doses = sorted(ctx.meds({"denosumab"}), key=lambda m: m.start_date)
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
                (f"denosumab dose on {dose.start_date}",),
                done=(nxt.start_date, f"denosumab dose given on {nxt.start_date}") if nxt else None,
                priority=priority,
            )
        )
    if not occurrences:
        return Plan(why_not="denosumab stopped")
    return Plan(tuple(occurrences))


# ------------------------------------------------------- treatment failure --
def plan_treatment_failure_review(ctx: Context, rule: Rule) -> Plan:
    """A fracture identified while an anti-osteoporosis drug covers the day."""
    p = _pctx(ctx)
    occurrences: list[Planned] = []
    for episode in p.episodes:
        # Started before the fracture: a drug started that day is the
        # response to it, not a treatment that failed.
        drugs = [
            m
            for m in exposure.anti_osteoporosis_on(ctx, episode.identified_date)
            if m.start_date < episode.identified_date
        ]
        if not drugs:
            continue
        drug = drugs[0]
        occurrences.append(
            Planned(
                len(occurrences) + 1,
                episode.identified_date,
                (
                    f"fracture identified on {episode.identified_date} while on "
                    f"{drug.drug.replace('_', ' ')} (since {drug.start_date})",
                ),
            )
        )
    if not occurrences:
        return Plan(why_not="no fracture while on anti-osteoporosis treatment")
    return Plan(tuple(occurrences))


# -------------------------------------------------- medication reconciliation --
def plan_medication_reconciliation(ctx: Context, rule: Rule) -> Plan:
    """One task while any imported prescription is unverified (V2.4)."""
    p = _pctx(ctx)
    unverified = [m for m in ctx.medications if m.unverified]
    task = ctx.tasks.get((rule.code, 1))
    if not unverified:
        if task is None:
            return Plan(why_not="no unverified prescription")
        # Verifying the last prescription is what the task asks for.
        return Plan(
            (
                Planned(
                    1,
                    p.entered_on,
                    ("imported prescriptions",),
                    done=(ctx.as_of, "every imported prescription verified"),
                ),
            )
        )
    names = ", ".join(sorted({m.drug.replace("_", " ") for m in unverified}))
    return Plan((Planned(1, p.entered_on, (f"imported prescriptions not verified: {names}",)),))
