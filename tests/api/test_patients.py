"""Patients, medications and bone density through the API."""

from __future__ import annotations

import datetime as dt

import pytest

from pathways.models import Episode
from patients.models import BoneDensity, Medication, Patient
from tests.factories import medication_values

pytestmark = pytest.mark.django_db

NEW = {
    "mrn": "A-0002",
    "given_name": "Hilde",
    "family_name": "Brandt",
    "birth_date": "1940-01-31",
    "sex": "female",
}


def test_create_goes_to_the_callers_only_clinic_and_answers_with_an_etag(
    as_alice, clinic_a, frozen
):
    response = as_alice.post("/api/v1/patients/", NEW)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["clinic"] == str(clinic_a.id)
    assert {k: body[k] for k in NEW} == NEW
    assert body["version"] == 1
    assert response["ETag"] == '"v1"'
    assert response["Location"].endswith(f"/api/v1/patients/{body['id']}/")
    assert Patient.objects.filter(pk=body["id"]).exists()


def test_every_bad_field_is_named_in_one_answer(as_alice, frozen):
    response = as_alice.post(
        "/api/v1/patients/",
        {
            "mrn": "x" * 65,
            "given_name": 7,
            "family_name": "",
            "birth_date": "2030-01-01",
            "sex": "robot",
            "shoe_size": 42,
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {
        "mrn",
        "given_name",
        "family_name",
        "birth_date",
        "sex",
        "shoe_size",
    }
    assert Patient.objects.count() == 0


def test_a_duplicate_mrn_is_refused(as_alice, patient, frozen):
    response = as_alice.post("/api/v1/patients/", {**NEW, "mrn": patient.mrn})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["mrn"]


def test_another_clinic_is_not_found(as_alice, clinic_b, frozen):
    response = as_alice.post("/api/v1/patients/", {**NEW, "clinic": str(clinic_b.id)})
    assert response.status_code == 404
    assert response.json()["errors"] == {"clinic": ["No such clinic among yours."]}
    assert Patient.objects.count() == 0


def test_a_viewer_reads_but_cannot_write(as_vera, patient, frozen):
    assert as_vera.get(f"/api/v1/patients/{patient.id}/").status_code == 200
    response = as_vera.patch(f"/api/v1/patients/{patient.id}/", {"given_name": "X"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert as_vera.post("/api/v1/patients/", NEW).status_code == 403
    patient.refresh_from_db()
    assert patient.given_name == "Greta"


def test_patch_put_and_delete(as_alice, patient, frozen):
    response = as_alice.patch(f"/api/v1/patients/{patient.id}/", {"given_name": "Margarete"})
    assert response.status_code == 200
    assert response.json()["given_name"] == "Margarete"
    assert response["ETag"] == '"v2"'
    # PUT replaces: every field is required.
    response = as_alice.put(f"/api/v1/patients/{patient.id}/", {"given_name": "M"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"mrn", "family_name", "birth_date", "sex"}
    response = as_alice.put(f"/api/v1/patients/{patient.id}/", {**NEW, "mrn": "A-0001"})
    assert response.status_code == 200
    assert response.json()["family_name"] == "Brandt"
    assert as_alice.delete(f"/api/v1/patients/{patient.id}/").status_code == 204
    assert as_alice.get(f"/api/v1/patients/{patient.id}/").status_code == 404
    assert as_alice.get("/api/v1/patients/").json()["results"] == []


def test_a_patient_with_episodes_cannot_be_deleted(as_alice, patient, make_episode, frozen):
    make_episode()
    response = as_alice.delete(f"/api/v1/patients/{patient.id}/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "patient" in response.json()["errors"]


def test_filters_and_ordering(as_alice, clinic_a, patient, frozen):
    as_alice.post("/api/v1/patients/", NEW)
    as_alice.post("/api/v1/patients/", {**NEW, "mrn": "A-0003", "family_name": "Abbott"})
    names = [p["family_name"] for p in as_alice.get("/api/v1/patients/").json()["results"]]
    assert names == ["Abbott", "Brandt", "Hartmann"]
    names = [
        p["family_name"]
        for p in as_alice.get("/api/v1/patients/", ordering="-family_name").json()["results"]
    ]
    assert names == ["Hartmann", "Brandt", "Abbott"]
    found = as_alice.get("/api/v1/patients/", mrn="A-0002").json()
    assert [p["mrn"] for p in found["results"]] == ["A-0002"]
    page = as_alice.get("/api/v1/patients/", page_size=2, count="true").json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"]
    second = as_alice.get("/api/v1/patients/", page_size=2, page=2).json()
    assert [p["family_name"] for p in second["results"]] == ["Hartmann"]
    assert second["next"] is None
    assert second["previous"]


def test_medications_belong_to_the_patient(
    as_alice, patient, make_episode, frozen, django_capture_on_commit_callbacks
):
    episode = make_episode()
    url = f"/api/v1/patients/{patient.id}/medications/"
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(
            url,
            {
                "drug": "alendronate",
                "start_date": "2026-11-21",
                "dose": "70 mg weekly",
                "route": "oral",
            },
        )
    assert response.status_code == 201, response.json()
    med = response.json()
    assert med["drug_class"] == "bisphosphonate"
    assert med["patient"] == str(patient.id)
    # Recording it re-evaluated the episode: the treatment task is done.
    tasks = as_alice.get("/api/v1/tasks/", episode=str(episode.id), rule="osteoporosis_rx_start")
    assert tasks.json()["results"][0]["status"] == "done"
    listed = as_alice.get(url).json()
    assert [m["id"] for m in listed["results"]] == [med["id"]]
    response = as_alice.patch(f"{url}{med['id']}/", {"stop_date": "2026-11-01"})
    assert response.status_code == 400
    assert "stop_date" in response.json()["errors"]
    response = as_alice.patch(f"{url}{med['id']}/", {"dose": "35 mg"})
    assert response.status_code == 200
    assert response.json()["dose"] == "35 mg"
    assert as_alice.delete(f"{url}{med['id']}/").status_code == 204
    assert as_alice.get(url).json()["results"] == []
    assert Medication.objects.get(pk=med["id"]).deleted_at is not None


def test_bone_density_scans(as_alice, patient, frozen):
    url = f"/api/v1/patients/{patient.id}/bone-density/"
    response = as_alice.post(
        url,
        {
            "performed_date": "2026-11-20",
            "site": "lumbar_spine",
            "bmd_g_cm2": 0.712,
            "t_score": -2.6,
        },
    )
    assert response.status_code == 201, response.json()
    scan = response.json()
    assert scan["bmd_g_cm2"] == 0.712
    assert scan["t_score"] == -2.6
    bad = as_alice.post(url, {"performed_date": "2026-11-20", "site": "skull", "bmd_g_cm2": 9})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"site", "bmd_g_cm2"}
    flat = as_alice.get("/api/v1/bone-density/", patient=str(patient.id)).json()
    assert [s["id"] for s in flat["results"]] == [scan["id"]]
    assert as_alice.delete(f"{url}{scan['id']}/").status_code == 204
    assert BoneDensity.objects.alive().count() == 0


def test_clinics_show_the_callers_role_and_members(as_alice, bob, vera, clinic_a, clinic_b):
    body = as_alice.get("/api/v1/clinics/").json()
    assert [c["code"] for c in body["results"]] == ["clinic-a"]
    clinic = body["results"][0]
    assert clinic["role"] == "coordinator"
    assert {m["username"]: m["role"] for m in clinic["members"]} == {
        "alice": "coordinator",
        "bob": "physician",
        "vera": "viewer",
    }
    assert as_alice.get(f"/api/v1/clinics/{clinic_b.id}/").status_code == 404


def test_count_only_on_request(as_alice, patient, frozen):
    assert as_alice.get("/api/v1/patients/").json()["count"] is None
    assert as_alice.get("/api/v1/patients/", count="true").json()["count"] == 1
    assert as_alice.get("/api/v1/patients/", count="maybe").status_code == 400


# ------------------------------------------------ date of death (V2.4) --
def test_date_of_death_round_trip(as_alice, frozen):
    response = as_alice.post("/api/v1/patients/", {**NEW, "deceased_date": "2024-03-03"})
    assert response.status_code == 201, response.json()
    url = f"/api/v1/patients/{response.json()['id']}/"
    assert as_alice.get(url).json()["deceased_date"] == "2024-03-03"
    response = as_alice.patch(url, {"deceased_date": "2024-03-04"})
    assert response.status_code == 200
    assert response.json()["deceased_date"] == "2024-03-04"
    # A wrong entry is undone with null; a PUT need not send the field.
    assert as_alice.patch(url, {"deceased_date": None}).json()["deceased_date"] is None
    response = as_alice.put(url, NEW)
    assert response.status_code == 200
    assert response.json()["deceased_date"] is None
    living = as_alice.post("/api/v1/patients/", {**NEW, "mrn": "A-0009"}).json()
    assert living["deceased_date"] is None


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"deceased_date": "1939-12-31"}, "deceased_date", "before the date of birth (1940-01-31)"),
        ({"deceased_date": "2026-11-23"}, "deceased_date", "in the future"),
        ({"deceased_date": "3 March 2024"}, "deceased_date", "YYYY-MM-DD"),
        ({"birth_date": "2026-01-01", "deceased_date": "2025-01-01"}, "deceased_date", "birth"),
    ],
)
def test_a_bad_date_of_death_names_the_field_and_writes_nothing(
    as_alice, frozen, body, field, message
):
    response = as_alice.post("/api/v1/patients/", {**NEW, **body})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert Patient.objects.count() == 0


def test_a_bad_date_of_death_on_update_changes_nothing(as_alice, patient, frozen):
    url = f"/api/v1/patients/{patient.id}/"
    response = as_alice.patch(url, {"deceased_date": "1946-03-01", "given_name": "Gerda"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["deceased_date"]
    assert as_alice.patch(url, {"deceased_date": "2020-05-05"}).status_code == 200
    # A birth date after the recorded death is refused on the birth date.
    response = as_alice.patch(url, {"birth_date": "2021-01-01"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "birth_date": ["Must not be after the date of death (2020-05-05)."]
    }
    patient.refresh_from_db()
    assert (patient.given_name, patient.birth_date) == ("Greta", dt.date(1946, 3, 2))
    assert patient.deceased_date == dt.date(2020, 5, 5)


def test_recording_a_death_re_evaluates_the_patients_active_episodes(
    as_alice, patient, make_episode, frozen, django_capture_on_commit_callbacks
):
    episode = make_episode()
    Episode.objects.filter(pk=episode.pk).update(next_review_at=frozen + dt.timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = as_alice.patch(
            f"/api/v1/patients/{patient.id}/", {"deceased_date": "2026-11-21"}
        )
    assert response.status_code == 200
    episode.refresh_from_db()
    assert episode.next_review_at == frozen  # due for the sweep even if the process dies now
    assert len(callbacks) == 1  # and evaluated once the write commits
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        as_alice.patch(f"/api/v1/patients/{patient.id}/", {"given_name": "Gerda"})
    assert callbacks == []  # other details do not touch the pathway


# ------------------------------------- unverified prescriptions (V2.4) --
@pytest.fixture
def imported_med(patient, now):
    from pathways.services.patient_facts import medication_record

    return medication_record(
        patient=patient,
        **medication_values({"drug": "alendronate", "start_date": "2006-01-22", "route": "oral"}),
        now=now,
        unverified=True,
    )


def test_an_unverified_prescription_is_read_only_and_verified_by_an_action(
    as_alice, patient, imported_med, frozen
):
    url = f"/api/v1/patients/{patient.id}/medications/{imported_med.id}/"
    assert as_alice.get(url).json()["unverified"] is True
    flat = as_alice.get("/api/v1/medications/", patient=str(patient.id)).json()["results"]
    assert [m["unverified"] for m in flat] == [True]
    response = as_alice.patch(url, {"unverified": False})
    assert response.status_code == 400
    assert response.json()["errors"] == {"unverified": ["Unknown or read-only field."]}
    response = as_alice.post(
        f"/api/v1/patients/{patient.id}/medications/",
        {"drug": "denosumab", "start_date": "2026-11-01", "unverified": True},
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["unverified"]
    # Verify: If-Match is honoured, the answer is the medication with a new ETag.
    stale = as_alice.post(f"{url}verify/", {}, headers={"If-Match": '"v0"'})
    assert stale.status_code == 412
    response = as_alice.post(f"{url}verify/", raw="", headers={"If-Match": '"v1"'})
    assert response.status_code == 200, response.json()
    assert response.json()["unverified"] is False
    assert response["ETag"] == '"v2"'
    again = as_alice.post(f"{url}verify/", {})
    assert again.status_code == 409
    assert again.json()["errors"] == {"unverified": ["This medication is already verified."]}
    imported_med.refresh_from_db()
    assert (imported_med.unverified, imported_med.version) == (False, 2)


def test_verifying_needs_a_writer_of_the_patients_clinic(
    as_vera, as_charlie, patient, imported_med, frozen
):
    url = f"/api/v1/patients/{patient.id}/medications/{imported_med.id}/verify/"
    assert as_vera.post(url, {}).status_code == 403
    assert as_charlie.post(url, {}).status_code == 404
    imported_med.refresh_from_db()
    assert imported_med.unverified is True


def test_patient_level_dates_before_birth_are_refused(as_alice, patient, frozen):
    meds = f"/api/v1/patients/{patient.id}/medications/"
    response = as_alice.post(
        meds, {"drug": "alendronate", "start_date": "1946-03-01", "stop_date": "1946-03-01"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "start_date": ["Must not be before the date of birth (1946-03-02)."],
        "stop_date": ["Must not be before the date of birth (1946-03-02)."],
    }
    scan = {"performed_date": "1940-01-01", "site": "lumbar_spine", "bmd_g_cm2": 0.8}
    response = as_alice.post(f"/api/v1/patients/{patient.id}/bone-density/", scan)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["performed_date"]
    assert not Medication.objects.exists()
    assert not BoneDensity.objects.exists()
    ok = as_alice.post(meds, {"drug": "alendronate", "start_date": "1946-03-02"})
    assert ok.status_code == 201  # the birth date itself is a valid date
