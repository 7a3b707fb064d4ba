"""import_fhir: the real Synthea bundles, idempotent re-import, bad files, missing levels."""

from __future__ import annotations

import copy
import datetime as dt
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from pathways.interop.fhir.importer import import_paths
from pathways.models import Episode, FollowUpTask, Observation, PhaseTransition
from patients.models import BoneDensity, Medication, Patient
from tests.factories import dxa_values, fact_values, medication_values

pytestmark = pytest.mark.django_db

# Real Synthea bundles, kept in the repository (tests/data/synthea/README.md).
SYNTHEA = Path(__file__).resolve().parents[2] / "data" / "synthea"
TWYLA = "Twyla_Moen_a3f60302-e902-468f-a683-6373d24fc4fd.json"
CLORINDA = "Clorinda_Wilkinson_3a77c3ad-6d14-4ec5-ac60-05a01355bb27.json"

# The osteoporosis-related patients in the sample (Twyla Moen, Gayla Ferry,
# Clorinda Wilkinson); Buster Hoeger, a young man with no osteoporosis
# record, is not imported.
SAMPLE_FILES = 5
SAMPLE_PATIENTS = 3
SAMPLE_ALENDRONATE = 3


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row the importer can touch, with its version and change_seq."""
    return {
        "patients": sorted(Patient.objects.values_list("id", "version", "change_seq")),
        "medications": sorted(Medication.objects.values_list("id", "version", "change_seq")),
        "scans": sorted(BoneDensity.objects.values_list("id", "version", "change_seq")),
        "episodes": sorted(Episode.objects.values_list("id", "version", "change_seq")),
        "observations": sorted(Observation.objects.values_list("id", "version", "change_seq")),
        "tasks": sorted(FollowUpTask.objects.values_list("id", "version", "change_seq")),
        "transitions": sorted(PhaseTransition.objects.values_list("id", flat=True)),
    }


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_fhir", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def with_vertebral_fracture(
    source: Path, target: Path, *, onset: str, levels: list[str] | None, extra: list[dict] = ()
) -> Path:
    """A copy of a real Synthea bundle with a vertebral fracture (and more) added.

    Synthea never emits a vertebral level, so the level-bearing Condition is
    added here, coded as a real EHR would (SNOMED vertebra body structures).
    """
    bundle = json.loads(source.read_text(encoding="utf-8"))
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    subject = {"reference": patient["fullUrl"]}
    vertebra = {"T12": "23215003", "L1": "66794005"}
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"vcf-{onset}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "15724005",
                    "display": "Fracture of vertebral column without spinal cord injury",
                }
            ]
        },
        "subject": subject,
        "encounter": {"reference": f"urn:uuid:enc-{onset}"},
        "onsetDateTime": f"{onset}T10:00:00+00:00",
        "recordedDate": f"{onset}T10:00:00+00:00",
    }
    if levels:
        condition["bodySite"] = [
            {
                "coding": [{"system": "http://snomed.info/sct", "code": vertebra[lv]}],
                "text": f"{lv} vertebra",
            }
            for lv in levels
        ]
    bundle["entry"].append({"fullUrl": f"urn:uuid:vcf-{onset}", "resource": condition})
    for resource in extra:
        resource = copy.deepcopy(resource)
        resource["subject"] = subject
        bundle["entry"].append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    target.write_text(json.dumps(bundle), encoding="utf-8")
    return target


def dxa(rid: str, day: str, bmd: float, t_score: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24966-4"}]},
        "effectiveDateTime": day,
        "valueQuantity": {
            "value": bmd,
            "unit": "g/cm2",
            "system": "http://unitsofmeasure.org",
            "code": "g/cm2",
        },
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]},
                "valueQuantity": {"value": t_score, "unit": "{T-score}"},
            }
        ],
    }


def pain(rid: str, day: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "effectiveDateTime": f"{day}T09:00:00+00:00",
        "valueQuantity": {"value": value, "unit": "{score}"},
    }


def test_real_synthea_bundles_import_patients_and_drugs_and_report_the_rest(clinic_a, now):
    report = import_paths([SYNTHEA], clinic=clinic_a, now=now)
    assert report.errors == []
    assert report.files == SAMPLE_FILES
    assert Patient.objects.filter(clinic=clinic_a).count() == SAMPLE_PATIENTS
    assert report.created["patients"] == SAMPLE_PATIENTS
    # Synthea's MRN (the MR identifier), names, sex and birth date.
    gayla = Patient.objects.get(mrn="259bc6c6-9c1d-43e9-bd25-7539cf07f8ac")
    assert (gayla.given_name, gayla.family_name, gayla.sex) == ("Gayla", "Ferry", "female")
    assert gayla.birth_date == dt.date(1937, 6, 3)
    meds = Medication.objects.all()
    assert meds.count() == SAMPLE_ALENDRONATE
    assert {m.drug for m in meds} == {"alendronate"}
    assert Medication.objects.get(patient=gayla).start_date == dt.date(2017, 8, 3)
    assert Medication.objects.get(patient=gayla).route == "oral"
    # Clorinda Wilkinson died on 2019-07-01 (Patient.deceasedDateTime): her
    # record says so, and her alendronate stops there.
    clorinda = Patient.objects.get(family_name="Wilkinson")
    assert clorinda.deceased_date == dt.date(2019, 7, 1)
    assert report.created["dates of death"] == 1
    assert set(
        Patient.objects.filter(deceased_date__isnull=True).values_list("family_name", flat=True)
    ) == {"Ferry", "Moen"}
    assert Medication.objects.get(patient=clorinda).stop_date == dt.date(2019, 7, 1)
    # Each living patient's alendronate was prescribed once, years before the
    # import (2006, 2017) and never again: imported unverified. Clorinda's
    # ended at her death: history, nothing to verify.
    flags = {m.patient.family_name: m.unverified for m in meds.select_related("patient")}
    assert flags == {"Moen": True, "Ferry": True, "Wilkinson": False}
    # Every osteoporotic fracture in the sample is of another bone: no episodes,
    # and each is named in the report with the bone.
    assert Episode.objects.count() == 0
    non_vertebral = [s for s in report.skipped if "not vertebral; no VCF episode" in s]
    assert len(non_vertebral) == 5
    assert any("of the clavicle" in s for s in non_vertebral)
    # Synthea's DXA results are T-scores without a BMD: reported, not invented.
    assert BoneDensity.objects.count() == 0
    assert len([s for s in report.skipped if "T-score" in s and "no BMD" in s]) == 1
    assert any("practitioner" in s for s in report.skipped)
    assert len([s for s in report.skipped if "no osteoporosis-related record" in s]) == 1


def test_reimporting_the_same_files_changes_nothing(
    clinic_a, now, tmp_path, django_capture_on_commit_callbacks
):
    twyla = with_vertebral_fracture(
        SYNTHEA / TWYLA,
        tmp_path / TWYLA,
        onset="2026-10-01",
        levels=["T12", "L1"],
        extra=[dxa("dxa-1", "2026-10-05", 0.801, -2.8), pain("pain-1", "2026-10-20", 7)],
    )
    paths = [SYNTHEA, twyla]
    with django_capture_on_commit_callbacks(execute=True):
        first = import_paths(paths, clinic=clinic_a, now=now)
    assert first.errors == []
    assert first.created["episodes"] == 1
    before = snapshot()
    later = now + dt.timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = import_paths(paths, clinic=clinic_a, now=later)
    assert snapshot() == before  # no new rows, no version or change_seq bump
    assert callbacks == []  # nothing scheduled for re-evaluation either
    assert dict(second.created) == {}
    # Twyla Moen is in two of the files: her row is found twice, created never.
    assert second.unchanged["patients"] == SAMPLE_PATIENTS + 1
    assert second.unchanged["dates of death"] == 1
    assert Patient.objects.count() == SAMPLE_PATIENTS
    assert second.unchanged["episodes"] == 1


def test_vertebral_fracture_with_levels_becomes_an_episode_with_its_facts(
    clinic_a, now, tmp_path, django_capture_on_commit_callbacks
):
    path = with_vertebral_fracture(
        SYNTHEA / TWYLA,
        tmp_path / TWYLA,
        onset="2026-10-01",
        levels=["L1", "T12"],
        extra=[
            dxa("dxa-1", "2026-10-05", 0.801, -2.8),
            pain("pain-1", "2026-10-20", 7),
            pain("pain-old", "2019-01-01", 3),  # years before the fracture: not its pain
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = import_paths([path], clinic=clinic_a, now=now)
    assert report.errors == []
    (episode,) = Episode.objects.all()
    assert episode.levels == ["T12", "L1"]
    assert (episode.onset_date, episode.identified_date) == (dt.date(2026, 10, 1),) * 2
    # Twyla has had osteoporosis since 2006: the fracture is osteoporotic.
    assert episode.etiology == "osteoporotic"
    (scan,) = BoneDensity.objects.all()
    assert (scan.site, float(scan.bmd_g_cm2), float(scan.t_score)) == ("lumbar_spine", 0.801, -2.8)
    (obs,) = Observation.objects.filter(episode=episode)
    assert (obs.kind, obs.value_number, obs.effective_date) == (
        "pain_nrs",
        7,
        dt.date(2026, 10, 20),
    )
    # The drugs are imported before the episode: its first evaluation already
    # sees alendronate since 2006 and never asks to start treatment.
    assert not FollowUpTask.objects.filter(episode=episode, rule="osteoporosis_rx_start").exists()


def test_vertebral_fracture_without_a_level_is_reported_not_guessed(clinic_a, now, tmp_path):
    path = with_vertebral_fracture(
        SYNTHEA / TWYLA, tmp_path / TWYLA, onset="2026-10-01", levels=None
    )
    report = import_paths([path], clinic=clinic_a, now=now)
    assert Episode.objects.count() == 0
    (line,) = [s for s in report.skipped if "without a vertebral level" in s]
    assert "Twyla Moen" in line
    assert "2026-10-01" in line


def test_deceased_patients_fracture_is_imported_closed(clinic_a, now, tmp_path):
    path = with_vertebral_fracture(
        SYNTHEA / CLORINDA, tmp_path / CLORINDA, onset="2016-03-01", levels=["T12"]
    )
    import_paths([path], clinic=clinic_a, now=now)
    (episode,) = Episode.objects.all()
    assert episode.patient.deceased_date == dt.date(2019, 7, 1)
    assert (episode.status, episode.close_reason) == ("closed", "deceased")
    assert not FollowUpTask.objects.filter(episode=episode, status="open").exists()


def test_future_dates_are_skipped_and_reported(clinic_a, now, tmp_path):
    path = with_vertebral_fracture(
        SYNTHEA / TWYLA,
        tmp_path / TWYLA,
        onset="2027-01-15",
        levels=["L1"],
        extra=[dxa("dxa-future", "2027-02-01", 0.8, -2.9)],
    )
    report = import_paths([path], clinic=clinic_a, now=now)
    assert report.errors == []
    assert Episode.objects.count() == 0
    assert BoneDensity.objects.count() == 0
    future = [s for s in report.skipped if "after the import date 2026-11-22" in s]
    assert len(future) == 2
    assert Patient.objects.count() == 1  # the rest of the bundle is imported


def test_bad_files_are_named_and_leave_nothing_behind(clinic_a, now, tmp_path):
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    not_bundle = tmp_path / "patient.json"
    not_bundle.write_text(json.dumps({"resourceType": "Patient", "id": "x"}), encoding="utf-8")
    report = import_paths([not_json, not_bundle], clinic=clinic_a, now=now)
    assert len(report.errors) == 2
    assert "broken.json: not JSON" in report.errors[0]
    assert "patient.json: not a FHIR Bundle (resourceType is 'Patient')" in report.errors[1]
    assert Patient.objects.count() == 0


def test_a_malformed_resource_fails_its_file_whole(clinic_a, now, tmp_path):
    bundle = json.loads((SYNTHEA / TWYLA).read_text(encoding="utf-8"))
    (alendronate,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
        and "Alendronic" in e["resource"]["medicationCodeableConcept"]["coding"][0]["display"]
    ]
    alendronate["authoredOn"] = "last spring"
    path = tmp_path / "malformed.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    report = import_paths([path, SYNTHEA / CLORINDA], clinic=clinic_a, now=now)
    (error,) = report.errors
    assert "malformed.json" in error
    assert f"MedicationRequest/{alendronate['id']} is not valid FHIR R4: authoredOn" in error
    # Nothing of that file (not even the valid patient), the next file imported.
    assert list(Patient.objects.values_list("family_name", flat=True)) == ["Wilkinson"]
    assert report.created["patients"] == 1


def test_command_prints_a_summary_and_fails_on_a_bad_file(clinic_a, tmp_path):
    out = run(str(SYNTHEA / TWYLA), "--clinic", "clinic-a")
    assert "patients: 1 created" in out
    assert "medications: 1 created" in out
    assert "osteoporotic fracture of the wrist, not vertebral" in out
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(CommandError, match="1 file"):
        run(str(bad), "--clinic", "clinic-a")
    with pytest.raises(CommandError, match="no clinic with code"):
        run(str(bad), "--clinic", "nowhere")


def export_and_import(episode: Any, clinic: Any, now: Any, path: Path, capture: Any) -> Episode:
    """The episode's FHIR export, imported into ``clinic``: the copy."""
    from pathways.interop.fhir.export import episode_bundle

    path.write_text(json.dumps(episode_bundle(episode, now=now)), encoding="utf-8")
    with capture(execute=True):
        report = import_paths([path], clinic=clinic, now=now)
    assert report.errors == []
    return Episode.objects.get(clinic=clinic)


