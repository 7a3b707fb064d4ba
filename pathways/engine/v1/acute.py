"""Version 1, acute care: calcitonin, the first drugs, mobilisation, the
analgesics and the 3-week pain review (pathway-spec "Acute and conservative
management", first half)."""

from __future__ import annotations

from pathways.engine.context import (
    ANTI_OSTEOPOROSIS,
    CALCITONIN,
    CALCIUM,
    OPIOID,
    VITAMIN_D,
    Context,
    fmt_value,
)
from pathways.engine.dates import add_days, iso
from pathways.engine.ruleset import EARLY_PHASES, OPEN_PHASES, Plan, Planned, Rule, single_plan


def plan_calcitonin_start(ctx: Context, rule: Rule) -> Plan:
    presented_day = (ctx.identified - ctx.onset).days
    if presented_day > 5:
        return Plan(
            why_not=f"presented on day {presented_day} after onset: calcitonin window passed"
        )
    window_end = add_days(ctx.onset, 5)
    started = [m for m in ctx.meds(CALCITONIN) if ctx.onset <= m.start_date <= window_end]
    done = (
        (started[0].start_date, f"calcitonin started on {iso(started[0].start_date)}")
        if started
        else None
    )
    return single_plan(
        window_end,
        (f"presented on day {presented_day} after onset (within 0-5 days)",),
        done=done,
        window_end=window_end,
    )


CALCITONIN_START: Rule = Rule(
    code="calcitonin_start",
    title="Start calcitonin for acute pain (4 weeks)",
    guidance="Calcitonin 200 IU nasal spray or suppository daily for 4 weeks "
    "(alternative 100 IU SC/IM every other day). It gives clinically important pain "
    "relief at 1-4 weeks; side effects are mild (dizziness). Only within days 0-5 of onset.",
    seed_refs=("004", "002", "003"),
    group="acute",
    phases=EARLY_PHASES,
    anchor="onset",
    offset_days=5,
    window="onset + 5 days",
    trigger="presented within 0-5 days of onset",
    priority="high",
    lead_days=14,
    expires_at_12_months=True,
    completes_by="a calcitonin start within the window",
    planner=plan_calcitonin_start,
)


def plan_calcitonin_stop(ctx: Context, rule: Rule) -> Plan:
    courses = [m for m in ctx.meds(CALCITONIN) if m.start_date >= ctx.onset]
    if not courses:
        return Plan(why_not="calcitonin not started")
    course = courses[0]
    done = None
    if course.stop_date is not None and course.stop_date <= ctx.as_of:
        done = (course.stop_date, f"calcitonin stopped on {iso(course.stop_date)}")
    return single_plan(
        add_days(course.start_date, rule.offset_days),
        (f"calcitonin started on {iso(course.start_date)}",),
        done=done,
    )


CALCITONIN_STOP: Rule = Rule(
    code="calcitonin_stop",
    title="Stop calcitonin after 4 weeks; review pain",
    guidance="Stop calcitonin after the 4-week course and review pain.",
    seed_refs=("004", "002"),
    group="acute",
    phases=EARLY_PHASES,
    anchor="calcitonin start",
    offset_days=28,
    trigger="calcitonin started",
    expires_at_12_months=True,
    completes_by="a calcitonin stop date",
    planner=plan_calcitonin_stop,
)


def plan_osteoporosis_rx_start(ctx: Context, rule: Rule) -> Plan:
    at_identification = ctx.active(ANTI_OSTEOPOROSIS, ctx.identified)
    if at_identification:
        drug = at_identification[0]
        return Plan(why_not=f"{drug.drug} active since {iso(drug.start_date)}")
    started = [m for m in ctx.meds(ANTI_OSTEOPOROSIS) if m.start_date >= ctx.identified]
    done = (
        (started[0].start_date, f"{started[0].drug} started on {iso(started[0].start_date)}")
        if started
        else None
    )
    return single_plan(ctx.identified, ("no anti-osteoporosis drug active",), done=done)


OSTEOPOROSIS_RX_START: Rule = Rule(
    code="osteoporosis_rx_start",
    title="Start anti-osteoporosis pharmacotherapy now",
    guidance="Start pharmacotherapy now; do not wait for the pain to settle (20 % risk "
    "of another vertebral fracture within 12 months). First line an oral "
    "bisphosphonate (alendronate, risedronate; ibandronate specifically for an existing "
    "VCF); zoledronic acid for oral intolerance, dementia, malabsorption or "
    "non-compliance; denosumab 60 mg SC every 6 months if bisphosphonates are "
    "contraindicated; teriparatide or romosozumab if very high risk.",
    seed_refs=("000", "003", "004"),
    group="acute",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="no anti-osteoporosis drug active",
    priority="high",
    expires_at_12_months=True,
    completes_by="an anti-osteoporosis drug start",
    planner=plan_osteoporosis_rx_start,
)


