"""Before anything is written: is the patient ours, and is what we read valid FHIR?"""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as ModelError

from pathways.interop.fhir import codes
from pathways.interop.fhir.importer.episodes import FRACTURE_CODES
from pathways.interop.fhir.importer.medications import drug_of
from pathways.interop.fhir.importer.record import PatientRecord
from pathways.interop.fhir.importer.report import BundleError
from pathways.interop.fhir.importer.values import JSON, codes_in

DXA_LOINC = set(codes.DXA_BMD_SITE) | set(codes.DXA_TSCORE_SITE)
# The codes of every Condition and Observation the import reads.
EVENT_CODES = {codes.OSTEOPOROSIS_SNOMED} | FRACTURE_CODES
READ_LOINC = DXA_LOINC | {codes.PAIN_NRS_LOINC[0]}
# A Condition with one of these makes the patient relevant.
RELEVANT_SNOMED = {
    codes.OSTEOPOROSIS_SNOMED,
    codes.OSTEOPOROTIC_FRACTURE_SNOMED[0],
} | set(codes.VERTEBRAL_FRACTURE_SNOMED)


def relevant(rec: PatientRecord) -> bool:
    """The patient has an osteoporosis-related record: an osteoporosis or
    fracture Condition, a DXA Observation or an imported drug."""
    for cond in rec.conditions():
        if codes_in(cond.get("code"), codes.SNOMED) & RELEVANT_SNOMED:
            return True
    for obs in rec.of("Observation"):
        if codes_in(obs.get("code"), codes.LOINC) & DXA_LOINC:
            return True
    return any(drug_of(med) for med in rec.medications())


def _read_resources(rec: PatientRecord) -> list[JSON]:
    return (
        [rec.resource]
        + [c for c in rec.conditions() if codes_in(c.get("code"), codes.SNOMED) & EVENT_CODES]
        + [o for o in rec.of("Observation") if codes_in(o.get("code"), codes.LOINC) & READ_LOINC]
        + [m for m in rec.medications() if drug_of(m)]
    )


def check(rec: PatientRecord) -> None:
    """Validate every resource the import reads against the FHIR R4(B) models.

    Runs before anything is written, so a malformed resource fails its
    file with a message naming it, instead of half-importing the bundle.
    """
    for resource in _read_resources(rec):
        kind = str(resource.get("resourceType"))
        try:
            get_fhir_model_class(kind).model_validate(resource)
        except ModelError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise BundleError(
                f"{kind}/{resource.get('id')} is not valid FHIR R4: {where}: {first['msg']}"
            ) from exc
