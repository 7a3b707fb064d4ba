"""Change history: who changed a patient, an episode, a fact, a medication, a
DXA scan or a task, when, from what to what - in the API (``…/history/``)
and on the web, with the person who acted (web session or API token)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_patch_that_renames_a_patient_leaves_a_trace(as_alice, patient, frozen):
    response = as_alice.patch(f"/api/v1/patients/{patient.id}/", {"family_name": "Hartmann-Berg"})
    assert response.status_code == 200
    history = as_alice.get(f"/api/v1/patients/{patient.id}/history/").json()["results"]
    assert [(h["type"], h["user"]) for h in history] == [
        ("created", None),
        ("changed", "Alice Coordinator"),
    ]
    assert history[1]["changes"] == [
        {"field": "family_name", "old": "Hartmann", "new": "Hartmann-Berg"}
    ]
    assert history[1]["at"] == "2026-11-22T09:00:00Z" or history[1]["at"].endswith("Z")


def test_every_resource_has_its_history(as_bob, world, frozen, django_capture_on_commit_callbacks):
    w = world
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            as_bob.patch(
                f"/api/v1/episodes/{w.episode.pk}/observations/{w.observation.pk}/", {"value": 5}
            ).status_code
            == 200
        )
        assert (
            as_bob.post(
                f"/api/v1/patients/{w.patient.pk}/bone-density/{w.scan.pk}/void/",
                {"reason": "wrong patient"},
            ).status_code
            == 204
        )
        assert (
            as_bob.patch(
                f"/api/v1/patients/{w.patient.pk}/medications/{w.medication.pk}/",
                {"dose": "500 mg"},
            ).status_code
            == 200
        )
        assert (
            as_bob.post(
                f"/api/v1/tasks/{w.task.pk}/snooze/", {"until": "2026-12-20", "reason": "away"}
            ).status_code
            == 200
        )
        assert (
            as_bob.patch(
                f"/api/v1/episodes/{w.episode.pk}/", {"neuro_status": "deficit"}
            ).status_code
            == 200
        )

    def last(path: str) -> dict[str, Any]:
        """Bob's change, whatever the engine did after it."""
        results = as_bob.get(path).json()["results"]
        assert results[0]["type"] == "created"
        mine = [r for r in results if r["user"] == "Bob Physician"][-1]
        return {c["field"]: (c["old"], c["new"]) for c in mine["changes"]} | {"by": mine["user"]}

    obs = last(f"/api/v1/observations/{w.observation.pk}/history/")
    assert obs["value_number"] == (7.0, 5.0)
    assert obs["by"] == "Bob Physician"
    scan = last(f"/api/v1/bone-density/{w.scan.pk}/history/")
    assert scan["void_reason"] == ("", "wrong patient")
    assert scan["deleted_at"][0] is None
    med = last(f"/api/v1/medications/{w.medication.pk}/history/")
    assert med["dose"] == ("", "500 mg")
    task = last(f"/api/v1/tasks/{w.task.pk}/history/")
    assert task["snoozed_until"] == (None, "2026-12-20")
    # The engine raised the task: its creation is the system's.
    raised = as_bob.get(f"/api/v1/tasks/{w.task.pk}/history/").json()["results"][0]
    assert (raised["type"], raised["user"]) == ("created", None)
    episode = last(f"/api/v1/episodes/{w.episode.pk}/history/")
    assert episode["neuro_status"] == ("intact", "deficit")
    # Reading a history is an access like any other.
    from vcftrack.core.audit.models import AccessRecord

    assert AccessRecord.objects.filter(
        action="api.episode.history", patient_id=w.patient.pk
    ).exists()


def test_history_of_another_clinics_object_is_a_404(as_bob, charlie, clinic_b, now, frozen):
    from patients.services import patient_create

    theirs = patient_create(
        clinic=clinic_b,
        mrn="B-1",
        given_name="B",
        family_name="B",
        birth_date=dt.date(1950, 1, 1),
        now=now,
    )
    assert as_bob.get(f"/api/v1/patients/{theirs.id}/history/").status_code == 404


def test_the_web_history_pages_say_who_changed_what(login, alice, patient, make_episode):
    episode = make_episode()
    client = login(alice)
    response = client.post(
        f"/patients/{patient.id}/facts/pain/",
        {"pain-episode": str(episode.id), "pain-value": "8", "pain-effective_date": "2026-11-21"},
    )
    assert response.status_code == 302
    page = client.get(f"/patients/{patient.id}/episodes/{episode.id}/history/").content.decode()
    assert "Change history of episode L1" in page
    assert "Pain score (0-10), 21 Nov 2026" in page
    assert "<strong>Alice Coordinator</strong> recorded it" in page
    whole = client.get(f"/patients/{patient.id}/history/").content.decode()
    assert "The patient&#x27;s details" in whole
    assert "Pain score (0-10), 21 Nov 2026" in whole
    assert "The system (the pathway or an import)" in whole  # the fixture's patient
    # The patient page links to both.
    detail = client.get(f"/patients/{patient.id}/").content.decode()
    assert f'href="/patients/{patient.id}/history/"' in detail
    assert f'href="/patients/{patient.id}/episodes/{episode.id}/history/"' in detail


def test_the_admin_changes_the_date_of_death_only_through_the_service(patient, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    admin = Client()
    admin.force_login(root)
    response = admin.post(
        f"/admin/patients/patient/{patient.id}/change/",
        {
            "deceased_date": "2026-11-21",
            "family_name": "Forged",
            "medications-TOTAL_FORMS": "0",
            "medications-INITIAL_FORMS": "0",
            "bone_density-TOTAL_FORMS": "0",
            "bone_density-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.family_name, str(patient.deceased_date)) == ("Hartmann", "2026-11-21")
    *_, before, last = patient.history.order_by("history_id")
    assert last.history_user == root
    assert (before.deceased_date, last.deceased_date) == (None, patient.deceased_date)
