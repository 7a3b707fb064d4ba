"""ETag / If-Match (no lost update) and Idempotency-Key (nothing created twice)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from pathways.models import Episode, Observation
from patients.models import Patient
from vcftrack.core.api.models import IdempotencyRecord

# These pin version 1's episode semantics; the programme's are tested in
# tests/api/test_programme_tasks.py and tests/pathways/test_programme_service.py.
pytestmark = [pytest.mark.django_db, pytest.mark.pathway_v1]

NEW = {"mrn": "A-0009", "given_name": "Ida", "family_name": "Roth", "birth_date": "1950-05-05"}


def test_every_object_answer_carries_its_etag(as_alice, patient, make_episode, frozen):
    episode = make_episode()
    for url in (f"/api/v1/patients/{patient.id}/", f"/api/v1/episodes/{episode.id}/"):
        response = as_alice.get(url)
        assert response["ETag"] == f'"v{response.json()["version"]}"'


def test_a_stale_if_match_gets_412_and_changes_nothing(as_alice, as_bob, patient, frozen):
    url = f"/api/v1/patients/{patient.id}/"
    etag = as_alice.get(url)["ETag"]
    first = as_bob.patch(url, {"given_name": "Bobs"}, headers={"If-Match": etag})
    assert first.status_code == 200
    second = as_alice.patch(url, {"given_name": "Alices"}, headers={"If-Match": etag})
    assert second.status_code == 412
    body = second.json()
    assert body["code"] == "precondition_failed"
    assert "If-Match" in body["errors"]
    patient.refresh_from_db()
    assert patient.given_name == "Bobs"
    # With the fresh ETag it goes through; weak and wildcard forms are accepted.
    fresh = first["ETag"]
    assert (
        as_alice.patch(url, {"given_name": "A"}, headers={"If-Match": f"W/{fresh}"}).status_code
        == 200
    )
    assert as_alice.patch(url, {"given_name": "B"}, headers={"If-Match": "*"}).status_code == 200


def test_if_match_guards_delete_and_task_actions(as_alice, make_episode, frozen):
    episode = make_episode()
    stale = '"v0"'
    assert (
        as_alice.delete(f"/api/v1/episodes/{episode.id}/", headers={"If-Match": stale}).status_code
        == 412
    )
    assert Episode.objects.alive().count() == 1
    task = episode.tasks.filter(status="open").first()
    response = as_alice.post(
        f"/api/v1/tasks/{task.id}/not-applicable/", {"reason": "x"}, headers={"If-Match": stale}
    )
    assert response.status_code == 412
    task.refresh_from_db()
    assert task.status == "open"


def test_an_outsider_gets_404_not_412(as_charlie, patient, frozen):
    response = as_charlie.patch(
        f"/api/v1/patients/{patient.id}/", {"given_name": "X"}, headers={"If-Match": '"v0"'}
    )
    assert response.status_code == 404


def test_a_retried_post_replays_the_first_answer(as_alice, frozen):
    headers = {"Idempotency-Key": "create-ida-1"}
    first = as_alice.post("/api/v1/patients/", NEW, headers=headers)
    assert first.status_code == 201
    retry = as_alice.post("/api/v1/patients/", NEW, headers=headers)
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["ETag"] == first["ETag"]
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Patient.objects.filter(mrn="A-0009").count() == 1


def test_the_same_key_with_another_body_is_422(as_alice, frozen):
    headers = {"Idempotency-Key": "k-1"}
    assert as_alice.post("/api/v1/patients/", NEW, headers=headers).status_code == 201
    other = as_alice.post("/api/v1/patients/", {**NEW, "mrn": "A-0010"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert not Patient.objects.filter(mrn="A-0010").exists()


def test_keys_belong_to_their_user(as_alice, as_bob, frozen):
    headers = {"Idempotency-Key": "shared"}
    assert as_alice.post("/api/v1/patients/", NEW, headers=headers).status_code == 201
    # Bob's request with the same key is his own: it runs (and meets the MRN rule).
    response = as_bob.post("/api/v1/patients/", {**NEW, "mrn": "B-1"}, headers=headers)
    assert response.status_code == 201


def test_a_failed_request_can_be_retried_with_its_key(as_alice, frozen):
    headers = {"Idempotency-Key": "k-2"}
    bad = as_alice.post("/api/v1/patients/", {**NEW, "birth_date": "2099-01-01"}, headers=headers)
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    good = as_alice.post("/api/v1/patients/", NEW, headers=headers)
    assert good.status_code == 201


def test_idempotent_fact_and_action(as_alice, make_episode, frozen):
    episode = make_episode()
    url = f"/api/v1/episodes/{episode.id}/observations/"
    body = {"kind": "pain_nrs", "value": 6, "effective_date": "2026-11-21"}
    headers = {"Idempotency-Key": "obs-1"}
    first = as_alice.post(url, body, headers=headers)
    second = as_alice.post(url, body, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert Observation.objects.count() == 1
    task = episode.tasks.filter(rule="falls_prevention").get()
    action = f"/api/v1/tasks/{task.id}/not-applicable/"
    headers = {"Idempotency-Key": "na-1"}
    assert as_alice.post(action, {"reason": "x"}, headers=headers).status_code == 200
    # A plain retry of a closing action would be a 409; with the key it replays.
    assert as_alice.post(action, {"reason": "x"}, headers=headers).status_code == 200
    assert as_alice.post(action, {"reason": "x"}).status_code == 409


def test_a_bad_key_is_400(as_alice, frozen):
    response = as_alice.post("/api/v1/patients/", NEW, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_once(alice, api_for):
    """Two clients race with one key: one creates, the other replays (PostgreSQL)."""
    api = api_for(alice)
    headers = {"Idempotency-Key": "race-1"}
    results: list[int] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait()
            results.append(api.post("/api/v1/patients/", NEW, headers=headers).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 4
    assert Patient.objects.filter(mrn="A-0009").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_if_match_writers_one_wins(alice, bob, patient, api_for):
    """Two writers with the same ETag at the same moment: exactly one 412 (PostgreSQL)."""
    url = f"/api/v1/patients/{patient.id}/"
    etag = f'"v{patient.version}"'
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run(user, name) -> None:
        try:
            api = api_for(user)
            barrier.wait()
            results.append(
                api.patch(url, {"given_name": name}, headers={"If-Match": etag}).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=a) for a in ((alice, "A"), (bob, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 412]
    patient.refresh_from_db()
    assert patient.version == 2
