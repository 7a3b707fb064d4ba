"""evaluate(facts, as_of) -> Evaluation. Pure: no ORM, no clock."""

from __future__ import annotations

from datetime import date, timedelta

from pathways.engine.context import AUGMENTATION, Context
from pathways.engine.facts import EpisodeFacts
from pathways.engine.result import Evaluation, TaskSpec
from pathways.engine.rules_v1 import (
    SUPPRESSED_IN_BRANCH,
    early_augmentation_triggers,
    malignancy_suspected,
    pathologic_confirmed,
    surgical_urgent_triggers,
)
from pathways.engine.ruleset import Planned, Rule, RuleSet, get_ruleset


def evaluate(facts: EpisodeFacts, as_of: date, ruleset: RuleSet | None = None) -> Evaluation:
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
    ruleset = ruleset or get_ruleset("v1")
    ctx = Context(facts, as_of)

    if facts.status == "closed":
        return _closed(facts, ctx)

    branch, branch_cause, branch_since = _branch(ctx)
    expiry = ctx.twelve_months

    tasks: list[TaskSpec] = []
    projected: list[TaskSpec] = []
    planned_keys: set[tuple[str, int]] = set()
    why_not: dict[str, str] = {}
    for rule in ruleset.rules:
        if rule.patient_level and not facts.owns_patient_rules:
            why_not[rule.code] = "kept on the patient's most recent open episode"
            continue
        if branch and rule.code in SUPPRESSED_IN_BRANCH:
            why_not[rule.code] = f"not raised in the {branch.replace('_', ' ')} branch"
            continue
        plan = rule.planner(ctx, rule)
        occurrences = plan.occurrences
        if rule.expires_at_12_months:
            # An expired rule raises nothing new: an occurrence that would
            # first appear on or after the 12-month expiry is not raised at
            # all (rather than raised already missed, which would count
            # work nobody ever expected).
            occurrences = tuple(p for p in occurrences if _visible_from(rule, p.due) < expiry)
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
    phase, cause, since = _phase(ctx, branch, branch_cause, branch_since)
    flags = []
    if (facts.identified_date - facts.onset_date).days > 5:
        flags.append("calcitonin_window_passed")
    if facts.recorded_on > expiry:
        flags.append("historical")
    return Evaluation(
        phase=phase,
        phase_cause=cause,
        phase_since=since,
        tasks=tuple(tasks),
        projected=tuple(projected),
        cancel=cancel,
        next_review=ctx.next_review(),
        flags=tuple(flags),
        derived={"bmd_changes": ctx.bmd_changes()},
    )


def _settle(ctx: Context, rule: Rule, planned: Planned, expiry: date) -> TaskSpec:
    code, occurrence, due = rule.code, planned.occurrence, planned.due
    grace, lead, priority, triggers = (
        rule.effective_grace,
        rule.effective_lead,
        rule.priority,
        planned.triggers,
    )
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
    if rule.expires_at_12_months and (missed is None or expiry < missed[0]):
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


def _branch(ctx: Context) -> tuple[str, str, date]:
    surgery = ctx.procedure({"surgery"})
    urgent = surgical_urgent_triggers(ctx)
    if urgent and not (surgery and surgery.performed_date >= urgent[0].on):
        return "surgical", urgent[0].text, urgent[0].on
    confirmed = pathologic_confirmed(ctx)
    if confirmed is not None:
        return "pathologic_workup", confirmed.text, confirmed.on
    suspected = malignancy_suspected(ctx)
    if suspected is not None:
        return "pathologic_workup", suspected.text, suspected.on
    return "", "", ctx.identified


def _phase(
    ctx: Context, branch: str, branch_cause: str, branch_since: date
) -> tuple[str, str, date]:
    if branch:
        return branch, branch_cause, branch_since
    surgery = ctx.procedure({"surgery"})
    if surgery is not None:
        return (
            "bone_health",
            f"surgery performed on {surgery.performed_date}",
            surgery.performed_date,
        )
    augmented = ctx.procedure(AUGMENTATION)
    if augmented is not None:
        return (
            "bone_health",
            f"{augmented.kind} performed on {augmented.performed_date}",
            augmented.performed_date,
        )
    review = ctx.person_closed("augmentation_review_3m")
    if review is not None and review.outcome != "offer_augmentation":
        outcome = review.outcome or review.status.replace("_", " ")
        return "bone_health", f"3-month review closed: {outcome}", review.closed_on or ctx.as_of
    if ctx.reached(ctx.twelve_months):
        return "bone_health", "12 months after identification", ctx.twelve_months
    if review is not None:
        return (
            "augmentation_review",
            "augmentation offered at the 3-month review; awaiting the procedure",
            review.closed_on or ctx.as_of,
        )
    if ctx.reached(ctx.three_months):
        return "augmentation_review", "3-month review due", ctx.three_months
    early = ctx.person_closed("augmentation_consider_early")
    triggers = [t for t in early_augmentation_triggers(ctx) if t.on < ctx.three_months]
    if triggers and (early is None or early.outcome == "offer_augmentation"):
        return "augmentation_review", f"early trigger: {triggers[0].text}", triggers[0].on
    if not _triage_clear(ctx):
        return "triage", "neuro exam and red-flag screen not yet recorded clear", ctx.identified
    if ctx.reached(ctx.day(28)):
        return "conservative", "day 28 of conservative management", ctx.day(28)
    return "acute", "neuro exam and red-flag screen recorded clear", ctx.identified


def _triage_clear(ctx: Context) -> bool:
    neuro_ok = ctx.facts.neuro_status == "intact" or (
        ctx.latest("neuro_deficit") is not None and ctx.latest("neuro_deficit").value is False  # type: ignore[union-attr]
    )
    red = ctx.person_closed("red_flag_screen")
    screen = ctx.latest("malignancy_suspected")
    flags_ok = (red is not None and red.outcome != "red_flags_found") or (
        screen is not None and screen.value is False
    )
    return neuro_ok and flags_ok


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
