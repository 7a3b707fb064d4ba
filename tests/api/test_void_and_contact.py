"""Voiding a fact entered by mistake (the engine re-evaluates without it) and
the patient's contact details, through the REST API and the FHIR export."""

from __future__ import annotations

import pytest

from pathways.models import FollowUpTask, Imaging
from patients.models import BoneDensity, Medication
from tests.factories import patient_changes

pytestmark = pytest.mark.django_db(transaction=True)


def test_void_an_mri_reopens_the_task_it_had_done(as_alice, as_vera, make_episode, frozen):
    episode = make_episode()
    created = as_alice.post(
        f"/api/v1/episodes/{episode.id}/imaging/",
        {"modality": "mri", "performed_date": "2026-11-21", "edema": True},
    )
    assert created.status_code == 201
    mri_task = FollowUpTask.objects.get(episode=episode, rule="mri_initial")
    assert mri_task.status == "done"
    url = f"/api/v1/episodes/{episode.id}/imaging/{created.json()['id']}/void/"
    missing = as_alice.post(url, {})
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["reason"]
    assert as_vera.post(url, {"reason": "wrong patient"}).status_code == 403
    assert as_alice.post(url, {"reason": "wrong patient"}).status_code == 204
    scan = Imaging.objects.get(pk=created.json()["id"])
    assert scan.deleted_at is not None
    assert scan.void_reason == "wrong patient"
    mri_task.refresh_from_db()
    assert mri_task.status == "open"
    assert as_alice.get(f"/api/v1/episodes/{episode.id}/imaging/").json()["results"] == []


def test_void_a_medication_and_a_dxa(as_alice, patient, make_episode, frozen):
    make_episode()
    base = f"/api/v1/patients/{patient.id}"
    med = as_alice.post(f"{base}/medications/", {"drug": "alendronate", "start_date": "2026-11-21"})
    assert FollowUpTask.objects.get(rule="osteoporosis_rx_start").status == "done"
    assert (
        as_alice.post(
            f"{base}/medications/{med.json()['id']}/void/", {"reason": "typo"}
        ).status_code
        == 204
    )
    assert Medication.objects.get().void_reason == "typo"
    assert FollowUpTask.objects.get(rule="osteoporosis_rx_start").status == "open"
    scan = as_alice.post(
        f"{base}/bone-density/",
        {"performed_date": "2026-11-20", "site": "total_hip", "bmd_g_cm2": 0.7},
    )
    url = f"{base}/bone-density/{scan.json()['id']}/void/"
    assert as_alice.post(url, {"reason": "other patient's scan"}).status_code == 204
    assert BoneDensity.objects.get().deleted_at is not None
    assert as_alice.post(url, {"reason": "again"}).status_code == 404


def test_patient_contact_details(as_alice, clinic_a, frozen):
    created = as_alice.post(
        "/api/v1/patients/",
        {
            "mrn": "C-1",
            "given_name": "Ida",
            "family_name": "Lang",
            "birth_date": "1940-02-02",
            "phone": "+49 30 1234-567",
            "phone_alt": "0170 555 1234",
            "contact_time": "weekday mornings",
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["phone"], body["phone_alt"], body["contact_time"]) == (
        "+49 30 1234-567",
        "0170 555 1234",
        "weekday mornings",
    )
    bad = as_alice.patch(f"/api/v1/patients/{body['id']}/", {"phone": "call me maybe"})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["phone"]
    assert "Enter a phone number" in bad.json()["errors"]["phone"][0]
    ok = as_alice.patch(f"/api/v1/patients/{body['id']}/", {"contact_time": "after 5 pm"})
    assert ok.status_code == 200
    assert ok.json()["contact_time"] == "after 5 pm"


def test_fhir_patient_telecom(as_alice, patient, make_episode, frozen):
    from fhir.resources.R4B.bundle import Bundle

    from pathways.services.patient_facts import patient_update

    patient_update(
        patient=patient,
        **patient_changes(
            {"phone": "+49 30 1234-567", "phone_alt": "0170 555", "contact_time": "mornings"}
        ),
        now=frozen,
    )
    episode = make_episode()
    bundle = as_alice.get(f"/api/v1/episodes/{episode.id}/fhir/").json()
    Bundle.model_validate(bundle)
    fhir_patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    telecom = fhir_patient["telecom"]
    assert [(t["system"], t["value"], t["rank"]) for t in telecom] == [
        ("phone", "+49 30 1234-567", 1),
        ("phone", "0170 555", 2),
    ]
    assert telecom[0]["extension"][0]["valueString"] == "mornings"
