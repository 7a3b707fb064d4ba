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

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects

from pathways.fhir import codes
from pathways.models import (
    BOOLEAN_KINDS,
    Episode,
    EpisodeStatus,
    FollowUpTask,
    Imaging,
    Observation,
    Phase,
    PhaseTransition,
    Procedure,
    Programme,
    ProgrammeStatus,
    TaskStatus,
)
from patients.models import BoneDensity, Clinic, Medication, Patient

JSON = dict[str, Any]

# The namespace of the ids of resources that have no row of their own
# (Condition, Organization, Bundle, the edema Observation of an imaging study).
FHIR_NAMESPACE = uuid.UUID("6f1d8c52-53a4-4c7e-9a1e-2f0c1b7d9e41")

OBSERVATION_LABELS: dict[str, str] = {
    "pain_nrs": "Pain (numeric rating scale 0-10)",
    "odi": "Oswestry Disability Index",
    "kyphosis_pct": "Kyphosis (%)",
    "scoliosis_pct": "Scoliosis (%)",
    "dorsal_wall_loss_pct": "Dorsal wall height reduction (%)",
    "height_loss_pct": "Vertebral body height loss (%)",
    "pulmonary_dysfunction": "Pulmonary dysfunction",
    "neuro_deficit": "Neurological deficit",
    "neuro_deterioration": "Progressive neurological deterioration",
    "instability": "Spinal instability",
    "canal_compromise": "Canal compromise / cord compression",
    "parenteral_narcotics": "Parenteral narcotics needed for pain",
    "hospital_admission": "Hospital admission for pain",
    "pain_med_contraindication": "Contraindication to pain medication",
    "worsening_symptoms": "Worsening symptoms despite medication",
    "symptoms_changed": "New or changed pain/symptoms",
    "malignancy_suspected": "Malignancy suspected",
    "pathologic_confirmed": "Pathologic fracture confirmed",
}
SURVEY_KINDS = frozenset({"pain_nrs", "odi"})
IMAGING_KINDS = frozenset(
    {"kyphosis_pct", "scoliosis_pct", "dorsal_wall_loss_pct", "height_loss_pct", "canal_compromise"}
)
PROCEDURE_LABELS = {
    "vertebroplasty": "Vertebroplasty",
    "kyphoplasty": "Kyphoplasty",
    "nerve_root_block": "Nerve root block",
    "surgery": "Spine surgery",
}
TASK_PRIORITY = {"routine": "routine", "high": "urgent", "urgent": "asap"}


# ----------------------------------------------------------------- helpers --
def _ref(kind: str, rid: uuid.UUID | str) -> JSON:
    return {"reference": f"urn:uuid:{rid}", "type": kind}


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def _concept(text: str, *codings: tuple[str, str, str]) -> JSON:
    out: JSON = {"text": text}
    if codings:
        out["coding"] = [{"system": s, "code": c, "display": d} for s, c, d in codings]
    return out


def _local(kind: str, code: str, display: str) -> tuple[str, str, str]:
    return (codes.system_uri("CodeSystem", kind), code, display)


def _level_site(level: str) -> JSON:
    snomed = codes.VERTEBRA_SNOMED.get(level)
    if snomed is None:
        return {"text": level}
    return _concept(f"{level} vertebra", (codes.SNOMED, snomed, f"{level} vertebra"))


def _derived_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(FHIR_NAMESPACE, "/".join(str(p) for p in parts))


def _quantity(value: float, unit: str, code: str) -> JSON:
    return {"value": value, "unit": unit, "system": codes.UCUM, "code": code}


