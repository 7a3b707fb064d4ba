"""Plain outputs of the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True, unsafe_hash=True)
class TaskSpec:
    """One task as the engine says it should be."""

    rule: str
    occurrence: int
    due_date: date
    grace_days: int
    lead_days: int
    priority: str
    # open | done | missed | cancelled
    status: str
    reason: str = ""
    outcome: str = ""
    triggers: tuple[str, ...] = ()
    # The date the status was reached (a completing fact's date, a window's
    # end); None while open.
    closed_on: date | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.rule, self.occurrence)

    @property
    def visible_from(self) -> date:
        from datetime import timedelta

        return self.due_date - timedelta(days=self.lead_days)


@dataclass(slots=True, unsafe_hash=True)
class Evaluation:
    phase: str
    phase_cause: str
    phase_since: date
    # Tasks that should exist now (as_of >= due - lead), with their status.
    tasks: tuple[TaskSpec, ...]
    # Tasks the engine expects later: not yet raised, shown on the timeline.
    projected: tuple[TaskSpec, ...]
    # Open tasks in the database that no longer apply: (rule, occurrence, reason).
    cancel: tuple[tuple[str, int, str], ...]
    # The earliest date after as_of on which this evaluation can change with
    # no new fact; None if nothing will change by time alone.
    next_review: date | None
    flags: tuple[str, ...] = ()
    derived: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True, unsafe_hash=True)
class PatientEvaluation:
    """A patient evaluated as one unit: each episode, and the programme."""

    episodes: dict[str, Evaluation]
    programme: Evaluation | None