def plan_calcium_vitamin_d(ctx: Context, rule: Rule) -> Plan:
    calcium = ctx.meds(CALCIUM)
    vitamin_d = ctx.meds(VITAMIN_D)
    done = None
    if calcium and vitamin_d:
        on = max(calcium[0].start_date, vitamin_d[0].start_date, ctx.identified)
        done = (on, "calcium and vitamin D recorded")
    return single_plan(ctx.identified, ("every fracture episode",), done=done)


CALCIUM_VITAMIN_D: Rule = Rule(
    code="calcium_vitamin_d",
    title="Calcium and vitamin D",
    guidance="Calcium 1000-1200 mg/day and vitamin D 800 IU/day; avoid high pulse "
    "doses of vitamin D (they increase falls).",
    seed_refs=("002", "003", "004"),
    group="acute",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="always",
    expires_at_12_months=True,
    completes_by="calcium and vitamin D recorded",
    planner=plan_calcium_vitamin_d,
)


def plan_always_day0(ctx: Context, rule: Rule) -> Plan:
    return single_plan(ctx.identified, ("every fracture episode",))


MOBILISATION: Rule = Rule(
    code="mobilisation",
    title="Mobilise: avoid bed rest",
    guidance="Avoid bed rest (about 1 % bone loss a week); walking in 10-minute periods, "
    "increasing; NSAIDs are first-line analgesia.",
    seed_refs=("002", "003"),
    group="acute",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="always",
    expires_at_12_months=True,
    planner=plan_always_day0,
)


def plan_opioid_review(ctx: Context, rule: Rule) -> Plan:
    opioids = [m for m in ctx.meds(OPIOID) if m.start_date >= ctx.onset]
    if not opioids:
        return Plan(why_not="no opioid in the analgesic regimen")
    return Plan(
        tuple(
            Planned(
                n,
                add_days(med.start_date, rule.offset_days),
                (f"opioid recorded from {iso(med.start_date)}",),
            )
            for n, med in enumerate(opioids, start=1)
        )
    )


OPIOID_REVIEW: Rule = Rule(
    code="opioid_review",
    title="Review opioid use",
    guidance="Review opioid use: sedation, nausea, falls and deconditioning in elderly "
    "osteoporotic patients; NSAIDs first line.",
    seed_refs=("000", "002", "003"),
    group="acute",
    phases=OPEN_PHASES,
    anchor="opioid record",
    offset_days=7,
    trigger="an opioid in the analgesic regimen",
    expires_at_12_months=True,
    planner=plan_opioid_review,
)


def plan_pain_review_3w(ctx: Context, rule: Rule) -> Plan:
    due = ctx.day(21)
    scores = [p for p in ctx.pain_scores() if p.effective_date >= due]
    done = (
        (
            scores[0].effective_date,
            f"pain NRS {fmt_value(scores[0].value)} recorded on {iso(scores[0].effective_date)}",
        )
        if scores
        else None
    )
    # The 3-month review supersedes a 3-week review that never happened.
    return single_plan(
        due,
        ("every fracture episode",),
        done=done,
        superseded_on=ctx.three_months,
        superseded_why="superseded by the 3-month augmentation review",
    )


PAIN_REVIEW_3W = Rule(
    code="pain_review_3w",
    title="3-week pain and function review",
    guidance="Pain and function review. Persistent severe pain from 3 weeks on makes "
    "the patient a candidate for vertebral augmentation.",
    seed_refs=("002",),
    group="acute",
    phases=OPEN_PHASES,
    anchor="identified",
    offset_days=21,
    window="until the 3-month review falls due",
    trigger="always",
    expires_at_12_months=True,
    completes_by="a pain score at or after day 21",
    planner=plan_pain_review_3w,
)


RULES: tuple[Rule, ...] = (
    CALCITONIN_START,
    CALCITONIN_STOP,
    OSTEOPOROSIS_RX_START,
    CALCIUM_VITAMIN_D,
    MOBILISATION,
    OPIOID_REVIEW,
    PAIN_REVIEW_3W,
)
