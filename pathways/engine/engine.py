"""evaluate(facts, as_of) -> Evaluation. Pure: no ORM, no clock."""

from __future__ import annotations

from datetime import date, timedelta

from pathways.engine.context import Context
from pathways.engine.facts import EpisodeFacts
from pathways.engine.result import Evaluation, TaskSpec
from pathways.engine.ruleset import Planned, Rule, RuleSet


def evaluate(facts: EpisodeFacts, as_of: date, ruleset: RuleSet) -> Evaluation:
    """Evaluate one episode as of one date.

    1. Derive the facts as they stood on ``as_of`` (later-dated facts ignored).
    2. Decide the branch (surgical / pathologic work-up), which suppresses the
       conservative rules.
    3. Plan every rule, then settle each occurrence: done by a fact, missed at
       the end of its window / when superseded / at the 12-month expiry, else
       open; raised once ``as_of`` reaches due - lead, projected before that.
    4. Cancel open tasks whose rule no longer applies, with the reason.
    5. Derive the phase and the next date on which anything can change.
    """
    ctx = Context(facts, as_of)

    if facts.status == "closed":
        return _closed(facts, ctx)
    if facts.deceased_on is not None and ctx.reached(facts.deceased_on):
        return _deceased(facts, ctx)

    branch, branch_cause, branch_since = ruleset.branch(ctx)
    expiry = ctx.twelve_months

    tasks: list[TaskSpec] = []
    projected: list[TaskSpec] = []
    planned_keys: set[tuple[str, int]] = set()
    why_not: dict[str, str] = {}
    for rule in ruleset.rules:
        if rule.patient_level and facts.in_programme:
            why_not[rule.code] = "continued in the patient's programme"
            continue
        if rule.patient_level and not facts.owns_patient_rules:
            why_not[rule.code] = "kept on the patient's most recent open episode"
            continue
        if branch and rule.code in ruleset.suppressed_in_branch:
            why_not[rule.code] = f"not raised in the {branch.replace('_', ' ')} branch"
            continue
        plan = rule.planner(ctx, rule)
        occurrences = plan.occurrences
        if rule.expires_at_12_months:
            # An expired rule raises nothing new: an occurrence that would
            # first appear on or after the 12-month expiry is not raised at
            # all (rather than raised already missed, which would count
            # work nobody ever expected).
            occurrences = tuple(
                p
                for p in occurrences
                if _visible_from(rule, p.due) < expiry or rule.raises_after_expiry
            )
            if plan.occurrences and not occurrences:
                why_not[rule.code] = f"expired 12 months after identification ({expiry})"
        if not plan.occurrences:
            why_not[rule.code] = plan.why_not or "no longer applies"
        for planned in occurrences:
            spec = _settle(ctx, rule, planned, expiry)
            planned_keys.add(spec.key)
            existing = ctx.tasks.get(spec.key)
            if (
                spec.status == "open"
                and not (existing is not None and existing.status == "open")
                and not ctx.reached(spec.visible_from)
            ):
                projected.append(spec)
            else:
                # A task once raised stays raised while open, even if a
                # back-dated fact moved its due date later: the service then
                # updates its due date instead of leaving it stale.
                tasks.append(spec)

    # Sorted: the result must not depend on the order the rows were loaded in.
    cancel = tuple(
        sorted(
            (t.rule, t.occurrence, f"No longer applies: {why_not.get(t.rule, 'the facts changed')}")
            for t in facts.tasks
            if t.status == "open" and (t.rule, t.occurrence) not in planned_keys
        )
    )
    phase, cause, since = ruleset.phase(ctx, branch, branch_cause, branch_since)
    flags = ruleset.flags(ctx)
    return Evaluation(
        phase=phase,
        phase_cause=cause,
        phase_since=since,
        tasks=tuple(tasks),
        projected=tuple(projected),
        cancel=cancel,
        next_review=ctx.next_review(),
        flags=flags,
        derived={"bmd_changes": ctx.bmd_changes()},
    )


def _settle(ctx: Context, rule: Rule, planned: Planned, expiry: date) -> TaskSpec:
    code, occurrence, due = rule.code, planned.occurrence, planned.due
    priority = planned.priority or rule.priority
    triggers = planned.triggers
    if priority == rule.priority:
        grace, lead = rule.effective_grace, rule.effective_lead
    else:
        # Urgent work has no grace and no lead time (pathway-spec).
        grace = 0 if priority == "urgent" else rule.grace_days
        lead = 0 if priority == "urgent" else rule.lead_days
    existing = ctx.tasks.get((code, occurrence))
    if existing is not None and existing.closed_by_person:
        # A person's decision stands; the engine never overrides it.
        return TaskSpec(
            code, occurrence, due, grace, lead, priority, existing.status, "",
            existing.outcome, triggers, existing.closed_on,
        )  # fmt: skip
    # The date an open task is missed: the end of its window, the day a later
    # occurrence or review supersedes it, or the 12-month expiry.
    missed: tuple[date, str] | None = None
    if planned.window_end is not None:
        missed = (_next_day(planned.window_end), f"Window closed on {planned.window_end}")
    if planned.superseded_on is not None and (missed is None or planned.superseded_on < missed[0]):
        missed = (planned.superseded_on, planned.superseded_why.capitalize() or "Superseded")
    expires = rule.expires_at_12_months and not (
        rule.raises_after_expiry and _visible_from(rule, due) >= expiry
    )
    if expires and (missed is None or expiry < missed[0]):
        missed = (expiry, f"Expired 12 months after identification ({expiry})")
    if planned.done is not None:
        on, why = planned.done
        # Work done after the task was missed does not undo the miss: missed
        # work is counted, never silently dropped (pathway-spec, task states).
        if missed is None or on < missed[0]:
            return TaskSpec(
                code, occurrence, due, grace, lead, priority, "done",
                f"Completed by fact: {why}", "", triggers, on,
            )  # fmt: skip
    if missed is not None and ctx.reached(missed[0]):
        return TaskSpec(
            code, occurrence, due, grace, lead, priority, "missed", missed[1], "", triggers,
            missed[0],
        )  # fmt: skip
    return TaskSpec(code, occurrence, due, grace, lead, priority, "open", "", "", triggers)


def _visible_from(rule: Rule, due: date) -> date:
    return due - timedelta(days=rule.effective_lead)


def _next_day(day: date) -> date:
    return day + timedelta(days=1)


def _deceased(facts: EpisodeFacts, ctx: Context) -> Evaluation:
    """A deceased patient raises nothing; open tasks close as cancelled
    (pathway-spec V2.4)."""
    died = facts.deceased_on
    cancel = tuple(
        sorted(
            (t.rule, t.occurrence, f"Patient deceased ({died})")
            for t in facts.tasks
            if t.status == "open"
        )
    )
    return Evaluation(
        phase="closed",
        phase_cause=f"patient deceased on {died}",
        phase_since=died or ctx.as_of,
        tasks=(),
        projected=(),
        cancel=cancel,
        next_review=None,
    )


def _closed(facts: EpisodeFacts, ctx: Context) -> Evaluation:
    reason = facts.close_reason.replace("_", " ") or "closed"
    cancel = tuple(
        sorted(
            (t.rule, t.occurrence, f"Episode closed: {reason}")
            for t in facts.tasks
            if t.status == "open"
        )
    )
    return Evaluation(
        phase="closed",
        phase_cause=f"closed by a person: {reason}",
        phase_since=facts.closed_on or ctx.as_of,
        tasks=(),
        projected=(),
        cancel=cancel,
        next_review=None,
    )
