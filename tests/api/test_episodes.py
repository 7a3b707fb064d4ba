"""Episodes and their facts: writes go through the services and re-evaluate."""

from __future__ import annotations

import pytest

from pathways.models import Episode, FollowUpTask, Observation

pytestmark = pytest.mark.django_db


def new_episode(patient, **extra):
    return {
        "patient": str(patient.id),
        "levels": ["T12", "L1"],
        "onset_date": "2026-11-18",
        "identified_date": "2026-11-20",
        "etiology": "osteoporotic",
        "neuro_status": "intact",
        **extra,
    }


def open_rules(api, episode_id):
    body = api.get("/api/v1/tasks/", episode=episode_id, status="open", page_size=100).json()
    return {t["rule"] for t in body["results"]}


def test_create_evaluates_the_pathway_at_once(as_alice, patient, frozen):
    response = as_alice.post("/api/v1/episodes/", new_episode(patient))
    assert response.status_code == 201, response.json()
    episode = response.json()
    assert episode["levels"] == ["T12", "L1"]
    assert episode["phase"] == "triage"
    assert episode["status"] == "active"
    assert episode["pathway_version"] == "v2"
    assert episode["next_review_at"]
    assert response["ETag"] == f'"v{episode["version"]}"'
    assert "mri_initial" in open_rules(as_alice, episode["id"])
    # The patient's programme started with the episode: its tasks are the patient's.
    programme = as_alice.get("/api/v1/tasks/", patient=str(patient.id), scope="programme").json()
    assert "falls_prevention" in {t["rule"] for t in programme["results"]}


def test_bad_episode_names_every_field(as_alice, patient, frozen):
    response = as_alice.post(
        "/api/v1/episodes/",
        new_episode(
            patient,
            levels=["L6"],
            onset_date="2026-12-01",
            etiology="alien",
            neuro_status=3,
            phase="acute",
        ),
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "levels",
        "onset_date",
        "identified_date",
        "etiology",
        "neuro_status",
        "phase",
    }
    assert Episode.objects.count() == 0


def test_an_episode_of_another_clinics_patient_is_not_found(as_charlie, patient, frozen):
    response = as_charlie.post("/api/v1/episodes/", new_episode(patient))
    assert response.status_code == 404
    assert response.json()["errors"] == {"patient": ["No such patient in your clinics."]}
    assert Episode.objects.count() == 0


def test_recording_a_fact_closes_the_task_it_answers(
    as_alice, make_episode, frozen, django_capture_on_commit_callbacks
):
    episode = make_episode()
    assert "mri_initial" in open_rules(as_alice, str(episode.id))
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(
            f"/api/v1/episodes/{episode.id}/imaging/",
            {"modality": "mri", "performed_date": "2026-11-21", "edema": True},
        )
    assert response.status_code == 201, response.json()
    assert response.json()["region"] == "spine"
    assert "mri_initial" not in open_rules(as_alice, str(episode.id))


