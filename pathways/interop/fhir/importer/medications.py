"""MedicationRequest / MedicationStatement of an anti-osteoporosis drug or
calcitonin -> medications; other drugs are not imported.

A running prescription whose latest evidence (the prescription itself, a
later request, statement, administration, dispense or dated note for the
same drug) is more than 12 months before the import date is imported
``unverified`` (pathway-spec V2.4): someone must confirm it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial

from pathways.engine.dates import add_months
from pathways.interop.fhir import codes
from pathways.interop.fhir.importer.record import PatientRecord
from pathways.interop.fhir.importer.values import JSON, at_path, codes_in, fhir_date, label, texts
from pathways.services.patient_facts import medication_record
from patients.inputs import parse_medication
from patients.models import ANTI_OSTEOPOROSIS, Medication, Patient
from vcftrack.core.errors import FieldErrors

IMPORTED_DRUGS = ANTI_OSTEOPOROSIS | {"calcitonin"}
# pathway-spec V2.4: a prescription with no evidence in the 12 months before
# the import is imported unverified.
UNVERIFIED_AFTER_MONTHS = 12
# Every resource that shows a drug was prescribed, taken or handed out, with
# the fields holding its dates (and any dated note on it).
_TAKEN = ("effectivePeriod.end", "effectivePeriod.start", "effectiveDateTime")
MEDICATION_EVIDENCE: dict[str, tuple[str, ...]] = {
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": _TAKEN,
    "MedicationAdministration": _TAKEN,
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
}
STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(MG|MCG|UNT|IU)\b", re.IGNORECASE)
ROUTES = ("oral", "nasal", "subcutaneous", "intravenous", "intramuscular")
NOT_TAKEN = frozenset({"entered-in-error", "cancelled", "not-taken"})


def drug_of(med: JSON) -> str | None:
    """The vcftrack drug a medication resource names, if it is one we import."""
    concept = med.get("medicationCodeableConcept")
    for code in codes_in(concept, codes.RXNORM):
        if code in codes.RXNORM_DRUG:
            return codes.RXNORM_DRUG[code]
    text = texts(concept).lower()
    for needle, drug in codes.DRUG_NAME_PATTERNS:
        if needle in text:
            return drug if drug in IMPORTED_DRUGS else None
    return None


def _evidence_dates(rec: PatientRecord, resource: JSON, paths: tuple[str, ...]) -> list[date]:
    found = [fhir_date(at_path(resource, p), rec.tz) for p in paths]
    notes = resource.get("note")
    for note in notes if isinstance(notes, list) else []:
        found.append(fhir_date(note.get("time"), rec.tz) if isinstance(note, dict) else None)
    return [day for day in found if day is not None and day <= rec.today]


def latest_evidence(rec: PatientRecord) -> dict[str, date]:
    """Per drug, the latest date (not after the import date) on which a
    resource shows it was prescribed, taken, handed out or noted."""
    latest: dict[str, date] = {}
    for resource in rec.resources:
        paths = MEDICATION_EVIDENCE.get(str(resource.get("resourceType")))
        if paths is None or str(resource.get("status", "")) in NOT_TAKEN:
            continue
        drug = drug_of(resource)
        if drug is None:
            continue
        for day in _evidence_dates(rec, resource, paths):
            if day > latest.get(drug, date.min):
                latest[drug] = day
    return latest


def route_in(text: str) -> str:
    for route in ROUTES:
        if route in text:
            return route
    return ""


@dataclass(frozen=True)
class Dosage:
    text: str
    route: str


def _dosage(med: JSON, name: str) -> Dosage:
    """The dose text and route: from the dosage, else from the drug's name."""
    dosage = med.get("dosageInstruction") or med.get("dosage") or []
    dose_text = ""
    route = ""
    if dosage and isinstance(dosage[0], dict):
        dose_text = str(dosage[0].get("text", ""))
        route = route_in(texts(dosage[0].get("route")).lower())
    if not dose_text:
        match = STRENGTH.search(name)
        dose_text = f"{match.group(1)} {match.group(2).lower()}" if match else ""
    return Dosage(dose_text[:100], route or route_in(name.lower()))


def _period(rec: PatientRecord, med: JSON) -> tuple[date | None, date | None]:
    """(start, stop) as the resource states them."""
    if med["resourceType"] == "MedicationRequest":
        return fhir_date(med.get("authoredOn"), rec.tz), None
    period = med.get("effectivePeriod") or {}
    start = fhir_date(period.get("start") or med.get("effectiveDateTime"), rec.tz)
    return start, fhir_date(period.get("end"), rec.tz)


def _usable_period(
    rec: PatientRecord, med: JSON, name: str, death: date | None
) -> tuple[date, date | None] | None:
    """(start, stop) to record, or None (reported) when the resource says too
    little or claims the future."""
    status = str(med.get("status", ""))
    if status in {"entered-in-error", "cancelled", "draft", "not-taken"}:
        rec.out.skip(f"{rec.label}: {name} has status {status}; not imported")
        return None
    start, stop = _period(rec, med)
    if start is None:
        rec.out.skip(f"{rec.label}: {name} has no start date; not imported")
        return None
    if stop is None and status in {"stopped", "completed"}:
        # Importing it as running would claim treatment that ended.
        rec.out.skip(
            f"{rec.label}: {name} from {start} is {status} on an unknown date; not imported"
        )
        return None
    if rec.future(start, name):
        return None
    if stop is not None and stop > rec.today:
        stop = None  # a planned end date: the drug is still running today
    if stop is None and death is not None and death >= start:
        stop = death  # nobody takes a drug after death
    return start, stop


def import_medications(rec: PatientRecord, patient: Patient) -> None:
    meds = [(m, d) for m in rec.medications() for d in [drug_of(m)] if d]
    ids = {id(m): rec.row_id(m["resourceType"], str(m["id"])) for m, _ in meds}
    existing = set(Medication.objects.filter(id__in=ids.values()).values_list("id", flat=True))
    evidence = latest_evidence(rec) if meds else {}
    stale_before = add_months(rec.today, -UNVERIFIED_AFTER_MONTHS)
    for med, drug in meds:
        row_id = ids[id(med)]
        name = label(med.get("medicationCodeableConcept")) or drug
        if row_id in existing:
            rec.out.unchanged["medications"] += 1
            continue
        period = _usable_period(rec, med, name, patient.deceased_date)
        if period is None:
            continue
        start, stop = period
        dosage = _dosage(med, name)
        data = {
            "drug": drug,
            "start_date": start,
            "stop_date": stop,
            "dose": dosage.text,
            "route": dosage.route,
        }
        # Only a running prescription claims anything about today; one
        # that ended (or ended at death) is history, not in doubt.
        unverified = stop is None and evidence.get(drug, start) < stale_before
        found = FieldErrors()
        values = parse_medication(data, found)
        rec.write(
            "medications",
            f"{name} from {start}",
            partial(
                medication_record,
                patient=patient,
                **values,
                now=rec.now,
                medication_id=row_id,
                unverified=unverified,
                errors=found,
            ),
        )