# ------------------------------------------------------------------ loading --
def _load(episode: Episode) -> Episode:
    """Fetch everything the bundle shows in a fixed number of queries (9)."""
    if not Episode.clinic.is_cached(episode) or not Episode.patient.is_cached(episode):  # type: ignore[attr-defined]
        episode = Episode.objects.select_related("clinic", "patient").get(pk=episode.pk)
    prefetch_related_objects(
        [episode],
        Prefetch(
            "observations",
            queryset=Observation.objects.alive().order_by("effective_date", "created_at"),
            to_attr="fhir_observations",
        ),
        Prefetch(
            "imaging",
            queryset=Imaging.objects.alive().order_by("performed_date", "created_at"),
            to_attr="fhir_imaging",
        ),
        Prefetch(
            "procedures",
            queryset=Procedure.objects.alive().order_by("performed_date", "created_at"),
            to_attr="fhir_procedures",
        ),
        Prefetch(
            "tasks",
            queryset=FollowUpTask.objects.alive()
            .select_related("assignee")
            .order_by("due_date", "rule", "occurrence"),
            to_attr="fhir_tasks",
        ),
        Prefetch(
            "transitions",
            queryset=PhaseTransition.objects.order_by("at", "id"),
            to_attr="fhir_transitions",
        ),
        Prefetch(
            "patient__medications",
            queryset=Medication.objects.alive().order_by("start_date", "created_at"),
            to_attr="fhir_medications",
        ),
        Prefetch(
            "patient__bone_density",
            queryset=BoneDensity.objects.alive().order_by("performed_date", "created_at"),
            to_attr="fhir_bone_density",
        ),
    )
    return episode


# ---------------------------------------------------------------- resources --
def _organization(clinic: Clinic) -> JSON:
    return {
        "resourceType": "Organization",
        "id": str(_derived_id("organization", clinic.id)),
        "identifier": [{"system": codes.system_uri("clinic"), "value": clinic.code}],
        "active": True,
        "name": clinic.name,
    }


def _telecom(patient: Patient) -> list[JSON]:
    """The phone numbers, the first preferred (rank 1); the best time to call
    rides on it as an extension (R4 ContactPoint has no element for it)."""
    points: list[JSON] = []
    for rank, number in enumerate((patient.phone, patient.phone_alt), start=1):
        if not number:
            continue
        point: JSON = {"system": "phone", "value": number, "rank": rank}
        if not points and patient.contact_time:
            point["extension"] = [
                {
                    "url": codes.system_uri("preferred-contact-time"),
                    "valueString": patient.contact_time,
                }
            ]
        points.append(point)
    return points


def _patient(patient: Patient, org_id: str) -> JSON:
    telecom = _telecom(patient)
    resource: JSON = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": {"versionId": str(patient.version), "lastUpdated": _iso(patient.updated_at)},
        "identifier": [
            {
                "use": "usual",
                "type": _concept(
                    "Medical record number", (codes.V2_0203, "MR", "Medical record number")
                ),
                # An MRN is unique per clinic only: the system names the clinic.
                "system": codes.system_uri("clinic", patient.clinic.code, "mrn"),
                "value": patient.mrn,
            }
        ],
        "active": patient.deleted_at is None,
        "name": [
            {
                "use": "official",
                "family": patient.family_name,
                "given": [patient.given_name],
                "text": patient.full_name,
            }
        ],
        # vcftrack's sex values are FHIR's administrative-gender codes.
        **({"telecom": telecom} if telecom else {}),
        "gender": patient.sex,
        "birthDate": _iso(patient.birth_date),
        "managingOrganization": _ref("Organization", org_id),
    }
    if patient.deceased_date is not None:
        # vcftrack keeps the date only; FHIR dateTime allows a bare date. No
        # date means no statement (FHIR reads an absent deceased[x] that way).
        resource["deceasedDateTime"] = _iso(patient.deceased_date)
    return resource


def episode_of_care_status(episode: Episode) -> str:
    if episode.deleted_at is not None:
        return "entered-in-error"
    if episode.status == EpisodeStatus.CLOSED or episode.phase == Phase.CLOSED:
        return "finished"
    return "active"


def _phase_extension(phase: str) -> JSON:
    return {"url": codes.system_uri("StructureDefinition", "episode-phase"), "valueCode": phase}


