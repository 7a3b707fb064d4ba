"""Organization and Patient: the clinic and the person the bundle is about."""

from __future__ import annotations

from pathways.interop.fhir import codes
from pathways.interop.fhir.export.elements import JSON, concept, derived_id, iso, meta, ref
from patients.models import Clinic, Patient


def organization(clinic: Clinic) -> JSON:
    return {
        "resourceType": "Organization",
        "id": str(derived_id("organization", clinic.id)),
        "identifier": [{"system": codes.system_uri("clinic"), "value": clinic.code}],
        "active": True,
        "name": clinic.name,
    }


def telecom(patient: Patient) -> list[JSON]:
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


def patient_resource(patient: Patient, org_id: str) -> JSON:
    phones = telecom(patient)
    resource: JSON = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": meta(patient),
        "identifier": [
            {
                "use": "usual",
                "type": concept(
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
        **({"telecom": phones} if phones else {}),
        "gender": patient.sex,
        "birthDate": iso(patient.birth_date),
        "managingOrganization": ref("Organization", org_id),
    }
    if patient.deceased_date is not None:
        # vcftrack keeps the date only; FHIR dateTime allows a bare date. No
        # date means no statement (FHIR reads an absent deceased[x] that way).
        resource["deceasedDateTime"] = iso(patient.deceased_date)
    return resource
