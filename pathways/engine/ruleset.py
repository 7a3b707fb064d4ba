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

# The rule set's own decisions, beside its rules: which side branch an
# episode is in, which phase it stands in, which flags it shows. The engine
# core calls these and names no version's rules.
BranchFn = Callable[["Context"], tuple[str, str, date]]
PhaseFn = Callable[["Context", str, str, date], tuple[str, str, date]]
FlagsFn = Callable[["Context"], tuple[str, ...]]

DEFAULT_GRACE_DAYS = 7
DEFAULT_LEAD_DAYS = 14

# The phases an open episode stands in (pathway-spec "Phase"): the main line
# and the two side branches. A rule names the phases its tasks are worked in.
MAIN_PHASES = frozenset({"triage", "acute", "conservative", "augmentation_review", "bone_health"})
BRANCH_PHASES = frozenset({"surgical", "pathologic_workup"})
OPEN_PHASES = MAIN_PHASES | BRANCH_PHASES
# Before bone health: where the acute and conservative rules are worked.
EARLY_PHASES = frozenset({"triage", "acute", "conservative", "augmentation_review"})


@dataclass(slots=True, unsafe_hash=True)
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
    # A planner may raise one occurrence at another priority than the rule's
    # (a lapsed denosumab dose turns high: pathway-spec V2.2).
    priority: str = ""


@dataclass(slots=True, unsafe_hash=True)
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
    # triage | branch | acute | conservative | bone_health | programme (v2)
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
    # The window's length in days, where the rule has one the planner counts.
    window_days: int = 0
    trigger: str = ""
    priority: str = "routine"
    grace_days: int = DEFAULT_GRACE_DAYS
    lead_days: int = DEFAULT_LEAD_DAYS
    # A patient-level rule: in v1 its tasks live on the patient's newest open
    # episode; from v2 on they belong to the patient's bone-health programme
    # (unique key patient + rule + occurrence).
    patient_level: bool = False
    # Acute and conservative rules expire 12 months after identification.
    expires_at_12_months: bool = False
    # An expiring rule raises nothing first visible after the expiry -- except
    # a rule whose trigger can arise at any time (v2 branch consults: a
    # deterioration recorded in year two is today's work, "regardless of
    # fracture age", seed 000).
    raises_after_expiry: bool = False
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


def _no_flags(ctx: Context) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]
    branch: BranchFn
    phase: PhaseFn
    flags: FlagsFn = _no_flags
    # Rules not raised while the episode is in a side branch (their open
    # tasks are cancelled with the reason).
    suppressed_in_branch: frozenset[str] = frozenset()
    # v2: patient-level rules form the patient's programme, evaluated once per
    # patient; v1 keeps them on the newest open episode.
    has_programme: bool = False

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


def single_plan(
    due: date,
    triggers: tuple[str, ...],
    *,
    done: tuple[date, str] | None = None,
    window_end: date | None = None,
    superseded_on: date | None = None,
    superseded_why: str = "",
    priority: str = "",
) -> Plan:
    """A rule's one occurrence (both pathway versions' planners use it).

    Keywords spelled out (not **kw): planners call this ~15 times an evaluation."""
    return Plan(
        (Planned(1, due, triggers, done, window_end, superseded_on, superseded_why, priority),)
    )
