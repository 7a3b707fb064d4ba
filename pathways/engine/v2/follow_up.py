"""Version 2, the programme's standing follow-up (pathway-spec V2.1): calcium
and vitamin D, falls, the yearly new-fracture screen, a fracture while on
treatment, and imported prescriptions to reconcile (V2.4).

One programme per patient, whatever the number of fractures: its tasks
belong to the patient (unique key patient + rule + occurrence), so a second
fracture never duplicates a series nor re-raises a task a clinician closed.
The planners read their numbers from the rule (anchor offset, recurrence) --
one place per number. Seed lines are cited as file:line of docs/seeds.
"""

from __future__ import annotations

from datetime import date

from pathways.engine.context import CALCIUM, VITAMIN_D, Context, ProgrammeContext
from pathways.engine.dates import add_days, add_months, iso
from pathways.engine.ruleset import OPEN_PHASES, Plan, Planned, Rule
from pathways.engine.v2 import exposure


def programme_context(ctx: Context) -> ProgrammeContext:
    assert isinstance(ctx, ProgrammeContext)
    return ctx


def series(rule: Rule, first_due: date, why: str, ctx: Context) -> Plan:
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
        # The day the next occurrence joins the plan is watched (next_review).
        if not ctx.reached(add_days(due, -rule.effective_lead)):
            break
        n += 1
        due = nxt
    return Plan(tuple(occurrences))


def plan_calcium_vitamin_d(ctx: Context, rule: Rule) -> Plan:
    p = programme_context(ctx)
    calcium = ctx.meds(CALCIUM)
    vitamin_d = ctx.meds(VITAMIN_D)
    done = None
    if calcium and vitamin_d:
        on = max(calcium[0].start_date, vitamin_d[0].start_date, p.first_identified)
        done = (on, "calcium and vitamin D recorded")
    first = f"first fracture identified on {iso(p.first_identified)}"
    return Plan((Planned(1, p.first_identified, (first,), done=done),))


CALCIUM_VITAMIN_D: Rule = Rule(
    code="calcium_vitamin_d",
    title="Calcium and vitamin D",
    guidance="Calcium 1000-1200 mg/day and vitamin D 800 IU/day, avoiding high pulse "
    "doses of vitamin D, which increase fall risk (002:47); these are essential "
    "adjuncts, not optional (004:104).",
    seed_refs=("002:47", "004:40", "004:41", "004:104", "003:44"),
    group="programme",
    phases=OPEN_PHASES,
    anchor="first fracture identified",
    trigger="every patient's programme",
    patient_level=True,
    completes_by="calcium and vitamin D recorded",
    planner=plan_calcium_vitamin_d,
)


def plan_falls_prevention(ctx: Context, rule: Rule) -> Plan:
    p = programme_context(ctx)
    return Plan(
        (
            Planned(
                1, p.first_identified, (f"first fracture identified on {iso(p.first_identified)}",)
            ),
        )
    )


FALLS_PREVENTION: Rule = Rule(
    code="falls_prevention",
    title="Falls risk assessment and prevention",
    guidance="Fall prevention education and measures are part of long-term management (001:75).",
    seed_refs=("001:75",),
    group="programme",
    phases=OPEN_PHASES,
    anchor="first fracture identified",
    trigger="every patient's programme",
    patient_level=True,
    planner=plan_falls_prevention,
)


def plan_new_fracture_screen(ctx: Context, rule: Rule) -> Plan:
    p = programme_context(ctx)
    first = add_months(p.first_identified, rule.offset_months)
    return series(rule, first, f"yearly since the fracture of {iso(p.first_identified)}", ctx)


NEW_FRACTURE_SCREEN: Rule = Rule(
    code="new_fracture_screen",
    title="Yearly screen for a new vertebral fracture",
    guidance="Regular follow-up to monitor for new fractures (001:76): 20 % risk of "
    "another vertebral fracture within 12 months of the first (000:38). Obtain an MRI "
    "if symptoms change (000:78).",
    seed_refs=("001:76", "000:38", "000:78"),
    group="programme",
    phases=OPEN_PHASES,
    anchor="first fracture identified",
    offset_months=12,
    recurs_months=12,
    trigger="every patient's programme",
    patient_level=True,
    planner=plan_new_fracture_screen,
)


def plan_treatment_failure_review(ctx: Context, rule: Rule) -> Plan:
    """A fracture identified while an anti-osteoporosis drug covers the day."""
    p = programme_context(ctx)
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
                    f"fracture identified on {iso(episode.identified_date)} while on "
                    f"{drug.drug.replace('_', ' ')} (since {iso(drug.start_date)})",
                ),
            )
        )
    if not occurrences:
        return Plan(why_not="no fracture while on anti-osteoporosis treatment")
    return Plan(tuple(occurrences))


TREATMENT_FAILURE_REVIEW: Rule = Rule(
    code="treatment_failure_review",
    title="Fracture on treatment: review the therapy",
    guidance="A fracture while on anti-osteoporosis treatment: review adherence (project "
    "convention, pathway-spec V2.1). "
    "Teriparatide is approved for those who have failed or are intolerant of other "
    "therapy (003:43); denosumab for refractory bone pain despite a bisphosphonate "
    "(004:60); consider anabolic agents (teriparatide or romosozumab) at very high "
    "fracture risk (004:98).",
    seed_refs=("003:43", "004:60", "004:98"),
    group="programme",
    phases=OPEN_PHASES,
    anchor="the new fracture's identification",
    trigger="a fracture identified while an anti-osteoporosis drug is on treatment",
    priority="high",
    patient_level=True,
    planner=plan_treatment_failure_review,
)


def plan_medication_reconciliation(ctx: Context, rule: Rule) -> Plan:
    """One task while any imported prescription is unverified (V2.4)."""
    p = programme_context(ctx)
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


MEDICATION_RECONCILIATION: Rule = Rule(
    code="medication_reconciliation",
    title="Reconcile imported prescriptions",
    guidance="Failure to treat the underlying osteoporosis can result in future "
    "fractures (001:81), and pharmacotherapy must not be delayed (000:83): confirm which "
    "imported prescriptions the patient still takes. Prescriptions that started more "
    "than 12 months before the import, with no later evidence of use, count as on "
    "treatment until a person marks each verified or stopped (project convention, "
    "pathway-spec V2.4).",
    seed_refs=("001:81", "000:83"),
    group="programme",
    phases=OPEN_PHASES,
    anchor="the import",
    trigger="an imported prescription is not verified",
    patient_level=True,
    completes_by="every imported prescription verified",
    planner=plan_medication_reconciliation,
)
