"""Programme tasks through the REST API: the patient's, not an episode's."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def episode(make_episode):
    return make_episode()


def test_programme_tasks_carry_the_patient_scope_and_rule_set(as_alice, episode, frozen):
    body = as_alice.get("/api/v1/tasks/", patient=str(episode.patient_id)).json()
    rows = {t["rule"]: t for t in body["results"]}
    falls = rows["falls_prevention"]
    assert (falls["scope"], falls["episode"], falls["rule_set"]) == ("programme", None, "v2")
    assert falls["patient"] == str(episode.patient_id)
    neuro = rows["neuro_exam"]
    assert (neuro["scope"], neuro["episode"]) == ("episode", str(episode.id))
    programme = as_alice.get("/api/v1/tasks/", scope="programme").json()["results"]
    assert programme
    assert {t["scope"] for t in programme} == {"programme"}
    by_episode = as_alice.get("/api/v1/tasks/", episode=str(episode.id)).json()["results"]
    assert "falls_prevention" not in {t["rule"] for t in by_episode}


def test_a_programme_task_can_be_completed(as_alice, episode, frozen):
    falls = next(
        t
        for t in as_alice.get("/api/v1/tasks/", scope="programme").json()["results"]
        if t["rule"] == "falls_prevention"
    )
    done = as_alice.post(f"/api/v1/tasks/{falls['id']}/complete/", {"note": "leaflet given"})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "done"


def test_the_fhir_bundle_carries_the_programme_as_a_careplan(as_alice, episode, frozen):
    bundle = as_alice.get(f"/api/v1/episodes/{episode.id}/fhir/").json()
    resources = [e["resource"] for e in bundle["entry"]]
    (plan,) = [r for r in resources if r["resourceType"] == "CarePlan"]
    assert plan["title"] == "Bone-health programme"
    assert plan["subject"]["reference"] == f"urn:uuid:{episode.patient_id}"
    activity = {a["reference"]["reference"] for a in plan["activity"]}
    tasks = [r for r in resources if r["resourceType"] == "Task"]
    programme_tasks = [t for t in tasks if t["focus"]["type"] == "CarePlan"]
    assert programme_tasks
    assert {f"urn:uuid:{t['id']}" for t in programme_tasks} == activity
