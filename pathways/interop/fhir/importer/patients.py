"""Patient -> patient, with the date of death (filled in later too)."""

from __future__ import annotations

from datetime import date

from pathways.interop.fhir import codes
from pathways.interop.fhir.importer.record import PatientRecord, patient_name
from pathways.interop.fhir.importer.values import JSON, codes_in, fhir_date
from pathways.services.patient_facts import patient_record_death
from patients.inputs import parse_patient
from patients.models import Patient
from patients.services import patient_create
from vcftrack.core.errors import FieldErrors

SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def mrn_of(patient: JSON) -> str:
    """The ``MR`` identifier, else Synthea's id, else the resource id."""
    identifiers = [i for i in patient.get("identifier", []) if isinstance(i, dict)]
    for ident in identifiers:
        if "MR" in codes_in(ident.get("type"), codes.V2_0203) and ident.get("value"):
            return str(ident["value"])
    for ident in identifiers:
        if "synthea" in str(ident.get("system", "")) and ident.get("value"):
            return str(ident["value"])
    return str(patient.get("id", ""))


def import_patient(rec: PatientRecord) -> Patient | None:
    """The patient row: created, found from an earlier import, or None (skipped)."""
    mrn = mrn_of(rec.resource)
    pid = rec.row_id("Patient", f"mrn:{mrn}")
    existing = Patient.objects.filter(id=pid).select_related("clinic").first()
    if existing is not None:
        if existing.deleted_at is not None:
            rec.out.skip(f"{rec.label}: deleted in vcftrack; not re-created")
            return None
        rec.out.unchanged["patients"] += 1
        record_death(rec, existing)
        return existing
    clash = Patient.objects.alive().filter(clinic=rec.clinic, mrn=mrn).exists()
    if clash:
        # Someone entered this MRN by hand: merging records is a person's call.
        rec.out.skip(
            f"{rec.label}: MRN {mrn} already exists in {rec.clinic.code} (not from this "
            "import); bundle not merged into it"
        )
        return None
    given, family = patient_name(rec.resource)
    birth = rec.resource.get("birthDate")
    death = death_date(rec, birth=fhir_date(birth, rec.tz))
    found = FieldErrors()
    values = parse_patient(
        {
            "mrn": mrn,
            "given_name": given,
            "family_name": family,
            "birth_date": birth,
            "sex": SEX.get(str(rec.resource.get("gender")), "unknown"),
            "deceased_date": death,
        },
        found,
    )
    created = rec.write(
        "patients",
        "patient",
        lambda: patient_create(
            clinic=rec.clinic, **values, now=rec.now, patient_id=pid, errors=found
        ),
    )
    if created is not None and death is not None:
        rec.out.created["dates of death"] += 1
    return created


def death_date(rec: PatientRecord, *, birth: date | None) -> date | None:
    """Patient.deceasedDateTime as a date; a date vcftrack would refuse is reported.

    Reported rather than refused with the patient: the rest of the record
    is still worth importing, and a person can enter the date.
    """
    raw = rec.resource.get("deceasedDateTime")
    death = fhir_date(raw, rec.tz)
    if death is None:
        if raw is not None or rec.resource.get("deceasedBoolean") is True:
            rec.out.skip(
                f"{rec.label}: recorded as deceased without a full date of death; "
                "imported without one (enter the date by hand)"
            )
        return None
    if death > rec.today:
        rec.future(death, "date of death")
        return None
    if birth is not None and death < birth:
        rec.out.skip(
            f"{rec.label}: date of death {death} is before the birth date {birth}; not imported"
        )
        return None
    return death


def record_death(rec: PatientRecord, patient: Patient) -> None:
    """Fill in the date of death of a patient imported before it was known."""
    death = death_date(rec, birth=patient.birth_date)
    if death is None:
        return
    if patient.deceased_date is not None:
        # Already known (perhaps corrected by a person): left alone.
        rec.out.unchanged["dates of death"] += 1
        return
    rec.write(
        "dates of death",
        f"date of death {death}",
        lambda: patient_record_death(patient=patient, deceased_date=death, actor=None, now=rec.now),
    )