def test_an_exported_episode_imports_into_another_clinic(
    make_episode, clinic_b, now, tmp_path, django_capture_on_commit_callbacks
):
    from pathways.services import fact_record
    from pathways.services.patient_facts import bone_density_record, medication_record

    episode = make_episode(onset_date="2026-10-28", identified_date="2026-10-30", levels=["L3"])
    with django_capture_on_commit_callbacks(execute=True):
        fact_record(
            episode=episode,
            values=fact_values(
                "observation", {"kind": "pain_nrs", "value": 6, "effective_date": "2026-11-02"}
            ),
            now=now,
        )
        medication_record(
            patient=episode.patient,
            **medication_values({"drug": "denosumab", "start_date": "2026-11-03"}),
            now=now,
        )
        bone_density_record(
            patient=episode.patient,
            **dxa_values(
                {
                    "performed_date": "2026-11-04",
                    "site": "femoral_neck",
                    "bmd_g_cm2": "0.612",
                    "t_score": "-2.9",
                }
            ),
            now=now,
        )
    copy_ = export_and_import(
        episode, clinic_b, now, tmp_path / "export.json", django_capture_on_commit_callbacks
    )
    assert copy_.levels == ["L3"]
    assert (copy_.onset_date, copy_.identified_date) == (
        dt.date(2026, 10, 28),
        dt.date(2026, 10, 30),
    )
    assert copy_.etiology == "osteoporotic"
    assert copy_.patient.mrn == "A-0001"
    assert copy_.patient.birth_date == dt.date(1946, 3, 2)
    scan = BoneDensity.objects.get(patient__clinic=clinic_b)
    assert (scan.site, str(scan.bmd_g_cm2), str(scan.t_score)) == ("femoral_neck", "0.612", "-2.9")
    assert Medication.objects.get(patient__clinic=clinic_b).drug == "denosumab"
    (pain_obs,) = Observation.objects.filter(episode=copy_)
    assert (pain_obs.kind, pain_obs.value_number) == ("pain_nrs", 6)