def _episode_of_care(episode: Episode, condition_id: str, org_id: str) -> JSON:
    transitions: list[PhaseTransition] = episode.fhir_transitions  # type: ignore[attr-defined]
    history: list[JSON] = []
    for index, tr in enumerate(transitions):
        span: JSON = {"start": _iso(tr.effective_date)}
        if index + 1 < len(transitions):
            end = max(transitions[index + 1].effective_date, tr.effective_date)
            span["end"] = _iso(end)
        history.append(
            {
                # The pathway phase is finer than EpisodeOfCare.status: it rides
                # along as an extension on each history entry.
                "extension": [
                    _phase_extension(tr.to_phase),
                    {
                        "url": codes.system_uri("StructureDefinition", "phase-cause"),
                        "valueString": tr.cause or tr.to_phase,
                    },
                ],
                "status": "finished" if tr.to_phase == Phase.CLOSED else "active",
                "period": span,
            }
        )
    period: JSON = {"start": _iso(episode.identified_date)}
    if episode.closed_at is not None:
        period["end"] = _iso(episode.clinic.today(episode.closed_at))
    resource: JSON = {
        "resourceType": "EpisodeOfCare",
        "id": str(episode.id),
        "meta": {"versionId": str(episode.version), "lastUpdated": _iso(episode.updated_at)},
        "extension": [_phase_extension(episode.phase)],
        "identifier": [{"system": codes.system_uri("episode"), "value": str(episode.id)}],
        "status": episode_of_care_status(episode),
        "type": [
            _concept(
                "Vertebral compression fracture follow-up",
                _local("episode-type", "vcf-follow-up", "VCF follow-up pathway"),
            )
        ],
        "diagnosis": [
            {
                "condition": _ref("Condition", condition_id),
                "role": _concept("Chief complaint"),
                "rank": 1,
            }
        ],
        "patient": _ref("Patient", episode.patient_id),
        "managingOrganization": _ref("Organization", org_id),
        "period": period,
    }
    if history:
        resource["statusHistory"] = history
    return resource


def _condition(episode: Episode, condition_id: str) -> JSON:
    codings = [(codes.SNOMED, *codes.VCF_SNOMED)]
    if episode.etiology == "osteoporotic":
        codings.append((codes.SNOMED, *codes.OSTEOPOROTIC_FRACTURE_SNOMED))
        codings.append((codes.ICD10CM, *codes.VCF_OSTEOPOROTIC_ICD10))
    active = episode.status == EpisodeStatus.ACTIVE and episode.deleted_at is None
    notes = [
        f"Etiology: {episode.etiology.replace('_', ' ')}.",
        f"Neurological status: {episode.neuro_status}.",
    ]
    if episode.close_reason:
        notes.append(f"Episode closed: {episode.close_reason.replace('_', ' ')}.")
    return {
        "resourceType": "Condition",
        "id": condition_id,
        "clinicalStatus": {
            "coding": [
                {"system": codes.CONDITION_CLINICAL, "code": "active" if active else "inactive"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": codes.CONDITION_VER_STATUS,
                    "code": "entered-in-error" if episode.deleted_at else "confirmed",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": codes.CONDITION_CATEGORY,
                        "code": "problem-list-item",
                        "display": "Problem List Item",
                    }
                ]
            }
        ],
        "code": _concept(f"Vertebral compression fracture {'/'.join(episode.levels)}", *codings),
        "bodySite": [_level_site(level) for level in episode.levels],
        "subject": _ref("Patient", episode.patient_id),
        "onsetDateTime": _iso(episode.onset_date),
        "recordedDate": _iso(episode.identified_date),
        "note": [{"text": " ".join(notes)}],
    }


