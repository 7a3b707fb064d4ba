"""evaluate(facts, as_of) -> Evaluation. Pure: no ORM, no clock."""

from __future__ import annotations

from datetime import date, timedelta

from pathways.engine.context import Context
from pathways.engine.dates import iso
from pathways.engine.facts import EpisodeFacts, ExistingTask
from pathways.engine.result import Evaluation, TaskSpec
from pathways.engine.ruleset import Planned, Rule, RuleSet

_ONE_DAY = timedelta(days=1)
# What made an open task missed (its reason is worded only when it is).
_BY_NOTHING, _BY_WINDOW, _BY_SUPERSEDING, _BY_EXPIRY = range(4)


class _RuleFacts:
    """What the engine's loop reads of one rule, worked out once per rule set
    (the rule's effective lead and grace, its expiry flags) instead of on
    every occurrence of every evaluation."""

    __slots__ = (
        "rule", "code", "planner", "patient_level", "expires", "raises_after_expiry",
        "cut_at_expiry", "priority", "grace", "lead", "lead_delta", "plain_grace", "plain_lead",
    )  # fmt: skip

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.code = rule.code
        self.planner = rule.planner
        self.patient_level = rule.patient_level
        self.expires = rule.expires_at_12_months
        self.raises_after_expiry = rule.raises_after_expiry
        # Occurrences first visible after the 12-month expiry are not raised.
        self.cut_at_expiry = rule.expires_at_12_months and not rule.raises_after_expiry
        self.priority = rule.priority
        self.grace = rule.effective_grace
        self.lead = rule.effective_lead
        self.lead_delta = timedelta(days=rule.effective_lead)
        self.plain_grace = rule.grace_days
        self.plain_lead = rule.lead_days


_COMPILED: dict[int, tuple[RuleSet, tuple[_RuleFacts, ...]]] = {}


def rule_facts(ruleset: RuleSet) -> tuple[_RuleFacts, ...]:
    """The rule set's rules as the loop reads them (built on first use)."""
    hit = _COMPILED.get(id(ruleset))
    if hit is None or hit[0] is not ruleset:
        hit = (ruleset, tuple(_RuleFacts(r) for r in ruleset.rules))
        _COMPILED[id(ruleset)] = hit
    return hit[1]


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

    ended = _ended(facts, ctx)
    if ended is not None:
        return ended

    branch, branch_cause, branch_since = ruleset.branch(ctx)
    tasks, projected, planned_keys, why_not = _plan_rules(ctx, ruleset, branch)
    cancel = cancellations(facts.tasks, planned_keys, why_not)
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


def _plan_rules(
    ctx: Context, ruleset: RuleSet, branch: str
) -> tuple[list[TaskSpec], list[TaskSpec], set[tuple[str, int]], dict[str, str]]:
    """Steps 2-3 of ``evaluate``: the raised tasks, the projected ones, the
    keys of every occurrence planned, and why each rule planned none.

    The loop runs for every rule of every evaluation: what an evaluation
    says of a rule it does not plan is worded once, up front or on first
    need, and the usual single-occurrence cases are inline.
    """
    facts = ctx.facts
    expiry = ctx.twelve_months
    stored = ctx.tasks
    suppressed = ruleset.suppressed_in_branch if branch else frozenset()
    # Patient-level rules are planned on the patient's programme (v2), or on
    # the patient's most recent open episode (v1); else on this episode.
    patient_elsewhere = (
        "continued in the patient's programme"
        if facts.in_programme
        else ("" if facts.owns_patient_rules else "kept on the patient's most recent open episode")
    )
    branch_why = f"not raised in the {branch.replace('_', ' ')} branch" if branch else ""
    expired_why = ""
    tasks: list[TaskSpec] = []
    projected: list[TaskSpec] = []
    planned_keys: set[tuple[str, int]] = set()
    why_not: dict[str, str] = {}
    for rf in rule_facts(ruleset):
        code = rf.code
        if rf.patient_level and patient_elsewhere:
            why_not[code] = patient_elsewhere
            continue
        if code in suppressed:
            why_not[code] = branch_why
            continue
        plan = rf.planner(ctx, rf.rule)
        occurrences = plan.occurrences
        if rf.cut_at_expiry and occurrences:
            occurrences = _before_expiry(occurrences, expiry + rf.lead_delta)
            if not occurrences:
                if not expired_why:
                    expired_why = f"expired 12 months after identification ({iso(expiry)})"
                why_not[code] = expired_why
                continue
        if not occurrences:
            why_not[code] = plan.why_not or "no longer applies"
            continue
        for planned in occurrences:
            key = (code, planned.occurrence)
            planned_keys.add(key)
            existing = stored.get(key)
            spec = settle(ctx, rf, planned, expiry, existing)
            if spec.status == "open" and (existing is None or existing.status != "open"):
                lead = rf.lead_delta if spec.lead_days == rf.lead else timedelta(spec.lead_days)
                if not ctx.reached(spec.due_date - lead):
                    projected.append(spec)
                    continue
            # A task once raised stays raised while open, even if a
            # back-dated fact moved its due date later: the service then
            # updates its due date instead of leaving it stale.
            tasks.append(spec)
    return tasks, projected, planned_keys, why_not