# ------------------------------------------------ V2.4: old prescriptions --
def alendronate(kind: str, rid: str, **fields: Any) -> dict[str, Any]:
    """A medication resource for alendronate (Synthea's RxNorm product)."""
    return {
        "resourceType": kind,
        "id": rid,
        "status": fields.pop("status", "completed"),
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "904419",
                    "display": "Alendronic acid 10 MG Oral Tablet",
                }
            ]
        },
        **fields,
    }


def with_resources(source: Path, target: Path, extra: list[dict[str, Any]]) -> Path:
    bundle = json.loads(source.read_text(encoding="utf-8"))
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    for resource in extra:
        resource = {**copy.deepcopy(resource), "subject": {"reference": patient["fullUrl"]}}
        bundle["entry"].append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    target.write_text(json.dumps(bundle), encoding="utf-8")
    return target


def evidence(kind: str, day: str, unverified: bool, name: str, **fields: Any) -> Any:
    """A case: one dispense or dose of alendronate on ``day``, and the expected flag."""
    when = {"MedicationDispense": "whenHandedOver", "MedicationAdministration": "effectiveDateTime"}
    resource = alendronate(kind, "evidence", **{when[kind]: day}, **fields)
    return pytest.param([resource], unverified, id=name)


# The import date is 2026-11-22: evidence on or after 2025-11-22 is recent.
@pytest.mark.parametrize(
    ("evidence", "unverified"),
    [
        pytest.param([], True, id="prescribed-once-in-2006"),
        evidence("MedicationDispense", "2026-05-01", False, "dispensed-this-year"),
        evidence("MedicationAdministration", "2025-11-22", False, "dose-12-months-ago-to-the-day"),
        evidence("MedicationAdministration", "2025-11-21", True, "dose-12-months-and-a-day-ago"),
        evidence(
            "MedicationDispense",
            "2026-05-01",
            True,
            "dispense-entered-in-error",
            status="entered-in-error",
        ),
        evidence("MedicationAdministration", "2027-01-01", True, "dose-after-the-import-date"),
    ],
)
def test_an_old_prescription_without_recent_evidence_is_imported_unverified(
    clinic_a, now, tmp_path, evidence, unverified
):
    path = with_resources(SYNTHEA / TWYLA, tmp_path / TWYLA, evidence)
    report = import_paths([path], clinic=clinic_a, now=now)
    assert report.errors == []
    (med,) = Medication.objects.all()  # dispenses and doses are evidence, not rows
    assert (med.drug, med.start_date, med.stop_date) == ("alendronate", dt.date(2006, 1, 22), None)
    assert med.unverified is unverified