def _observation(obs: Observation, condition_id: str) -> JSON:
    label = OBSERVATION_LABELS.get(obs.kind, obs.kind)
    codings = [_local("observation-kind", obs.kind, label)]
    if obs.kind == "pain_nrs":
        codings.insert(0, (codes.LOINC, *codes.PAIN_NRS_LOINC))
    if obs.kind in SURVEY_KINDS:
        category = ("survey", "Survey")
    elif obs.kind in IMAGING_KINDS:
        category = ("imaging", "Imaging")
    else:
        category = ("exam", "Exam")
    resource: JSON = {
        "resourceType": "Observation",
        "id": str(obs.id),
        "meta": {"versionId": str(obs.version), "lastUpdated": _iso(obs.updated_at)},
        "status": "final",
        "category": [_concept(category[1], (codes.OBSERVATION_CATEGORY, *category))],
        "code": _concept(label, *codings),
        "subject": _ref("Patient", obs.episode.patient_id),
        "focus": [_ref("Condition", condition_id)],
        "effectiveDateTime": _iso(obs.effective_date),
    }
    if obs.kind in BOOLEAN_KINDS:
        resource["valueBoolean"] = bool(obs.value_bool)
    elif obs.kind == "pain_nrs":
        resource["valueQuantity"] = _quantity(obs.value_number or 0.0, "{score}", "{score}")
    else:
        # ODI and the deformity measurements are percentages.
        resource["valueQuantity"] = _quantity(obs.value_number or 0.0, "%", "%")
    return resource


def _dxa(scan: BoneDensity) -> JSON:
    (bmd_code, bmd_display), (t_code, t_display) = codes.DXA_LOINC[scan.site]
    resource: JSON = {
        "resourceType": "Observation",
        "id": str(scan.id),
        "meta": {"versionId": str(scan.version), "lastUpdated": _iso(scan.updated_at)},
        "status": "final",
        "category": [_concept("Imaging", (codes.OBSERVATION_CATEGORY, "imaging", "Imaging"))],
        "code": _concept(bmd_display, (codes.LOINC, bmd_code, bmd_display)),
        "subject": _ref("Patient", scan.patient_id),
        "effectiveDateTime": _iso(scan.performed_date),
        "valueQuantity": _quantity(float(scan.bmd_g_cm2), "g/cm2", "g/cm2"),
        "bodySite": _concept(codes.DXA_SITE_TEXT[scan.site]),
    }
    if scan.t_score is not None:
        resource["component"] = [
            {
                "code": _concept(t_display, (codes.LOINC, t_code, t_display)),
                "valueQuantity": _quantity(float(scan.t_score), "T-score", "{T-score}"),
            }
        ]
    return resource


def _imaging(img: Imaging, condition_id: str) -> list[JSON]:
    code, display = codes.DICOM_MODALITY[img.modality]
    label = f"{display} {img.region}" + (" with contrast" if img.contrast else "")
    edema = {True: "present", False: "absent", None: "not reported"}[img.edema]
    study: JSON = {
        "resourceType": "ImagingStudy",
        "id": str(img.id),
        "meta": {"versionId": str(img.version), "lastUpdated": _iso(img.updated_at)},
        "status": "available",
        "modality": [{"system": codes.DICOM, "code": code, "display": display}],
        "subject": _ref("Patient", img.episode.patient_id),
        "started": _iso(img.performed_date),
        "procedureCode": [_concept(label)],
        "reasonReference": [_ref("Condition", condition_id)],
        "description": label,
        "note": [{"text": f"Bone marrow edema: {edema}."}],
    }
    out = [study]
    if img.edema is not None:
        out.append(
            {
                "resourceType": "Observation",
                "id": str(_derived_id("imaging-edema", img.id)),
                "status": "final",
                "category": [
                    _concept("Imaging", (codes.OBSERVATION_CATEGORY, "imaging", "Imaging"))
                ],
                "code": _concept(
                    "Bone marrow edema",
                    _local("observation-kind", "bone_marrow_edema", "Bone marrow edema"),
                ),
                "subject": _ref("Patient", img.episode.patient_id),
                "focus": [_ref("Condition", condition_id)],
                "effectiveDateTime": _iso(img.performed_date),
                "valueBoolean": img.edema,
                "derivedFrom": [_ref("ImagingStudy", img.id)],
            }
        )
    return out


