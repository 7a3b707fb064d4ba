"""FHIR R4 export of one episode: a ``collection`` Bundle as a JSON-able dict.

The Bundle holds the clinic (Organization), the Patient, the episode
(EpisodeOfCare with its phase history), the fracture (Condition), the
episode's observations, imaging (ImagingStudy, plus an Observation for the
edema finding), procedures, the patient's medications (MedicationStatement)
and DXA scans (Observation), and the follow-up tasks (Task). It validates
against the R4B models of ``fhir.resources``; docs/fhir.md lists the codes.

Everything is loaded in a fixed number of queries, whatever the episode holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pathways.interop.fhir.export import clinical, patient, tasks
from pathways.interop.fhir.export import episode as episode_resources
from pathways.interop.fhir.export.elements import JSON, derived_id, iso
from pathways.models import (
    Episode,
    FollowUpTask,
    Imaging,
    Observation,
    PhaseTransition,
    Procedure,
    Programme,
)
from patients.models import BoneDensity, Medication


@dataclass(frozen=True)
class EpisodeRecord:
    """An episode with everything its bundle shows, each list in bundle order."""

    episode: Episode
    observations: list[Observation]
    imaging: list[Imaging]
    procedures: list[Procedure]
    tasks: list[FollowUpTask]
    transitions: list[PhaseTransition]
    medications: list[Medication]
    bone_density: list[BoneDensity]


def _load(episode: Episode) -> EpisodeRecord:
    """Fetch everything the bundle shows in a fixed number of queries (7, and
    one more when the episode comes without its clinic and patient)."""
    if not Episode.clinic.is_cached(episode) or not Episode.patient.is_cached(episode):
        episode = Episode.objects.select_related("clinic", "patient").get(pk=episode.pk)
    return EpisodeRecord(
        episode=episode,
        observations=list(
            Observation.objects.alive()
            .filter(episode=episode)
            .order_by("effective_date", "created_at")
        ),
        imaging=list(
            Imaging.objects.alive().filter(episode=episode).order_by("performed_date", "created_at")
        ),
        procedures=list(
            Procedure.objects.alive()
            .filter(episode=episode)
            .order_by("performed_date", "created_at")
        ),
        tasks=list(
            FollowUpTask.objects.alive()
            .filter(episode=episode)
            .select_related("assignee")
            .order_by("due_date", "rule", "occurrence")
        ),
        transitions=list(PhaseTransition.objects.filter(episode=episode).order_by("at", "id")),
        medications=list(
            Medication.objects.alive()
            .filter(patient_id=episode.patient_id)
            .order_by("start_date", "created_at")
        ),
        bone_density=list(
            BoneDensity.objects.alive()
            .filter(patient_id=episode.patient_id)
            .order_by("performed_date", "created_at")
        ),
    )


def _programme(episode: Episode, today: date) -> list[JSON]:
    """The patient's bone-health programme as a CarePlan and its tasks, if any."""
    programme = Programme.objects.filter(patient_id=episode.patient_id).first()
    if programme is None:
        return []
    prog_tasks = list(
        FollowUpTask.objects.alive()
        .filter(patient_id=episode.patient_id, episode__isnull=True)
        .select_related("assignee")
        .order_by("due_date", "rule", "occurrence")
    )
    careplan_id = str(programme.id)
    return [
        tasks.careplan(programme, prog_tasks),
        *(tasks.task_resource(t, episode, today, careplan_id=careplan_id) for t in prog_tasks),
    ]


def episode_bundle(episode: Episode, *, now: datetime) -> JSON:
    """The FHIR R4 ``collection`` Bundle of one episode, as a JSON-able dict.

    1. Load the episode with everything it shows (fixed number of queries).
    2. Build Organization, Patient, EpisodeOfCare, Condition, then the facts
       and the tasks; task states use the clinic's date at ``now``.
    3. Wrap them as entries whose fullUrl is ``urn:uuid:<id>``, the form
       every reference in the bundle uses.
    """
    record = _load(episode)
    episode = record.episode
    today = episode.clinic.today(now)
    org = patient.organization(episode.clinic)
    condition_id = str(derived_id("condition", episode.id))
    patient_id = episode.patient_id
    resources: list[JSON] = [
        patient.patient_resource(episode.patient, org["id"]),
        org,
        episode_resources.episode_of_care(episode, record.transitions, condition_id, org["id"]),
        episode_resources.condition(episode, condition_id),
    ]
    resources += [clinical.observation(o, patient_id, condition_id) for o in record.observations]
    for img in record.imaging:
        resources += clinical.imaging(img, patient_id, condition_id)
    resources += [clinical.procedure(p, patient_id, condition_id) for p in record.procedures]
    resources += [clinical.medication_statement(m, today) for m in record.medications]
    resources += [clinical.dxa(scan) for scan in record.bone_density]
    resources += [tasks.task_resource(t, episode, today) for t in record.tasks]
    resources += _programme(episode, today)
    return {
        "resourceType": "Bundle",
        "id": str(derived_id("bundle", episode.id)),
        "meta": {"lastUpdated": iso(now)},
        "type": "collection",
        "timestamp": iso(now),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in resources
        ],
    }
