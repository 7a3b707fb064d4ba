"""Escalation rules, as data (like the pathway rules): who hears of a task left undone.

``days_overdue`` counts days past the task's effective due date (due date, or
its snooze), as the worklist shows them; a rule applies only to a task that
is overdue (past its grace). Each rule fires once per task (unique key task +
level). Adding a rule is adding a row here.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifications.models import EscalationTarget


@dataclass(frozen=True)
class EscalationRule:
    code: str
    level: int
    priority: str
    days_overdue: int
    target: str
    description: str


ESCALATION_RULES: tuple[EscalationRule, ...] = (
    EscalationRule(
        code="urgent_past_grace",
        level=1,
        priority="urgent",
        days_overdue=0,
        target=EscalationTarget.PHYSICIANS,
        description="An urgent task still open after its grace period goes to the clinic's "
        "physicians.",
    ),
    EscalationRule(
        code="high_week_overdue",
        level=2,
        priority="high",
        days_overdue=7,
        target=EscalationTarget.LEAD_COORDINATOR,
        description="A high-priority task 7 days overdue goes to the clinic's lead coordinator.",
    ),
    EscalationRule(
        code="routine_month_overdue",
        level=3,
        priority="routine",
        days_overdue=30,
        target=EscalationTarget.DIGEST,
        description="A routine task 30 days overdue is listed in the digest's escalated section.",
    ),
)
