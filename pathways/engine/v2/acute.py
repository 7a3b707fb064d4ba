"""Version 2, acute care: calcitonin (within the first 4 weeks), the first
anti-osteoporosis drug, mobilisation, opioids and the 3-week pain review
(pathway-spec V2.3). The calcitonin stop and the opioid review plan as in
version 1."""

from __future__ import annotations

from pathways.engine.context import CALCITONIN, Context, fmt_value
from pathways.engine.dates import add_days, iso
from pathways.engine.ruleset import EARLY_PHASES, OPEN_PHASES, Plan, Rule, single_plan
from pathways.engine.v1.acute import plan_always_day0, plan_calcitonin_stop, plan_opioid_review
from pathways.engine.v2 import exposure


def plan_calcitonin_start(ctx: Context, rule: Rule) -> Plan:
    """V2.3: raised for any episode identified within 28 days of onset.
    Presented within 0-5 days (004:20,26): high, due onset + 5 days.
    Presented later (000:28, 001:36, 003:24 "the first 4 weeks after
    identification"): routine, due at identification. Missed after
    identification + 28 days."""
    presented_day = (ctx.identified - ctx.onset).days
    if presented_day > rule.window_days:
        return Plan(why_not=f"presented on day {presented_day} after onset: past the 4-week window")
    window_end = add_days(ctx.identified, rule.window_days)
    started = [m for m in ctx.meds(CALCITONIN) if ctx.onset <= m.start_date <= window_end]
    done = (
        (started[0].start_date, f"calcitonin started on {iso(started[0].start_date)}")
        if started
        else None
    )
    if presented_day <= rule.offset_days:
        return single_plan(
            add_days(ctx.onset, rule.offset_days),
            (f"presented on day {presented_day} after onset (within 0-5 days)",),
            done=done,
            window_end=window_end,
        )
    return single_plan(
        ctx.identified,
        (f"presented on day {presented_day} after onset (within the first 4 weeks)",),
        done=done,
        window_end=window_end,
        priority="routine",
    )


CALCITONIN_START: Rule = Rule(
    code="calcitonin_start",
    title="Start calcitonin for acute pain (4 weeks)",
    guidance="The seeds disagree on the window. Within 0-5 days of onset: calcitonin "
    "200 IU nasal spray or suppository daily for 4 weeks in neurologically intact "
    "patients (004:20, 004:26); alternative 100 IU SC/IM every other day (004:28); "
    "side effects mild, mainly dizziness (004:29). Others give it in the first 4 weeks "
    "after the fracture is identified (000:28, 001:36, 003:24).",
    seed_refs=("004:20", "004:26", "004:28", "004:29", "000:28", "001:36", "003:24"),
    group="acute",
    phases=EARLY_PHASES,
    anchor="onset (presented within 0-5 days) or identified (later)",
    offset_days=5,
    window="28 days after identification",
    window_days=28,
    trigger="identified within 28 days of onset; neurologically intact, not pathologic",
    priority="high",
    expires_at_12_months=True,
    completes_by="a calcitonin start within the window",
    planner=plan_calcitonin_start,
)