def test_a_later_prescription_or_a_dated_note_is_evidence(clinic_a, now, tmp_path):
    later = alendronate(
        "MedicationRequest",
        "req-2026",
        status="active",
        intent="order",
        authoredOn="2026-03-01T09:00:00+00:00",
    )
    noted = alendronate(
        "MedicationStatement",
        "stmt-2012",
        status="active",
        effectiveDateTime="2012-05-01",
        note=[{"time": "2026-10-01T10:00:00+00:00", "text": "Takes it every Monday."}],
    )
    path = with_resources(SYNTHEA / TWYLA, tmp_path / TWYLA, [later, noted])
    report = import_paths([path], clinic=clinic_a, now=now)
    assert report.errors == []
    meds = Medication.objects.order_by("start_date")
    assert [(m.start_date.year, m.unverified) for m in meds] == [
        (2006, False),
        (2012, False),
        (2026, False),
    ]


def test_a_recent_prescription_of_another_drug_does_not_verify_the_old_one(clinic_a, now, tmp_path):
    denosumab = {
        "resourceType": "MedicationRequest",
        "id": "deno",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "denosumab 60 MG/ML Prefilled Syringe"},
        "authoredOn": "2026-06-01T09:00:00+00:00",
    }
    path = with_resources(SYNTHEA / TWYLA, tmp_path / TWYLA, [denosumab])
    import_paths([path], clinic=clinic_a, now=now)
    flags = dict(Medication.objects.values_list("drug", "unverified"))
    assert flags == {"alendronate": True, "denosumab": False}


