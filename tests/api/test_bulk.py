"""Bulk writes: up to 500 episodes or facts per request, all or nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from pathways.models import Episode, Observation
from patients.services import patient_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients(clinic_a, now):
    return [
        patient_create(
            clinic=clinic_a,
            mrn=f"B{i:03d}",
            given_name="B",
            family_name="B",
            birth_date=dt.date(1950, 1, 1),
            now=now,
        )
        for i in range(5)
    ]


def item(patient, **extra):
    return {"patient": str(patient.id), "levels": ["L1"], "onset_date": "2026-11-18", **extra}


def test_a_batch_of_episodes_is_created_and_evaluated(as_alice, patients, frozen):
    response = as_alice.post("/api/v1/episodes/bulk/", {"items": [item(p) for p in patients]})
    assert response.status_code == 201, response.json()
    results = response.json()["results"]
    assert [r["patient"] for r in results] == [str(p.id) for p in patients]
    assert all(r["phase"] == "triage" and r["version"] >= 1 for r in results)
    assert Episode.objects.count() == 5
    tasks = as_alice.get("/api/v1/tasks/", rule="mri_initial", count="true").json()
    assert tasks["count"] == 5


def test_one_bad_item_writes_nothing_and_every_bad_item_is_named(
    as_alice, patients, charlie, frozen
):
    items = [
        item(patients[0]),
        item(patients[1], levels=["S1"], onset_date="2027-01-01"),
        item(patients[2]),
        {
            "patient": "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
            "levels": ["L1"],
            "onset_date": "2026-11-18",
        },
        "not an object",
        item(patients[3], colour="blue"),
    ]
    response = as_alice.post("/api/v1/episodes/bulk/", {"items": items})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    errors = {e["index"]: set(e["errors"]) for e in body["items"]}
    assert errors == {
        1: {"levels", "onset_date", "identified_date"},
        3: {"patient"},
        4: {"body"},
        5: {"colour"},
    }
    assert Episode.objects.count() == 0


def test_limits(as_alice, patients, frozen):
    too_many = {"items": [item(patients[0])] * 501}
    assert list(as_alice.post("/api/v1/episodes/bulk/", too_many).json()["errors"]) == ["items"]
    assert as_alice.post("/api/v1/episodes/bulk/", {"items": []}).status_code == 400
    assert as_alice.post("/api/v1/episodes/bulk/", {"rows": []}).status_code == 400


def test_bulk_facts_across_episodes(as_alice, patients, frozen, django_capture_on_commit_callbacks):
    created = as_alice.post(
        "/api/v1/episodes/bulk/", {"items": [item(p) for p in patients[:2]]}
    ).json()["results"]
    items = [
        {"episode": e["id"], "kind": "pain_nrs", "value": v, "effective_date": "2026-11-21"}
        for e in created
        for v in (8, 6)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post("/api/v1/observations/bulk/", {"items": items})
    assert response.status_code == 201, response.json()
    assert len(response.json()["results"]) == 4
    assert Observation.objects.count() == 4
    bad = as_alice.post(
        "/api/v1/imaging/bulk/",
        {
            "items": [
                {"episode": created[0]["id"], "modality": "mri", "performed_date": "2026-11-21"},
                {"episode": created[1]["id"], "modality": "pet", "performed_date": "x"},
            ]
        },
    )
    assert bad.status_code == 400
    assert bad.json()["items"] == [
        {
            "index": 1,
            "errors": {
                "modality": [bad.json()["items"][0]["errors"]["modality"][0]],
                "performed_date": ["Must be a date in the form YYYY-MM-DD."],
            },
        }
    ]


def test_bulk_is_idempotent(as_alice, patients, frozen):
    body = {"items": [item(p) for p in patients[:3]]}
    headers = {"Idempotency-Key": "bulk-1"}
    first = as_alice.post("/api/v1/episodes/bulk/", body, headers=headers)
    second = as_alice.post("/api/v1/episodes/bulk/", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Episode.objects.count() == 3


# A role that may not write answers 403 (issue 9: it was 400), naming the items.
def test_a_viewer_cannot_bulk(as_vera, patients, frozen):
    response = as_vera.post("/api/v1/episodes/bulk/", {"items": [item(patients[0])]})
    assert response.status_code == 403
    assert response.json()["items"][0]["errors"] == {
        "non_field_errors": ["Your role in this clinic can read but not change records."]
    }
    assert Episode.objects.count() == 0
