"""Treatment exposure (pathway-spec V2.2).

A drug is "on treatment" while its record is open, and also for the cover of
its last dose: zoledronic acid 12 months after an infusion, denosumab
6 months + 28 days after a dose. A lapsed denosumab is not on treatment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from pathways.engine.context import ANTI_OSTEOPOROSIS, CALCITONIN, Context
from pathways.engine.dates import add_days, add_months
from pathways.engine.facts import MedicationFact

# Cover of one dose, in months (V2.2): a yearly zoledronic acid infusion
# (004:59), denosumab 60 mg every 6 months (003:42) plus the 28 days' grace
# its dose task carries.
DOSE_COVER_MONTHS = {"zoledronic_acid": 12, "denosumab": 6}
DENOSUMAB_GRACE_DAYS = 28
# Calcitonin is osteoporosis therapy only beyond its 4-week analgesic course
# (004:26 "daily for 4 weeks"; 004:91-92 monitor it as bone therapy).
CALCITONIN_COURSE_DAYS = 28
# Project convention: a year of cumulative exposure is 365.25 days, so three
# continuous years reach 3 years on the third anniversary (+- a leap day).
DAYS_PER_YEAR = 365.25


def cover_end(med: MedicationFact) -> date | None:
    """The first day the record no longer covers; None while open-ended."""
    months = DOSE_COVER_MONTHS.get(med.drug)
    if months is None:
        return med.stop_date
    end = add_months(med.start_date, months)
    if med.drug == "denosumab":
        end = add_days(end, DENOSUMAB_GRACE_DAYS)
    if med.stop_date is not None and med.stop_date > end:
        end = med.stop_date
    return end


def covers(med: MedicationFact, day: date) -> bool:
    end = cover_end(med)
    return med.start_date <= day and (end is None or end > day)


def on_treatment(ctx: Context, drugs: frozenset[str], day: date) -> list[MedicationFact]:
    """Records of ``drugs`` covering ``day``; the cover's end is watched so the
    evaluation is reviewed the day a drug lapses."""
    out = []
    for med in ctx.medications:
        if med.drug in drugs and covers(med, day):
            out.append(med)
            end = cover_end(med)
            if end is not None:
                ctx.watch(end)
    return out


def long_term_calcitonin(ctx: Context, day: date) -> list[MedicationFact]:
    """Calcitonin records used beyond the 4-week analgesic course, active on ``day``."""
    out = []
    for med in ctx.meds(CALCITONIN):
        beyond = add_days(med.start_date, CALCITONIN_COURSE_DAYS)
        if not med.active_on(day):
            if med.stop_date is not None:
                ctx.watch(med.stop_date)
            continue
        if day >= beyond:
            out.append(med)
        else:
            ctx.watch(beyond)
    return out


def used_beyond_course(med: MedicationFact, as_of: date) -> bool:
    end = med.stop_date or as_of
    return (end - med.start_date).days > CALCITONIN_COURSE_DAYS


def anti_osteoporosis_on(ctx: Context, day: date) -> list[MedicationFact]:
    return on_treatment(ctx, ANTI_OSTEOPOROSIS, day)


def intervals(meds: Iterable[MedicationFact], until: date) -> list[tuple[date, date | None]]:
    """Merged [start, end) intervals of cover; end None = still running."""
    spans = sorted(
        ((m.start_date, cover_end(m)) for m in meds if m.start_date <= until),
        key=lambda s: s[0],
    )
    merged: list[tuple[date, date | None]] = []
    for start, end in spans:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                continue
            if start <= last_end:
                merged[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        merged.append((start, end))
    return merged


def date_exposure_reaches(meds: Iterable[MedicationFact], years: float, as_of: date) -> date | None:
    """The day cumulative cover reaches ``years``: a gap pauses the count, it
    does not restart it (V2.2). None if the cover recorded so far falls short
    and no course is running (it cannot be foreseen while off the drug)."""
    need = round(years * DAYS_PER_YEAR)
    total = 0
    for start, end in intervals(meds, as_of):
        if end is None or total + (end - start).days >= need:
            return start + timedelta(days=need - total)
        total += (end - start).days
    return None
