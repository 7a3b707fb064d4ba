"""evaluate_programme(facts, as_of) -> the patient's programme tasks (pathway-spec V2.1).

Pure, like the episode engine. The programme starts with the patient's first
episode, is never closed by closing an episode, and ends only when the
patient is deceased or discharged from the clinic by a person.
"""

from __future__ import annotations

from datetime import date, timedelta

from pathways.engine.context import Context
from pathways.engine.dates import add_months
from pathways.engine.engine import _settle, evaluate, rule_facts
from pathways.engine.facts import EpisodeFacts, ProgrammeFacts
from pathways.engine.result import Evaluation, PatientEvaluation, TaskSpec
from pathways.engine.ruleset import RuleSet


class ProgrammeContext(Context):
    """The derived facts of a patient's programme: every episode, the drugs,
    the DXAs and the programme's own tasks, as of one date."""

    def __init__(self, facts: ProgrammeFacts, as_of: date) -> None:
        episodes = sorted(facts.episodes, key=lambda e: (e.identified_date, e.episode_id))
        first = episodes[0].identified_date if episodes else facts.entered_on
        super().__init__(
            EpisodeFacts(
                episode_id=f"programme:{facts.patient_id}",
                levels=(),
                onset_date=first,
                identified_date=first,
                recorded_on=facts.entered_on,
                medications=facts.medications,
                bone_density=facts.bone_density,
                tasks=facts.tasks,
            ),
            as_of,
        )
        self.programme = facts
        self.first_identified = first
        self.entered_on = facts.entered_on
        # A replay of the past must not see a fracture identified later.
        self.episodes = [e for e in episodes if e.identified_date <= as_of]
        later = [e.identified_date for e in episodes if e.identified_date > as_of]
        if later:
            self.watch(min(later))


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
        cancel = tuple(
            sorted((t.rule, t.occurrence, ended) for t in facts.tasks if t.status == "open")
        )
        return Evaluation(
            phase="ended", phase_cause=ended, phase_since=facts.ended_on or as_of, tasks=(),
            projected=(), cancel=cancel, next_review=None,
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
        specs = [_settle(ctx, rf, planned, expiry) for planned in plan.occurrences]
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
    cancel = tuple(
        sorted(
            (t.rule, t.occurrence, f"No longer applies: {why_not.get(t.rule, 'the facts changed')}")
            for t in facts.tasks
            if t.status == "open" and (t.rule, t.occurrence) not in planned_keys
        )
    )
    return Evaluation(
        phase="active",
        phase_cause=f"programme since the fracture of {ctx.first_identified}",
        phase_since=ctx.first_identified,
        tasks=tuple(tasks),
        projected=tuple(projected),
        cancel=cancel,
        next_review=ctx.next_review(),
        derived={"bmd_changes": ctx.bmd_changes()},
    )


def _ended_reason(facts: ProgrammeFacts, ctx: Context) -> str:
    if facts.deceased_on is not None and ctx.reached(facts.deceased_on):
        return f"Patient deceased ({facts.deceased_on})"
    if facts.status == "ended":
        return f"Programme ended: {facts.end_reason.replace('_', ' ') or 'discharged'}"
    return ""


# V2.4: "an episode identified more than 12 months ago" enters late.
LATE_RECORD_MONTHS = 12


def _late_entry(
    specs: list[TaskSpec], entered_on: date, ctx: ProgrammeContext
) -> list[TaskSpec]:
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
                    (*spec.triggers, f"originally due {spec.due_date}; never done since"),
                )
            )  # fmt: skip
        else:
            out.append(
                TaskSpec(
                    spec.rule, spec.occurrence, spec.due_date, spec.grace_days, spec.lead_days,
                    spec.priority, "missed", f"Before the record entered vcftrack ({entered_on})",
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
