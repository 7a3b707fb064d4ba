"""Importing a bundle file: each patient in turn, one transaction per file."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.db import transaction

from pathways.interop.fhir.importer.bone_density import import_bone_density
from pathways.interop.fhir.importer.checks import check, relevant
from pathways.interop.fhir.importer.episodes import (
    close_if_deceased,
    import_episodes,
    import_pain_scores,
)
from pathways.interop.fhir.importer.medications import import_medications
from pathways.interop.fhir.importer.patients import import_patient
from pathways.interop.fhir.importer.reading import by_patient, expand_paths, load_bundle
from pathways.interop.fhir.importer.record import PatientRecord
from pathways.interop.fhir.importer.report import BundleError, BundleResult, ImportReport
from pathways.interop.fhir.importer.values import JSON
from patients.models import Clinic


def import_patient_record(rec: PatientRecord) -> None:
    """1. The patient (created or found); 2. drugs and DXA scans; 3. episodes
    last, so their first evaluation sees the drugs and scans; 4. pain scores
    on those episodes; 5. close them if the patient has died."""
    patient = import_patient(rec)
    if patient is None:
        return
    import_medications(rec, patient)
    import_bone_density(rec, patient)
    episodes = import_episodes(rec, patient)
    import_pain_scores(rec, episodes)
    close_if_deceased(rec, patient, episodes)


def import_bundle(
    bundle: JSON,
    *,
    clinic: Clinic,
    now: datetime,
    name: str,
    all_patients: bool = False,
) -> BundleResult:
    """Import one parsed Bundle in one transaction; returns what it did."""
    out = BundleResult(name=name)
    patients = by_patient(bundle)
    if not patients:
        out.skip("no Patient resource (e.g. a practitioner bundle); nothing to import")
        return out
    records = []
    for patient, resources in patients:
        rec = PatientRecord(clinic=clinic, now=now, out=out, patient=patient, resources=resources)
        if not all_patients and not relevant(rec):
            out.skip(
                f"{rec.label}: no osteoporosis-related record; not imported "
                "(--all-patients imports everyone)"
            )
            continue
        check(rec)
        records.append(rec)
    with transaction.atomic():
        for rec in records:
            import_patient_record(rec)
    return out


def import_paths(
    paths: Iterable[str | Path],
    *,
    clinic: Clinic,
    now: datetime,
    all_patients: bool = False,
) -> ImportReport:
    """Import every file; a bad file is reported by name and leaves nothing behind."""
    report = ImportReport()
    for path in expand_paths(paths):
        report.files += 1
        try:
            bundle = load_bundle(path)
            done = import_bundle(
                bundle, clinic=clinic, now=now, name=path.name, all_patients=all_patients
            )
        except BundleError as exc:
            report.errors.append(f"{path}: {exc}")
            continue
        except Exception as exc:
            # Anything unexpected inside a bundle rolls the whole file back
            # (one transaction per bundle); the other files still import.
            report.errors.append(f"{path}: import failed, nothing written ({exc!r})")
            continue
        report.add(done)
    return report