def _before_expiry(occurrences: tuple[Planned, ...], last_due: date) -> tuple[Planned, ...]:
    """An expired rule raises nothing new: an occurrence that would first
    appear on or after the 12-month expiry is not raised at all (rather than
    raised already missed, which would count work nobody ever expected)."""
    if len(occurrences) == 1:
        return occurrences if occurrences[0].due < last_due else ()
    return tuple(p for p in occurrences if p.due < last_due)


def cancellations(
    stored: tuple[ExistingTask, ...], planned_keys: set[tuple[str, int]], why_not: dict[str, str]
) -> tuple[tuple[str, int, str], ...]:
    """Open tasks no occurrence was planned for, with the reason. Sorted: the
    result must not depend on the order the rows were loaded in."""
    return tuple(
        sorted(
            (t.rule, t.occurrence, f"No longer applies: {why_not.get(t.rule, 'the facts changed')}")
            for t in stored
            if t.status == "open" and (t.rule, t.occurrence) not in planned_keys
        )
    )


def cancel_open(stored: tuple[ExistingTask, ...], reason: str) -> tuple[tuple[str, int, str], ...]:
    """Every open task, cancelled with one reason (a closed episode, a deceased
    patient, an ended programme)."""
    return tuple(sorted((t.rule, t.occurrence, reason) for t in stored if t.status == "open"))


def settle(
    ctx: Context, rf: _RuleFacts, planned: Planned, expiry: date, existing: ExistingTask | None
) -> TaskSpec:
    """One occurrence's task; ``existing`` is the row stored for it (the
    caller has looked it up already)."""
    code, occurrence, due = rf.code, planned.occurrence, planned.due
    priority = planned.priority or rf.priority
    triggers = planned.triggers
    if priority == rf.priority:
        grace, lead = rf.grace, rf.lead
    else:
        # Urgent work has no grace and no lead time (pathway-spec).
        grace = 0 if priority == "urgent" else rf.plain_grace
        lead = 0 if priority == "urgent" else rf.plain_lead
    if existing is not None and existing.closed_by_person:
        # A person's decision stands; the engine never overrides it.
        return TaskSpec(
            code, occurrence, due, grace, lead, priority, existing.status, "",
            existing.outcome, triggers, existing.closed_on,
        )  # fmt: skip
    # The date an open task is missed: the end of its window, the day a later
    # occurrence or review supersedes it, or the 12-month expiry. The reason
    # is worded only when the task is missed (most occurrences are not).
    missed_on: date | None = None
    missed_by = _BY_NOTHING
    window_end = planned.window_end
    if window_end is not None:
        missed_on, missed_by = window_end + _ONE_DAY, _BY_WINDOW
    superseded_on = planned.superseded_on
    if superseded_on is not None and (missed_on is None or superseded_on < missed_on):
        missed_on, missed_by = superseded_on, _BY_SUPERSEDING
    if (
        rf.expires
        and (missed_on is None or expiry < missed_on)
        and not (rf.raises_after_expiry and due - rf.lead_delta >= expiry)
    ):
        missed_on, missed_by = expiry, _BY_EXPIRY
    done = planned.done
    if done is not None:
        on, why = done
        # Work done after the task was missed does not undo the miss: missed
        # work is counted, never silently dropped (pathway-spec, task states).
        if missed_on is None or on < missed_on:
            return TaskSpec(
                code, occurrence, due, grace, lead, priority, "done",
                f"Completed by fact: {why}", "", triggers, on,
            )  # fmt: skip
    if missed_on is not None and ctx.reached(missed_on):
        return TaskSpec(
            code, occurrence, due, grace, lead, priority, "missed",
            _missed_why(missed_by, planned, window_end, expiry), "", triggers, missed_on,
        )  # fmt: skip
    return TaskSpec(code, occurrence, due, grace, lead, priority, "open", "", "", triggers)


def _missed_why(by: int, planned: Planned, window_end: date | None, expiry: date) -> str:
    if by == _BY_WINDOW and window_end is not None:
        return f"Window closed on {iso(window_end)}"
    if by == _BY_SUPERSEDING:
        return planned.superseded_why.capitalize() or "Superseded"
    return f"Expired 12 months after identification ({iso(expiry)})"


def _ended(facts: EpisodeFacts, ctx: Context) -> Evaluation | None:
    """A closed episode or a deceased patient: nothing is planned."""
    if facts.status == "closed":
        return _closed(facts, ctx)
    if facts.deceased_on is not None and ctx.reached(facts.deceased_on):
        return _deceased(facts, ctx)
    return None


def _deceased(facts: EpisodeFacts, ctx: Context) -> Evaluation:
    """A deceased patient raises nothing; open tasks close as cancelled
    (pathway-spec V2.4)."""
    died = facts.deceased_on
    cancel = cancel_open(facts.tasks, f"Patient deceased ({died})")
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
    cancel = cancel_open(facts.tasks, f"Episode closed: {reason}")
    return Evaluation(
        phase="closed",
        phase_cause=f"closed by a person: {reason}",
        phase_since=facts.closed_on or ctx.as_of,
        tasks=(),
        projected=(),
        cancel=cancel,
        next_review=None,
    )
