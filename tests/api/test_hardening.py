"""Failures found under attack (issue 9), each reproduced first: bodies nested
to crash the parser, HTML error pages on API paths, a viewer's bulk writes,
assignee answers that told which user ids exist, clinical dates before birth,
and bulk writes that took their locks in the wrong order (deadlocks)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from pathways.models import Episode, FollowUpTask, Observation
from tests.factories import NOW, MembershipFactory, UserFactory, fact_values

pytestmark = pytest.mark.django_db

OBS = {"kind": "pain_nrs", "value": 5, "effective_date": "2026-11-21"}


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


# ------------------------------------------------------------- deep JSON --
def test_json_nested_a_thousand_levels_is_a_400_that_says_so(as_alice, frozen):
    raw = '{"a":' * 1000 + "1" + "}" * 1000
    body = assert_json_error(as_alice.post("/api/v1/patients/", raw=raw), 400)
    assert "nested" in body["detail"]


def test_an_array_nested_100000_deep_is_a_400(as_alice, make_episode, frozen):
    episode = make_episode()
    raw = "[" * 100_000 + "]" * 100_000
    for path in ("/api/v1/patients/", f"/api/v1/episodes/{episode.id}/observations/"):
        body = assert_json_error(as_alice.post(path, raw=raw), 400)
        assert "nested" in body["detail"]


def test_brackets_inside_strings_are_not_nesting(as_alice, frozen):
    response = as_alice.post(
        "/api/v1/patients/",
        {"mrn": "A-[[[[", "given_name": "{" * 50, "family_name": "B", "birth_date": "1950-01-01"},
    )
    assert response.status_code == 201, response.content


def test_deep_json_is_refused_on_the_webhook_api_too(as_alice, frozen):
    raw = "[" * 5000 + "]" * 5000
    assert_json_error(as_alice.post("/api/v1/webhooks/", raw=raw), 400)


# ---------------------------------------------------- JSON on every path --
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_a_malformed_id_is_a_json_404_not_a_csrf_page(alice, method):
    # A browser-like client signed in with a session and no CSRF token.
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = getattr(client, method)("/api/v1/patients/not-a-uuid/")
    assert_json_error(response, 404)


def test_a_session_write_without_csrf_token_is_json(alice, frozen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/api/v1/patients/", {}, content_type="application/json")
    assert_json_error(response, 403)


def test_unknown_api_paths_and_methods_answer_json(as_alice, patient, frozen):
    assert_json_error(as_alice.get("/api/v2/nothing/"), 404)
    assert_json_error(as_alice.put("/api/v1/patients/", {}), 405)


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/v1/rules/"])
def test_a_method_not_allowed_anywhere_under_api_is_json(as_alice, path):
    body = assert_json_error(as_alice.delete(path), 405)
    assert body["code"] == "method_not_allowed"


def test_a_bad_host_under_api_is_a_json_400():
    response = Client().get("/api/v1/patients/", HTTP_HOST="evil.example")
    assert_json_error(response, 400)


def test_a_server_error_under_api_is_a_json_500(as_alice, patient, frozen, monkeypatch):
    from patients import api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.PatientViewSet, "render_one", broken, raising=False)
    monkeypatch.setattr(api.PatientViewSet, "retrieve", broken)
    as_alice.client.raise_request_exception = False
    body = assert_json_error(as_alice.get(f"/api/v1/patients/{patient.id}/"), 500)
    assert "boom" not in str(body)


def test_web_pages_keep_their_html_404(alice):
    client = Client()
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# ------------------------------------------------------ bulk and roles --
def test_a_viewers_bulk_write_is_403_and_writes_nothing(as_vera, make_episode, frozen):
    episode = make_episode()
    response = as_vera.post(
        "/api/v1/observations/bulk/", {"items": [{**OBS, "episode": str(episode.id)}]}
    )
    body = assert_json_error(response, 403)
    assert body["code"] == "permission_denied"
    assert body["items"][0]["index"] == 0
    assert not Observation.objects.exists()
    response = as_vera.post(
        "/api/v1/episodes/bulk/",
        {"items": [{"patient": str(episode.patient_id), "levels": ["L2"]}]},
    )
    assert_json_error(response, 403)
    assert Episode.objects.count() == 1


def test_a_bulk_with_only_bad_input_is_still_a_400(as_alice, make_episode, frozen):
    episode = make_episode()
    response = as_alice.post(
        "/api/v1/observations/bulk/", {"items": [{**OBS, "episode": str(episode.id), "value": 99}]}
    )
    assert assert_json_error(response, 400)["code"] == "invalid"


# -------------------------------------------------------------- assignee --
def test_assignee_errors_do_not_tell_which_user_ids_exist(as_alice, charlie, make_episode, frozen):
    task = FollowUpTask.objects.filter(episode=make_episode(), status="open").first()
    url = f"/api/v1/tasks/{task.id}/assign/"
    outsider = as_alice.post(url, {"assignee": charlie.pk}).json()
    nobody = as_alice.post(url, {"assignee": 987654}).json()
    assert outsider["errors"] == nobody["errors"]
    assert set(outsider["errors"]) == {"assignee"}


def test_the_api_refuses_to_assign_a_viewer_as_the_web_does(
    as_alice, vera, bob, make_episode, frozen
):
    task = FollowUpTask.objects.filter(episode=make_episode(), status="open").first()
    url = f"/api/v1/tasks/{task.id}/assign/"
    assert_json_error(as_alice.post(url, {"assignee": vera.pk}), 400)
    task.refresh_from_db()
    assert task.assignee_id is None
    assert as_alice.post(url, {"assignee": bob.pk}).status_code == 200


# ------------------------------------------------------- dates and birth --
def test_clinical_dates_before_birth_are_refused_naming_the_field(
    as_alice, patient, make_episode, frozen
):
    # The fixture's patient was born in 1946.
    response = as_alice.post(
        "/api/v1/episodes/",
        {"patient": str(patient.id), "levels": ["L1"], "onset_date": "1901-01-01"},
    )
    body = assert_json_error(response, 400)
    assert "onset_date" in body["errors"]
    assert "birth" in body["errors"]["onset_date"][0]
    episode = make_episode()
    response = as_alice.patch(f"/api/v1/episodes/{episode.id}/", {"identified_date": "1901-01-01"})
    assert "identified_date" in assert_json_error(response, 400)["errors"]
    response = as_alice.post(
        f"/api/v1/episodes/{episode.id}/imaging/",
        {"modality": "xray", "performed_date": "1901-06-01"},
    )
    assert "performed_date" in assert_json_error(response, 400)["errors"]
    for path, data, field in (
        (
            f"/api/v1/patients/{patient.id}/medications/",
            {"drug": "calcium", "start_date": "1901-01-01"},
            "start_date",
        ),
        (
            f"/api/v1/patients/{patient.id}/bone-density/",
            {"performed_date": "1901-01-01", "site": "total_hip", "bmd_g_cm2": 0.7},
            "performed_date",
        ),
    ):
        assert field in assert_json_error(as_alice.post(path, data), 400)["errors"]


# ------------------------------------------------------------ lock order --
def _hold_episode_then_record(episode_id, held, results):
    """Another writer: holds an episode's rows (programme, episode: the lock
    order), then records a fact on it, which takes the change counter."""
    from pathways.services import fact_record
    from pathways.services.locks import lock_rows

    try:
        with transaction.atomic():
            lock_rows(episode_ids=[episode_id])
            episode = Episode.objects.select_related("clinic", "patient").get(pk=episode_id)
            held.set()
            # Let the bulk writer reach this episode first.
            time.sleep(1.0)
            fact_record(episode=episode, values=fact_values("observation", OBS), now=NOW)
        results.append("single ok")
    except Exception as exc:  # a deadlock victim
        results.append(f"single failed: {type(exc).__name__}")
    finally:
        connection.close()


@pytest.fixture
def two_episodes(make_episode, patient):
    """Episodes of two patients (so two programmes): the rows a bulk write crosses."""
    import time_machine

    from patients.services import patient_create

    with time_machine.travel(NOW, tick=False):
        first = make_episode()
        other = patient_create(
            clinic=patient.clinic,
            mrn="A-2",
            given_name="B",
            family_name="C",
            birth_date=dt.date(1950, 1, 1),
            now=NOW,
        )
        second = make_episode(patient=other)
    return first, second


def _run_beside(other_writer, request):
    """Start ``other_writer`` (which holds its rows, then wants the counter),
    send ``request`` while it holds them; both answers."""
    held = threading.Event()
    results: list[str] = []
    thread = threading.Thread(target=other_writer, args=(held, results))
    thread.start()
    held.wait(5)
    import time_machine

    with time_machine.travel(NOW, tick=False):
        response = request()
    thread.join()
    return response, results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bulk_facts_take_episode_locks_before_the_counter(alice, api_for, two_episodes):
    """The reproduction of the 500s under load: a bulk write over episodes E1
    and E2 while another writer holds E2 and then wants the counter. With the
    counter taken at E1 and E2's lock awaited, PostgreSQL killed one of them."""
    first, second = two_episodes
    items = [{**OBS, "episode": str(first.id)}, {**OBS, "episode": str(second.id)}]
    api = api_for(alice)
    response, results = _run_beside(
        lambda held, results: _hold_episode_then_record(second.id, held, results),
        lambda: api.post("/api/v1/observations/bulk/", {"items": items}),
    )
    assert results == ["single ok"]
    assert response.status_code == 201, response.content[:300]
    assert Observation.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_web_bulk_assign_takes_task_locks_before_the_counter(alice, bob, two_episodes):
    from pathways.services import task_assign
    from pathways.services.locks import lock_rows

    first, second = two_episodes
    tasks = [
        FollowUpTask.objects.filter(episode=e, status="open").order_by("rule")[0]
        for e in (first, second)
    ]

    def other_writer(held, results) -> None:
        try:
            with transaction.atomic():
                task = FollowUpTask.objects.select_related("clinic").get(pk=tasks[1].pk)
                lock_rows(task_ids=[task.pk])
                held.set()
                time.sleep(1.0)
                task_assign(task=task, actor=bob, assignee=bob.pk, now=NOW)
            results.append("single ok")
        except Exception as exc:
            results.append(f"single failed: {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    client = Client()
    client.force_login(alice)
    response, results = _run_beside(
        other_writer,
        lambda: client.post(
            "/tasks/bulk-assign/",
            {"task": [str(t.id) for t in tasks], "assignee": str(alice.pk)},
        ),
    )
    assert results == ["single ok"]
    assert response.status_code == 302
    # Both writes went through, one after the other: the bulk's last.
    assert {t.assignee_id for t in FollowUpTask.objects.filter(pk__in=[t.pk for t in tasks])} == {
        alice.pk
    }


def test_a_user_with_no_clinic_is_not_assignable(as_alice, make_episode, frozen):
    loner = UserFactory(username="loner")
    task = FollowUpTask.objects.filter(episode=make_episode(), status="open").first()
    response = as_alice.post(f"/api/v1/tasks/{task.id}/assign/", {"assignee": loner.pk})
    assert_json_error(response, 400)
    MembershipFactory(user=loner, clinic=task.clinic, role="coordinator")
    assert (
        as_alice.post(f"/api/v1/tasks/{task.id}/assign/", {"assignee": loner.pk}).status_code == 200
    )


def test_a_bad_body_with_a_stale_etag_is_told_about_the_body_first(as_alice, patient, frozen):
    url = f"/api/v1/patients/{patient.id}/"
    response = as_alice.patch(url, {"birth_date": "2024-13-01"}, headers={"If-Match": '"v9"'})
    assert "birth_date" in assert_json_error(response, 400)["errors"]
    stale = as_alice.patch(url, {"given_name": "Gerda"}, headers={"If-Match": '"v9"'})
    assert assert_json_error(stale, 412)["code"] == "precondition_failed"
    patient.refresh_from_db()
    assert patient.given_name == "Greta"
    assert patient.version == 1
    malformed = as_alice.patch(url, {"given_name": "Gerda"}, headers={"If-Match": "v1"})
    assert "If-Match" in assert_json_error(malformed, 400)["errors"]