def _medication(med: Medication, today: date) -> JSON:
    label = med.drug.replace("_", " ")
    period: JSON = {"start": _iso(med.start_date)}
    if med.stop_date:
        period["end"] = _iso(med.stop_date)
    resource: JSON = {
        "resourceType": "MedicationStatement",
        "id": str(med.id),
        "meta": {"versionId": str(med.version), "lastUpdated": _iso(med.updated_at)},
        "status": "completed" if med.stop_date and med.stop_date <= today else "active",
        "category": _concept(
            med.drug_class.replace("_", " "),
            _local("drug-class", med.drug_class, med.drug_class.replace("_", " ")),
        ),
        "medicationCodeableConcept": _concept(label, _local("drug", med.drug, label)),
        "subject": _ref("Patient", med.patient_id),
        "effectivePeriod": period,
        "dateAsserted": _iso(med.created_at),
    }
    dosage: JSON = {}
    if med.dose:
        dosage["text"] = med.dose
    if med.route:
        dosage["route"] = _concept(med.route)
    if dosage:
        resource["dosage"] = [dosage]
    if med.unverified:
        resource["note"] = [
            {"text": "Imported prescription with no recent evidence; not yet verified."}
        ]
    return resource


def _procedure(proc: Procedure, condition_id: str) -> JSON:
    label = PROCEDURE_LABELS.get(proc.kind, proc.kind)
    resource: JSON = {
        "resourceType": "Procedure",
        "id": str(proc.id),
        "meta": {"versionId": str(proc.version), "lastUpdated": _iso(proc.updated_at)},
        "status": "completed",
        "code": _concept(label, _local("procedure-kind", proc.kind, label)),
        "subject": _ref("Patient", proc.episode.patient_id),
        "performedDateTime": _iso(proc.performed_date),
        "reasonReference": [_ref("Condition", condition_id)],
    }
    if proc.level:
        resource["bodySite"] = [_level_site(proc.level)]
    return resource


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


def _task(
    task: FollowUpTask, episode: Episode, today: date, careplan_id: str | None = None
) -> JSON:
    status, business = task_fhir_status(task, today)
    # The due window: from the (snoozed) due date to the last day before the
    # task counts as overdue (due + grace).
    window_start = task.effective_due
    window_end = task.overdue_from - timedelta(days=1)
    resource: JSON = {
        "resourceType": "Task",
        "id": str(task.id),
        "meta": {"versionId": str(task.version), "lastUpdated": _iso(task.updated_at)},
        "identifier": [
            {
                "system": codes.system_uri("task"),
                "value": (
                    f"{episode.id}/{task.rule}/{task.occurrence}"
                    if careplan_id is None
                    else f"programme/{task.patient_id}/{task.rule}/{task.occurrence}"
                ),
            }
        ],
        "status": status,
        "businessStatus": _concept(business, _local("task-state", business, business)),
        "intent": "plan",
        "priority": TASK_PRIORITY.get(task.priority, "routine"),
        "code": _concept(task.rule, _local("pathway-rule", task.rule, task.title)),
        "description": task.title,
        "focus": (
            _ref("EpisodeOfCare", episode.id)
            if careplan_id is None
            else _ref("CarePlan", careplan_id)
        ),
        "for": _ref("Patient", episode.patient_id),
        "authoredOn": _iso(task.created_at),
        "lastModified": _iso(task.updated_at),
        "restriction": {
            "repetitions": 1,
            "period": {"start": _iso(window_start), "end": _iso(window_end)},
        },
        "note": [{"text": task.guidance}] if task.guidance else [],
    }
    if careplan_id is not None:
        resource["basedOn"] = [_ref("CarePlan", careplan_id)]
    if task.triggers:
        resource["reasonCode"] = _concept("; ".join(str(t) for t in task.triggers))
    if task.snoozed_until and task.snoozed_until > task.due_date:
        resource["note"].append(
            {"text": f"Snoozed until {task.snoozed_until} (originally due {task.due_date})."}
        )
    if task.assignee is not None:
        name = task.assignee.get_full_name() or task.assignee.get_username()
        resource["owner"] = {"display": name}
    if task.status != TaskStatus.OPEN:
        if task.closed_at is not None:
            resource["executionPeriod"] = {"end": _iso(task.closed_at)}
        if task.reason:
            resource["statusReason"] = _concept(task.reason)
    if task.outcome:
        resource["output"] = [{"type": _concept("outcome"), "valueString": task.outcome}]
    if task.note:
        resource["note"].append({"text": task.note})
    if not resource["note"]:
        del resource["note"]
    return resource