# ---------------------------------------------------- V2.4: date of death --
def test_a_patient_imported_as_living_gets_the_date_of_death_on_reimport(
    clinic_a, now, django_capture_on_commit_callbacks
):
    import_paths([SYNTHEA / CLORINDA], clinic=clinic_a, now=now)
    # As an import before dates of death were kept left her.
    Patient.objects.update(deceased_date=None)
    later = now + dt.timedelta(days=1)
    report = import_paths([SYNTHEA / CLORINDA], clinic=clinic_a, now=later)
    assert report.errors == []
    assert report.created["dates of death"] == 1
    clorinda = Patient.objects.get()
    assert clorinda.deceased_date == dt.date(2019, 7, 1)
    assert clorinda.updated_at == later
    assert clorinda.version == 2


def edit_patient(source: Path, target: Path, **fields: Any) -> Path:
    bundle = json.loads(source.read_text(encoding="utf-8"))
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["resource"].pop("deceasedDateTime", None)
    patient["resource"].update(fields)
    target.write_text(json.dumps(bundle), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"deceasedBoolean": True}, "recorded as deceased without a full date of death"),
        ({"deceasedDateTime": "2019-07"}, "recorded as deceased without a full date of death"),
        ({"deceasedDateTime": "2027-01-05T10:00:00+00:00"}, "after the import date"),
        ({"deceasedDateTime": "1920-01-01"}, "is before the birth date 1924-06-16"),
    ],
)
def test_a_date_of_death_vcftrack_cannot_keep_is_reported_and_the_patient_imported(
    clinic_a, now, tmp_path, fields, message
):
    path = edit_patient(SYNTHEA / CLORINDA, tmp_path / CLORINDA, **fields)
    report = import_paths([path], clinic=clinic_a, now=now)
    assert report.errors == []
    assert Patient.objects.get().deceased_date is None
    (line,) = [s for s in report.skipped if message in s]
    assert "Clorinda Wilkinson" in line