CALCITONIN_STOP: Rule = Rule(
    code="calcitonin_stop",
    title="Stop calcitonin after 4 weeks; review pain",
    guidance="Calcitonin is given daily for 4 weeks (004:26); stop it then and review the pain.",
    seed_refs=("004:26", "002:35"),
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
    covering = exposure.anti_osteoporosis_on(ctx, ctx.identified)
    if covering:
        drug = covering[0]
        return Plan(
            why_not=f"{drug.drug.replace('_', ' ')} on treatment since {iso(drug.start_date)}"
        )
    started = [m for m in ctx.meds(exposure.ANTI_OSTEOPOROSIS) if m.start_date >= ctx.identified]
    done = (
        (started[0].start_date, f"{started[0].drug.replace('_', ' ')} started on "
         f"{iso(started[0].start_date)}")
        if started
        else None
    )  # fmt: skip
    return single_plan(ctx.identified, ("no anti-osteoporosis drug on treatment",), done=done)


OSTEOPOROSIS_RX_START: Rule = Rule(
    code="osteoporosis_rx_start",
    title="Start anti-osteoporosis pharmacotherapy now",
    guidance="Do not delay osteoporosis pharmacotherapy: 20 % risk of another vertebral "
    "fracture within 12 months (000:38). Bisphosphonates such as alendronate or "
    "risedronate are first line (004:33, 003:41); ibandronate and strontium ranelate "
    "are specifically recommended with an existing compression fracture (000:39, "
    "003:40); denosumab 60 mg SC every 6 months is an option from the start (003:20, "
    "003:42) and for refractory bone pain despite a bisphosphonate (004:60); "
    "zoledronic acid for oral intolerance, dementia, malabsorption or non-compliance "
    "(004:59); teriparatide for those who failed or are intolerant of other therapy "
    "(003:43).",
    seed_refs=(
        "000:38",
        "004:33",
        "003:41",
        "000:39",
        "003:40",
        "003:20",
        "003:42",
        "004:60",
        "004:59",
        "003:43",
    ),  # fmt: skip
    group="acute",
    phases=OPEN_PHASES,
    anchor="identified",
    trigger="no anti-osteoporosis drug on treatment when the fracture is identified",
    priority="high",
    expires_at_12_months=True,
    completes_by="an anti-osteoporosis drug start",
    planner=plan_osteoporosis_rx_start,
)


MOBILISATION: Rule = Rule(
    code="mobilisation",
    title="Mobilise: avoid prolonged bed rest",
    guidance="Avoid prolonged bed rest (000:32, 001:28): about 1 % bone loss a week "
    "(003:32). Permit slow, regular walking starting with 10-minute periods, gradually "
    "increasing (002:41). Bracing: the seeds disagree: bracing for comfort as needed "
    "(001:29) against insufficient or inconclusive evidence for it (003:33, 004:48). "
    "Analgesia: NSAIDs first line (000:26); acetaminophen for mild pain (001:35, "
    "003:27).",
    seed_refs=(
        "000:32",
        "001:28",
        "003:32",
        "002:41",
        "001:29",
        "003:33",
        "004:48",
        "000:26",
        "001:35",
        "003:27",
    ),  # fmt: skip
    group="acute",
    phases=EARLY_PHASES,
    anchor="identified",
    trigger="every fracture episode, neurologically intact and not pathologic",
    expires_at_12_months=True,
    planner=plan_always_day0,
)


OPIOID_REVIEW: Rule = Rule(
    code="opioid_review",
    title="Review opioid use",
    guidance="Exercise caution with opioids: sedation, nausea, decreased physical "
    "conditioning and increased fall risk, particularly in elderly osteoporotic "
    "patients (000:27); NSAIDs are first line (000:26).",
    seed_refs=("000:27", "000:26", "002:34"),
    group="acute",
    phases=OPEN_PHASES,
    anchor="opioid record",
    offset_days=7,
    trigger="an opioid in the analgesic regimen",
    expires_at_12_months=True,
    planner=plan_opioid_review,
)


def plan_pain_review_3w(ctx: Context, rule: Rule) -> Plan:
    due = add_days(ctx.identified, rule.offset_days)
    scores = [p for p in ctx.pain_scores() if p.effective_date >= due]
    done = (
        (scores[0].effective_date, f"pain score {fmt_value(scores[0].value)} recorded on "
         f"{iso(scores[0].effective_date)}")
        if scores
        else None
    )  # fmt: skip
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
    guidance="Review pain and function. Persistent severe pain after 3 weeks to 3 "
    "months of conservative management is an indication to consider vertebral "
    "augmentation (002:53).",
    seed_refs=("002:53",),
    group="acute",
    phases=EARLY_PHASES,
    anchor="identified",
    offset_days=21,
    window="until the 3-month review falls due",
    trigger="every fracture episode, neurologically intact and not pathologic",
    expires_at_12_months=True,
    completes_by="a pain score at or after day 21",
    planner=plan_pain_review_3w,
)


RULES: tuple[Rule, ...] = (
    CALCITONIN_START,
    CALCITONIN_STOP,
    OSTEOPOROSIS_RX_START,
    MOBILISATION,
    OPIOID_REVIEW,
    PAIN_REVIEW_3W,
)
