"""The clinical facts: Observation (findings and DXA scans), ImagingStudy,
Procedure and MedicationStatement."""

from __future__ import annotations

import uuid
from datetime import date

from pathways.interop.fhir import codes
from pathways.interop.fhir.export.elements import (
    JSON,
    concept,
    derived_id,
    iso,
    level_site,
    local,
    meta,
    quantity,
    ref,
)
from pathways.models import BOOLEAN_KINDS, Imaging, Observation, Procedure
from patients.models import BoneDensity, Medication

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


def _imaging_category() -> JSON:
    return concept("Imaging", (codes.OBSERVATION_CATEGORY, "imaging", "Imaging"))


def _observation_category(kind: str) -> tuple[str, str]:
    if kind in SURVEY_KINDS:
        return ("survey", "Survey")
    if kind in IMAGING_KINDS:
        return ("imaging", "Imaging")
    return ("exam", "Exam")


def _observation_value(obs: Observation) -> JSON:
    if obs.kind in BOOLEAN_KINDS:
        return {"valueBoolean": bool(obs.value_bool)}
    if obs.kind == "pain_nrs":
        return {"valueQuantity": quantity(obs.value_number or 0.0, "{score}", "{score}")}
    # ODI and the deformity measurements are percentages.
    return {"valueQuantity": quantity(obs.value_number or 0.0, "%", "%")}


def observation(obs: Observation, patient_id: uuid.UUID, condition_id: str) -> JSON:
    label = OBSERVATION_LABELS.get(obs.kind, obs.kind)
    codings = [local("observation-kind", obs.kind, label)]
    if obs.kind == "pain_nrs":
        codings.insert(0, (codes.LOINC, *codes.PAIN_NRS_LOINC))
    category = _observation_category(obs.kind)
    return {
        "resourceType": "Observation",
        "id": str(obs.id),
        "meta": meta(obs),
        "status": "final",
        "category": [concept(category[1], (codes.OBSERVATION_CATEGORY, *category))],
        "code": concept(label, *codings),
        "subject": ref("Patient", patient_id),
        "focus": [ref("Condition", condition_id)],
        "effectiveDateTime": iso(obs.effective_date),
        **_observation_value(obs),
    }


def dxa(scan: BoneDensity) -> JSON:
    (bmd_code, bmd_display), (t_code, t_display) = codes.DXA_LOINC[scan.site]
    resource: JSON = {
        "resourceType": "Observation",
        "id": str(scan.id),
        "meta": meta(scan),
        "status": "final",
        "category": [_imaging_category()],
        "code": concept(bmd_display, (codes.LOINC, bmd_code, bmd_display)),
        "subject": ref("Patient", scan.patient_id),
        "effectiveDateTime": iso(scan.performed_date),
        "valueQuantity": quantity(float(scan.bmd_g_cm2), "g/cm2", "g/cm2"),
        "bodySite": concept(codes.DXA_SITE_TEXT[scan.site]),
    }
    if scan.t_score is not None:
        resource["component"] = [
            {
                "code": concept(t_display, (codes.LOINC, t_code, t_display)),
                "valueQuantity": quantity(float(scan.t_score), "T-score", "{T-score}"),
            }
        ]
    return resource


def imaging(img: Imaging, patient_id: uuid.UUID, condition_id: str) -> list[JSON]:
    """The ImagingStudy, and an Observation for the bone-marrow edema finding
    when the report says whether there is one."""
    code, display = codes.DICOM_MODALITY[img.modality]
    label = f"{display} {img.region}" + (" with contrast" if img.contrast else "")
    edema = {True: "present", False: "absent", None: "not reported"}[img.edema]
    study: JSON = {
        "resourceType": "ImagingStudy",
        "id": str(img.id),
        "meta": meta(img),
        "status": "available",
        "modality": [{"system": codes.DICOM, "code": code, "display": display}],
        "subject": ref("Patient", patient_id),
        "started": iso(img.performed_date),
        "procedureCode": [concept(label)],
        "reasonReference": [ref("Condition", condition_id)],
        "description": label,
        "note": [{"text": f"Bone marrow edema: {edema}."}],
    }
    if img.edema is None:
        return [study]
    finding: JSON = {
        "resourceType": "Observation",
        "id": str(derived_id("imaging-edema", img.id)),
        "status": "final",
        "category": [_imaging_category()],
        "code": concept(
            "Bone marrow edema",
            local("observation-kind", "bone_marrow_edema", "Bone marrow edema"),
        ),
        "subject": ref("Patient", patient_id),
        "focus": [ref("Condition", condition_id)],
        "effectiveDateTime": iso(img.performed_date),
        "valueBoolean": img.edema,
        "derivedFrom": [ref("ImagingStudy", img.id)],
    }
    return [study, finding]


def medication_statement(med: Medication, today: date) -> JSON:
    label = med.drug.replace("_", " ")
    period: JSON = {"start": iso(med.start_date)}
    if med.stop_date:
        period["end"] = iso(med.stop_date)
    drug_class = med.drug_class.replace("_", " ")
    resource: JSON = {
        "resourceType": "MedicationStatement",
        "id": str(med.id),
        "meta": meta(med),
        "status": "completed" if med.stop_date and med.stop_date <= today else "active",
        "category": concept(drug_class, local("drug-class", med.drug_class, drug_class)),
        "medicationCodeableConcept": concept(label, local("drug", med.drug, label)),
        "subject": ref("Patient", med.patient_id),
        "effectivePeriod": period,
        "dateAsserted": iso(med.created_at),
    }
    dosage: JSON = {}
    if med.dose:
        dosage["text"] = med.dose
    if med.route:
        dosage["route"] = concept(med.route)
    if dosage:
        resource["dosage"] = [dosage]
    if med.unverified:
        resource["note"] = [
            {"text": "Imported prescription with no recent evidence; not yet verified."}
        ]
    return resource


def procedure(proc: Procedure, patient_id: uuid.UUID, condition_id: str) -> JSON:
    label = PROCEDURE_LABELS.get(proc.kind, proc.kind)
    resource: JSON = {
        "resourceType": "Procedure",
        "id": str(proc.id),
        "meta": meta(proc),
        "status": "completed",
        "code": concept(label, local("procedure-kind", proc.kind, label)),
        "subject": ref("Patient", patient_id),
        "performedDateTime": iso(proc.performed_date),
        "reasonReference": [ref("Condition", condition_id)],
    }
    if proc.level:
        resource["bodySite"] = [level_site(proc.level)]
    return resource