def test_observations_take_a_number_or_a_boolean_by_kind(
    as_alice, make_episode, frozen, django_capture_on_commit_callbacks
):
    episode = make_episode()
    url = f"/api/v1/episodes/{episode.id}/observations/"
    with django_capture_on_commit_callbacks(execute=True):
        pain = as_alice.post(url, {"kind": "pain_nrs", "value": 7, "effective_date": "2026-11-21"})
        flag = as_alice.post(
            url, {"kind": "malignancy_suspected", "value": False, "effective_date": "2026-11-21"}
        )
    assert pain.status_code == 201
    assert pain.json()["value"] == 7
    assert flag.status_code == 201
    assert flag.json()["value"] is False
    bad = as_alice.post(url, {"kind": "pain_nrs", "value": 11, "effective_date": "2026-11-10"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"value", "effective_date"}  # range; before onset
    bad = as_alice.post(url, {"kind": "instability", "value": 1, "effective_date": "2026-11-21"})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["value"]
    listed = as_alice.get(url, kind="pain_nrs").json()
    assert [o["value"] for o in listed["results"]] == [7]
    # Update and delete through the nested route.
    oid = pain.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        changed = as_alice.patch(f"{url}{oid}/", {"value": 5})
        assert changed.status_code == 200
        assert changed.json()["value"] == 5
        assert as_alice.delete(f"{url}{oid}/").status_code == 204
    assert Observation.objects.get(pk=oid).deleted_at is not None
    assert as_alice.get(f"{url}{oid}/").status_code == 404


def test_procedures(as_alice, make_episode, frozen, django_capture_on_commit_callbacks):
    episode = make_episode()
    url = f"/api/v1/episodes/{episode.id}/procedures/"
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(
            url, {"kind": "vertebroplasty", "level": "L1", "performed_date": "2026-11-21"}
        )
    assert response.status_code == 201, response.json()
    bad = as_alice.post(url, {"kind": "magic", "level": "L9", "performed_date": "tomorrow"})
    assert set(bad.json()["errors"]) == {"kind", "level", "performed_date"}


def test_update_close_and_delete(
    as_alice, make_episode, frozen, django_capture_on_commit_callbacks
):
    episode = make_episode()
    url = f"/api/v1/episodes/{episode.id}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.patch(url, {"levels": ["L2"]})
    assert response.status_code == 200
    assert response.json()["levels"] == ["L2"]
    assert as_alice.put(url, {"levels": ["L2"]}).json()["errors"] == {
        "onset_date": ["This field is required."]
    }
    bad = as_alice.post(f"{url}close/", {"reason": "bored"})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["reason"]
    with django_capture_on_commit_callbacks(execute=True):
        closed = as_alice.post(f"{url}close/", {"reason": "discharged", "note": "well"})
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"
    assert closed.json()["phase"] == "closed"
    assert open_rules(as_alice, str(episode.id)) == set()
    again = as_alice.post(f"{url}close/", {"reason": "discharged"})
    assert again.status_code == 409
    # A closed episode takes no new facts.
    fact = as_alice.post(
        f"{url}observations/", {"kind": "pain_nrs", "value": 3, "effective_date": "2026-11-21"}
    )
    assert fact.status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        assert as_alice.delete(url).status_code == 204
    assert as_alice.get(url).status_code == 404
    assert as_alice.get("/api/v1/episodes/").json()["results"] == []


def test_filters(as_alice, make_episode, frozen):
    older = make_episode(onset_date="2026-08-01", identified_date="2026-08-03")
    newer = make_episode()
    body = as_alice.get("/api/v1/episodes/").json()
    assert [e["id"] for e in body["results"]] == [str(newer.id), str(older.id)]
    body = as_alice.get("/api/v1/episodes/", identified_before="2026-09-01").json()
    assert [e["id"] for e in body["results"]] == [str(older.id)]
    body = as_alice.get("/api/v1/episodes/", phase="triage").json()
    assert str(newer.id) in [e["id"] for e in body["results"]]
    bad = as_alice.get("/api/v1/episodes/", phase="nonsense", identified_after="yesterday")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"phase", "identified_after"}


def test_a_viewer_cannot_record_facts(as_vera, make_episode, frozen):
    episode = make_episode()
    response = as_vera.post(
        f"/api/v1/episodes/{episode.id}/observations/",
        {"kind": "pain_nrs", "value": 3, "effective_date": "2026-11-21"},
    )
    assert response.status_code == 403
    assert FollowUpTask.objects.filter(episode=episode).exists()
    assert Observation.objects.count() == 0


def test_fhir_export_of_an_episode(as_alice, as_charlie, world, frozen):
    response = as_alice.get(f"/api/v1/episodes/{world.episode.id}/fhir/")
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "EpisodeOfCare", "Condition", "Observation", "Task"} <= kinds
    assert as_charlie.get(f"/api/v1/episodes/{world.episode.id}/fhir/").status_code == 404