def test_the_date_of_death_survives_export_and_import(
    make_episode, clinic_b, now, tmp_path, django_capture_on_commit_callbacks
):
    from pathways.services.patient_facts import patient_record_death

    episode = make_episode(onset_date="2026-10-28", identified_date="2026-10-30", levels=["L3"])
    with django_capture_on_commit_callbacks(execute=True):
        patient_record_death(
            patient=episode.patient, deceased_date=dt.date(2026, 11, 20), actor=None, now=now
        )
    copy_ = export_and_import(
        episode, clinic_b, now, tmp_path / "export.json", django_capture_on_commit_callbacks
    )
    assert copy_.patient.deceased_date == dt.date(2026, 11, 20)
    assert (copy_.status, copy_.close_reason) == ("closed", "deceased")


def test_an_old_record_imported_today_puts_nothing_years_overdue_on_the_worklist(
    clinic_a, now, tmp_path, django_capture_on_commit_callbacks
):
    """Pathway-spec V2.4: Twyla's 2006 alendronate (unverified) and a 2019
    vertebral fracture, imported today: programme work is raised once, due
    today, with its original date; the old episode's work is history."""
    path = with_vertebral_fracture(
        SYNTHEA / TWYLA, tmp_path / TWYLA, onset="2019-03-04", levels=["L1"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = import_paths([path], clinic=clinic_a, now=now)
    assert report.errors == []
    today = clinic_a.today(now)
    (episode,) = Episode.objects.all()
    assert episode.pathway_version == "v2"
    assert episode.phase == "bone_health"
    open_tasks = FollowUpTask.objects.filter(status="open")
    assert open_tasks.exists()
    assert not open_tasks.filter(due_date__lt=today).exists()
    # One reconciliation task for the unverified prescription, on the patient.
    (recon,) = FollowUpTask.objects.filter(rule="medication_reconciliation")
    assert (recon.episode_id, recon.status, recon.due_date) == (None, "open", today)
    dxa_task = FollowUpTask.objects.get(rule="bmd_dxa", status="open")
    assert dxa_task.episode_id is None
    assert dxa_task.due_date == today
    assert any("originally due 2007" in t for t in dxa_task.triggers)
    # The fracture's own acute work was never due on today's worklist.
    assert not FollowUpTask.objects.filter(episode=episode, status="open").exists()
