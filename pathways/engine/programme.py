"""evaluate_programme(facts, as_of) -> the patient's programme tasks (pathway-spec V2.1).

Pure, like the episode engine. The programme starts with the patient's first
episode, is never closed by closing an episode, and ends only when the
patient is deceased or discharged from the clinic by a person.
"""

from __future__ import annotations

from datetime import date, timedelta

from pathways.engine.context import Context, ProgrammeContext
from pathways.engine.dates import add_months, iso
from pathways.engine.engine import cancel_open, cancellations, evaluate, rule_facts, settle
from pathways.engine.facts import EpisodeFacts, ProgrammeFacts
from pathways.engine.result import Evaluation, PatientEvaluation, TaskSpec
from pathways.engine.ruleset import RuleSet


def evaluate_programme(facts: ProgrammeFacts, as_of: date, ruleset: RuleSet) -> Evaluation:
    """Evaluate a patient's programme as of one date.

    1. A deceased patient or an ended programme raises nothing; open tasks
       are cancelled with the reason.
    2. Plan every patient-level rule of the rule set and settle each
       occurrence as the episode engine does.
    3. Old records (V2.4): work due more than its grace before the record
       entered vcftrack is raised once, due on the entry day, showing its
       original due date; earlier occurrences of the series are missed.
    4. Hand-over from version 1 (V2.1): occurrences closed before the
       programme began are v1 history and are not created again.
    """
    ctx = ProgrammeContext(facts, as_of)
    ended = _ended_reason(facts, ctx)
    if ended:
        return Evaluation(
            phase="ended", phase_cause=ended, phase_since=facts.ended_on or as_of, tasks=(),
            projected=(), cancel=cancel_open(facts.tasks, ended), next_review=None,
        )  # fmt: skip

    tasks: list[TaskSpec] = []
    projected: list[TaskSpec] = []
    planned_keys: set[tuple[str, int]] = set()
    why_not: dict[str, str] = {}
    expiry = ctx.twelve_months
    for rf in rule_facts(ruleset):
        if not rf.patient_level:
            continue
        rule = rf.rule
        plan = rf.planner(ctx, rule)
        if not plan.occurrences:
            why_not[rule.code] = plan.why_not or "no longer applies"
            continue
        specs = [
            settle(ctx, rf, p, expiry, ctx.tasks.get((rf.code, p.occurrence)))
            for p in plan.occurrences
        ]
        specs = _late_entry(specs, facts.entered_on, ctx)
        for spec in specs:
            existing = ctx.tasks.get(spec.key)
            if (
                existing is None
                and rule.code in facts.v1_history
                and spec.status != "open"
                and spec.closed_on is not None
                and spec.closed_on < facts.entered_on
            ):
                continue
            planned_keys.add(spec.key)
            if (
                spec.status == "open"
                and not (existing is not None and existing.status == "open")
                and not ctx.reached(spec.visible_from)
            ):
                projected.append(spec)
            else:
                tasks.append(spec)
    cancel = cancellations(facts.tasks, planned_keys, why_not)
    return Evaluation(
        phase="active",
        phase_cause=f"programme since the fracture of {iso(ctx.first_identified)}",
        phase_since=ctx.first_identified,
        tasks=tuple(tasks),
        projected=tuple(projected),
        cancel=cancel,
        next_review=ctx.next_review(),
        derived={"bmd_changes": ctx.bmd_changes()},
    )


def _ended_reason(facts: ProgrammeFacts, ctx: Context) -> str:
    if facts.deceased_on is not None and ctx.reached(facts.deceased_on):
        return f"Patient deceased ({iso(facts.deceased_on)})"
    if facts.status == "ended":
        return f"Programme ended: {facts.end_reason.replace('_', ' ') or 'discharged'}"
    return ""


# V2.4: "an episode identified more than 12 months ago" enters late.
LATE_RECORD_MONTHS = 12


def _late_entry(specs: list[TaskSpec], entered_on: date, ctx: ProgrammeContext) -> list[TaskSpec]:
    """Programme work long overdue when the record entered is raised once,
    on the entry day (V2.4: "never done since 1997"), not years overdue.

    Only for a record that entered late (V2.4: an import, or a fracture
    identified more than 12 months before): the first fracture, or the work's
    own due date, more than 12 months before entry. A fracture recorded a few
    weeks after it was identified keeps its overdue work overdue, with the
    real dates."""
    stale = [
        s
        for s in specs
        if s.status == "open" and s.due_date + timedelta(days=s.grace_days) < entered_on
    ]
    late_record = add_months(ctx.first_identified, LATE_RECORD_MONTHS) < entered_on
    if not stale or not (
        late_record or any(add_months(s.due_date, LATE_RECORD_MONTHS) < entered_on for s in stale)
    ):
        return specs
    keep = max(stale, key=lambda s: s.occurrence)
    out = []
    for spec in specs:
        if spec not in stale:
            out.append(spec)
        elif spec is keep:
            out.append(
                TaskSpec(
                    spec.rule, spec.occurrence, entered_on, spec.grace_days, spec.lead_days,
                    spec.priority, "open", "", "",
                    (*spec.triggers, f"originally due {iso(spec.due_date)}; never done since"),
                )
            )  # fmt: skip
        else:
            out.append(
                TaskSpec(
                    spec.rule, spec.occurrence, spec.due_date, spec.grace_days, spec.lead_days,
                    spec.priority, "missed",
                    f"Before the record entered vcftrack ({iso(entered_on)})",
                    "", spec.triggers, entered_on,
                )
            )  # fmt: skip
    return out


def evaluate_patient(
    episodes: tuple[EpisodeFacts, ...],
    programme: ProgrammeFacts | None,
    as_of: date,
    rulesets: dict[str, RuleSet],
    versions: dict[str, str],
    programme_version: str = "v2",
) -> PatientEvaluation:
    """The patient as the unit of evaluation (V2.1): each episode with its own
    rule set's episode rules, and the programme once."""
    by_episode = {
        e.episode_id: evaluate(e, as_of, rulesets[versions[e.episode_id]]) for e in episodes
    }
    prog = (
        evaluate_programme(programme, as_of, rulesets[programme_version])
        if programme is not None
        else None
    )
    return PatientEvaluation(episodes=by_episode, programme=prog)
