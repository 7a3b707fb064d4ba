"""Recording, from a task, the result it asks for (a DXA, a drug start, an
MRI, a pain score, the neuro exam)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pathways.inputs.facts import parse_fact
from pathways.models import FollowUpTask, TaskStatus
from pathways.services.facts import fact_record
from pathways.services.patient_facts import bone_density_record, medication_record
from pathways.services.tasks import require_writer
from patients.inputs import parse_bone_density, parse_medication
from vcftrack.core.errors import DomainError, FieldErrors


def task_record_result(
    *, task: FollowUpTask, actor: Any, form: str, data: dict[str, Any], now: datetime
) -> Any:
    """Record the result a task asks for (a DXA, a drug start, an MRI, a pain
    score, the neuro exam) from the task itself; the re-evaluation after
    commit closes the task as done by that fact, so the record and the task
    never disagree (a DXA task is never "done" with no DXA recorded)."""
    require_writer(actor, task)
    if task.status != TaskStatus.OPEN:
        raise DomainError(f"The task is already {task.get_status_display().lower()}.")
    episode = task.episode
    patient = task.patient
    patient.clinic = task.clinic
    # Each result goes through its one parser, as from the chart or the API.
    found = FieldErrors()
    if form == "dxa":
        scan = parse_bone_density(data, found)
        return bone_density_record(
            patient=patient, **scan, now=now, actor_id=actor.pk, errors=found
        )
    if form == "medication":
        drug = parse_medication(data, found)
        return medication_record(patient=patient, **drug, now=now, actor_id=actor.pk, errors=found)
    if episode is None:
        # A programme task is the patient's: its results are the patient's
        # drugs and DXAs; an episode's fact cannot close it.
        raise DomainError("This task is not closed by recording a result.")
    if form in ("imaging", "pain", "neuro"):
        values = parse_fact("imaging" if form == "imaging" else "observation", data, found)
        return fact_record(episode=episode, values=values, now=now, actor_id=actor.pk, errors=found)
    raise DomainError("This task is not closed by recording a result.")
