"""Rules are data: code, phases, trigger, anchor + offset, recurrence, window,
priority, grace, lead time, title, guidance and seed references.

The rule set is versioned. An episode keeps the version it started with until
someone migrates it on purpose (``episode_migrate_pathway``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathways.engine.context import Context

DEFAULT_GRACE_DAYS = 7
DEFAULT_LEAD_DAYS = 14


@dataclass(frozen=True, slots=True)
class Planned:
    """One occurrence of a rule as its planner sees it."""

    occurrence: int
    due: date
    triggers: tuple[str, ...] = ()
    # A fact that does what the task asks: (its date, the citation).
    done: tuple[date, str] | None = None
    # The last day the task can be done; after it an open task is missed.
    window_end: date | None = None
    # From this date an open task is missed (a later occurrence or a later
    # review took its place).
    superseded_on: date | None = None
    superseded_why: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    occurrences: tuple[Planned, ...] = ()
    # Why the rule does not apply (shown when an open task is cancelled).
    why_not: str = ""


Planner = Callable[["Context", "Rule"], Plan]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    title: str
    guidance: str
    seed_refs: tuple[str, ...]
    # triage | branch | acute | conservative | bone_health
    group: str
    # Phases in which the rule's tasks are worked (the spec's "phase(s)",
    # shown in the rule catalogue). Raising is decided by the trigger, the
    # branch suppression and the 12-month expiry, not by the phase label, so
    # that a late import still records what should have happened.
    phases: frozenset[str]
    # What the due date is counted from, and by how much.
    anchor: str
    offset_days: int = 0
    offset_months: int = 0
    recurs_months: int = 0
    window: str = ""
    trigger: str = ""
    priority: str = "routine"
    grace_days: int = DEFAULT_GRACE_DAYS
    lead_days: int = DEFAULT_LEAD_DAYS
    # Tasks of a patient-level rule live on the patient's newest open episode.
    patient_level: bool = False
    # Acute and conservative rules expire 12 months after identification.
    expires_at_12_months: bool = False
    # Closed by a person with one of these outcomes (decision tasks).
    outcomes: tuple[str, ...] = ()
    completes_by: str = ""
    planner: Planner = field(default=lambda ctx, rule: Plan(), compare=False, repr=False)

    @property
    def effective_grace(self) -> int:
        # Urgent work is overdue the day after it is due (spec: grace 0 for urgent).
        return 0 if self.priority == "urgent" else self.grace_days

    @property
    def effective_lead(self) -> int:
        return 0 if self.priority == "urgent" else self.lead_days

    def due_from(self, anchor: date, occurrence_offset_months: int = 0) -> date:
        from pathways.engine.dates import add_days, add_months

        return add_days(
            add_months(anchor, self.offset_months + occurrence_offset_months), self.offset_days
        )


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        codes = [r.code for r in self.rules]
        if len(codes) != len(set(codes)):
            raise ValueError("duplicate rule code in rule set")

    def get(self, code: str) -> Rule:
        for rule in self.rules:
            if rule.code == code:
                return rule
        raise KeyError(code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.rules)


RULESETS: dict[str, RuleSet] = {}


def register(ruleset: RuleSet) -> RuleSet:
    RULESETS[ruleset.version] = ruleset
    return ruleset


def get_ruleset(version: str) -> RuleSet:
    from pathways.engine import rules_v1  # noqa: F401  (registers v1)

    try:
        return RULESETS[version]
    except KeyError:
        raise KeyError(f"unknown pathway version {version!r}") from None