def _careplan(programme: Programme, tasks: list[FollowUpTask]) -> JSON:
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
        "subject": _ref("Patient", programme.patient_id),
        "period": {"start": _iso(programme.started_on)},
        "activity": [{"reference": _ref("Task", t.id)} for t in tasks],
    }
    if programme.ended_at is not None:
        resource["period"]["end"] = _iso(programme.ended_at)
    if not resource["activity"]:
        del resource["activity"]
    return resource


# ------------------------------------------------------------------ bundle --
def episode_bundle(episode: Episode, *, now: datetime) -> dict[str, Any]:
    """The FHIR R4 ``collection`` Bundle of one episode, as a JSON-able dict.

    1. Load the episode with everything it shows (fixed number of queries).
    2. Build Organization, Patient, EpisodeOfCare, Condition, then the facts
       and the tasks; task states use the clinic's date at ``now``.
    3. Wrap them as entries whose fullUrl is ``urn:uuid:<id>``, the form
       every reference in the bundle uses.
    """
    episode = _load(episode)
    clinic = episode.clinic
    today = clinic.today(now)
    org = _organization(clinic)
    condition_id = str(_derived_id("condition", episode.id))
    resources: list[JSON] = [
        _patient(episode.patient, org["id"]),
        org,
        _episode_of_care(episode, condition_id, org["id"]),
        _condition(episode, condition_id),
    ]
    for obs in episode.fhir_observations:  # type: ignore[attr-defined]
        obs.episode = episode
        resources.append(_observation(obs, condition_id))
    for img in episode.fhir_imaging:  # type: ignore[attr-defined]
        img.episode = episode
        resources.extend(_imaging(img, condition_id))
    for proc in episode.fhir_procedures:  # type: ignore[attr-defined]
        proc.episode = episode
        resources.append(_procedure(proc, condition_id))
    for med in episode.patient.fhir_medications:  # type: ignore[attr-defined]
        resources.append(_medication(med, today))
    for scan in episode.patient.fhir_bone_density:  # type: ignore[attr-defined]
        resources.append(_dxa(scan))
    for task in episode.fhir_tasks:  # type: ignore[attr-defined]
        resources.append(_task(task, episode, today))
    programme = Programme.objects.filter(patient_id=episode.patient_id).first()
    if programme is not None:
        prog_tasks = list(
            FollowUpTask.objects.alive()
            .filter(patient_id=episode.patient_id, episode__isnull=True)
            .select_related("assignee")
            .order_by("due_date", "rule", "occurrence")
        )
        resources.append(_careplan(programme, prog_tasks))
        for task in prog_tasks:
            resources.append(_task(task, episode, today, careplan_id=str(programme.id)))
    return {
        "resourceType": "Bundle",
        "id": str(_derived_id("bundle", episode.id)),
        "meta": {"lastUpdated": _iso(now)},
        "type": "collection",
        "timestamp": _iso(now),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in resources
        ],
    }
