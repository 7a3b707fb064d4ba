"""Who gets what: the rules of notifications/recipients.py, case by case (no database)."""

from __future__ import annotations

import datetime as dt
import uuid

from notifications.recipients import (
    Member,
    escalation_targets,
    for_escalation,
    for_event,
    for_overdue,
)
from vcftrack.core.events import TASK_ASSIGNED, TASK_CLOSED, TASK_CREATED, DomainEvent

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
CLINIC = uuid.uuid4()
TASK = uuid.uuid4()
PATIENT = uuid.uuid4()
MEMBERS = [
    Member(user_id=1, role="coordinator", lead=True),
    Member(user_id=2, role="coordinator"),
    Member(user_id=3, role="physician"),
    Member(user_id=4, role="viewer"),
]


def event(kind: str, **data: object) -> DomainEvent:
    base = {"task": str(TASK), "patient": str(PATIENT), "priority": "routine", "status": "open"}
    return DomainEvent(kind, CLINIC, f"{kind}:{TASK}", NOW, {**base, **data})


def users(drafts: list) -> list[int]:
    return sorted(d.user_id for d in drafts)


def test_an_assigned_task_notifies_the_assignee_only():
    drafts = for_event(event(TASK_ASSIGNED, assignee=2, actor=1), MEMBERS)
    assert users(drafts) == [2]
    assert drafts[0].kind == "assigned"
    assert not drafts[0].urgent


def test_taking_a_task_yourself_notifies_nobody():
    assert for_event(event(TASK_ASSIGNED, assignee=2, actor=2), MEMBERS) == []


def test_an_urgent_task_reaches_the_clinics_coordinators_and_physicians_not_viewers():
    drafts = for_event(event(TASK_CREATED, priority="urgent"), MEMBERS)
    assert users(drafts) == [1, 2, 3]
    assert {d.kind for d in drafts} == {"urgent"}
    assert all(d.urgent for d in drafts)


def test_routine_and_high_new_tasks_are_not_fanned_out():
    assert for_event(event(TASK_CREATED, priority="routine"), MEMBERS) == []
    assert for_event(event(TASK_CREATED, priority="high"), MEMBERS) == []


def test_an_urgent_task_raised_already_closed_notifies_nobody():
    assert for_event(event(TASK_CREATED, priority="urgent", status="done"), MEMBERS) == []


def test_a_closed_task_notifies_nobody():
    assert for_event(event(TASK_CLOSED, priority="urgent", status="done"), MEMBERS) == []


def test_an_overdue_task_notifies_its_assignee_and_unassigned_work_nobody():
    drafts = for_overdue(task_id=TASK, patient_id=PATIENT, assignee_id=3, priority="high")
    assert users(drafts) == [3]
    assert drafts[0].kind == "overdue"
    assert for_overdue(task_id=TASK, patient_id=PATIENT, assignee_id=None, priority="urgent") == []


def test_escalation_targets():
    assert escalation_targets("physicians", MEMBERS) == [3]
    assert escalation_targets("lead_coordinator", MEMBERS) == [1]
    assert escalation_targets("digest", MEMBERS) == []


def test_an_escalation_is_keyed_by_task_and_level():
    drafts = for_escalation(
        task_id=TASK,
        patient_id=PATIENT,
        level=2,
        target="lead_coordinator",
        priority="high",
        members=MEMBERS,
    )
    assert [(d.user_id, d.kind, d.key) for d in drafts] == [(1, "escalated", f"escalated:{TASK}:2")]
