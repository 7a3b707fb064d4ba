"""Task and CarePlan: the follow-up tasks of an episode and the patient's
bone-health programme."""

from __future__ import annotations

from datetime import date, timedelta

from pathways.interop.fhir import codes
from pathways.interop.fhir.export.elements import JSON, concept, iso, local, meta, ref
from pathways.models import Episode, FollowUpTask, Programme, ProgrammeStatus, TaskStatus

TASK_PRIORITY = {"routine": "routine", "high": "urgent", "urgent": "asap"}
TASK_STATUS = {
    TaskStatus.DONE: "completed",
    TaskStatus.NOT_APPLICABLE: "cancelled",
    TaskStatus.CANCELLED: "cancelled",
    TaskStatus.MISSED: "failed",
}


def task_fhir_status(task: FollowUpTask, today: date) -> tuple[str, str]:
    """(FHIR Task.status, businessStatus text) of a task on the clinic's ``today``."""
    if task.status == TaskStatus.OPEN:
        state = task.state_on(today) or "upcoming"
        # Not yet due: requested; due or overdue: ready to be acted on.
        return ("requested" if state == "upcoming" else "ready", state)
    return (TASK_STATUS[TaskStatus(task.status)], task.status)


def _notes(task: FollowUpTask) -> list[JSON]:
    notes = [{"text": task.guidance}] if task.guidance else []
    if task.snoozed_until and task.snoozed_until > task.due_date:
        notes.append(
            {"text": f"Snoozed until {task.snoozed_until} (originally due {task.due_date})."}
        )
    if task.note:
        notes.append({"text": task.note})
    return notes


def _outcome(task: FollowUpTask) -> JSON:
    """Who, how it ended and why: the elements only some tasks have."""
    out: JSON = {}
    if task.assignee is not None:
        name = task.assignee.get_full_name() or task.assignee.get_username()
        out["owner"] = {"display": name}
    if task.status != TaskStatus.OPEN:
        if task.closed_at is not None:
            out["executionPeriod"] = {"end": iso(task.closed_at)}
        if task.reason:
            out["statusReason"] = concept(task.reason)
    if task.outcome:
        out["output"] = [{"type": concept("outcome"), "valueString": task.outcome}]
    return out


def task_resource(
    task: FollowUpTask, episode: Episode, today: date, careplan_id: str | None = None
) -> JSON:
    """A task of the episode, or (``careplan_id`` given) of the patient's programme."""
    status, business = task_fhir_status(task, today)
    if careplan_id is None:
        identifier = f"{episode.id}/{task.rule}/{task.occurrence}"
        focus = ref("EpisodeOfCare", episode.id)
    else:
        identifier = f"programme/{task.patient_id}/{task.rule}/{task.occurrence}"
        focus = ref("CarePlan", careplan_id)
    resource: JSON = {
        "resourceType": "Task",
        "id": str(task.id),
        "meta": meta(task),
        "identifier": [{"system": codes.system_uri("task"), "value": identifier}],
        "status": status,
        "businessStatus": concept(business, local("task-state", business, business)),
        "intent": "plan",
        "priority": TASK_PRIORITY.get(task.priority, "routine"),
        "code": concept(task.rule, local("pathway-rule", task.rule, task.title)),
        "description": task.title,
        "focus": focus,
        "for": ref("Patient", episode.patient_id),
        "authoredOn": iso(task.created_at),
        "lastModified": iso(task.updated_at),
        # The due window: from the (snoozed) due date to the last day before
        # the task counts as overdue (due + grace).
        "restriction": {
            "repetitions": 1,
            "period": {
                "start": iso(task.effective_due),
                "end": iso(task.overdue_from - timedelta(days=1)),
            },
        },
    }
    notes = _notes(task)
    if notes:
        resource["note"] = notes
    if careplan_id is not None:
        resource["basedOn"] = [ref("CarePlan", careplan_id)]
    if task.triggers:
        resource["reasonCode"] = concept("; ".join(str(t) for t in task.triggers))
    resource.update(_outcome(task))
    return resource


def careplan(programme: Programme, tasks: list[FollowUpTask]) -> JSON:
    """The patient's bone-health programme (pathway-spec V2.1) as a CarePlan:
    long-term follow-up that belongs to the patient, not to one fracture."""
    resource: JSON = {
        "resourceType": "CarePlan",
        "id": str(programme.id),
        "status": "active" if programme.status == ProgrammeStatus.ACTIVE else "completed",
        "intent": "plan",
        "title": "Bone-health programme",
        "description": "Long-term secondary prevention after vertebral compression "
        "fracture: bone density, treatment reviews, doses and fracture screening.",
        "subject": ref("Patient", programme.patient_id),
        "period": {"start": iso(programme.started_on)},
    }
    if programme.ended_at is not None:
        resource["period"]["end"] = iso(programme.ended_at)
    if tasks:
        resource["activity"] = [{"reference": ref("Task", t.id)} for t in tasks]
    return resource
