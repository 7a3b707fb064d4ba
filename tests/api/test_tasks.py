"""Follow-up tasks: filters, the derived state, and the actions people take."""

from __future__ import annotations

import pytest

from pathways.models import FollowUpTask

# These pin version 1's episode semantics; the programme's are tested in
# tests/api/test_programme_tasks.py and tests/pathways/test_programme_service.py.
pytestmark = [pytest.mark.django_db, pytest.mark.pathway_v1]


@pytest.fixture
def episode(make_episode):
    # Identified 3.5 months ago: the 3-month augmentation review is overdue.
    return make_episode(onset_date="2026-08-01", identified_date="2026-08-03")


def task_of(episode, rule):
    return FollowUpTask.objects.get(episode=episode, rule=rule)


def test_list_shows_the_state_as_of_the_clinics_today(as_alice, episode, frozen):
    body = as_alice.get("/api/v1/tasks/", episode=str(episode.id), page_size=100).json()
    by_rule = {t["rule"]: t for t in body["results"]}
    assert by_rule["augmentation_review_3m"]["state"] == "overdue"
    assert by_rule["neuro_exam"]["state"] is None  # done
    assert by_rule["augmentation_review_3m"]["patient"] == str(episode.patient_id)
    overdue = as_alice.get("/api/v1/tasks/", state="overdue", page_size=100, count="true").json()
    assert {t["state"] for t in overdue["results"]} == {"overdue"}
    assert overdue["count"] == sum(1 for t in by_rule.values() if t["state"] == "overdue")


def test_filters(as_alice, bob, episode, frozen):
    def count(**params):
        return as_alice.get("/api/v1/tasks/", count="true", **params).json()["count"]

    assert count(rule="augmentation_review_3m") == 1
    assert count(status="done") == 1
    assert count(patient=str(episode.patient_id)) == FollowUpTask.objects.count()
    assert count(due_before="2026-08-03") == count(due_after="2026-08-03", due_before="2026-08-03")
    assert count(due_after="2026-11-01") == 1
    assert count(assignee=bob.pk) == 0
    bad = as_alice.get("/api/v1/tasks/", state="late", assignee="x", due_before="soon")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"state", "assignee", "due_before"}


def test_only_a_physician_records_the_augmentation_decision(
    as_alice, as_bob, episode, frozen, django_capture_on_commit_callbacks
):
    task = task_of(episode, "augmentation_review_3m")
    url = f"/api/v1/tasks/{task.id}/complete/"
    refused = as_alice.post(url, {"outcome": "continue_conservative"})
    assert refused.status_code == 403
    missing = as_bob.post(url, {})
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["outcome"]
    with django_capture_on_commit_callbacks(execute=True):
        done = as_bob.post(url, {"outcome": "continue_conservative", "note": "settling"})
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["status"] == "done"
    assert body["outcome"] == "continue_conservative"
    assert body["closed_by"] == as_bob.user.pk
    assert body["state"] is None
    again = as_bob.post(url, {"outcome": "continue_conservative"})
    assert again.status_code == 409


def test_not_applicable_snooze_assign(as_alice, bob, charlie, episode, frozen):
    falls = task_of(episode, "falls_prevention")
    response = as_alice.post(f"/api/v1/tasks/{falls.id}/not-applicable/", {})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]
    response = as_alice.post(f"/api/v1/tasks/{falls.id}/not-applicable/", {"reason": "bed-bound"})
    assert response.status_code == 200
    assert response.json()["status"] == "not_applicable"
    assert response.json()["reason"] == "bed-bound"

    mob = task_of(episode, "mobilisation")
    url = f"/api/v1/tasks/{mob.id}/snooze/"
    bad = as_alice.post(url, {"until": "2026-11-01", "reason": ""})
    assert set(bad.json()["errors"]) == {"until", "reason"}
    response = as_alice.post(url, {"until": "2026-12-01", "reason": "in rehab"})
    assert response.status_code == 200
    assert response.json()["snoozed_until"] == "2026-12-01"
    assert response.json()["state"] == "upcoming"

    url = f"/api/v1/tasks/{mob.id}/assign/"
    assert as_alice.post(url, {"assignee": bob.pk}).json()["assignee"] == bob.pk
    outsider = as_alice.post(url, {"assignee": charlie.pk})
    assert outsider.status_code == 400
    assert list(outsider.json()["errors"]) == ["assignee"]
    for junk in ("7", True, 10**30, 1.5):
        response = as_alice.post(url, {"assignee": junk})
        assert response.status_code == 400, junk
    assert as_alice.post(url, {"assignee": None}).json()["assignee"] is None


def test_a_viewer_cannot_act(as_vera, episode, frozen):
    task = task_of(episode, "falls_prevention")
    response = as_vera.post(f"/api/v1/tasks/{task.id}/not-applicable/", {"reason": "x"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == "open"


def test_reopen_a_closed_task_with_a_reason(as_alice, episode, frozen):
    mob = task_of(episode, "mobilisation")
    url = f"/api/v1/tasks/{mob.id}/reopen/"
    assert as_alice.post(url, {"reason": "x"}).status_code == 409  # still open
    as_alice.post(f"/api/v1/tasks/{mob.id}/complete/", {"note": "walked"})
    missing = as_alice.post(url, {})
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["reason"]
    reopened = as_alice.post(url, {"reason": "not walking yet"})
    assert reopened.status_code == 200
    body = reopened.json()
    assert (body["status"], body["closed_at"], body["note"]) == (
        "open",
        None,
        "Reopened: not walking yet",
    )
    event = mob.events.get(action="reopen")
    assert event.reason == "not walking yet"
    assert event.before["status"] == "done"


def test_a_viewer_cannot_reopen(as_alice, as_vera, episode, frozen):
    mob = task_of(episode, "mobilisation")
    as_alice.post(f"/api/v1/tasks/{mob.id}/complete/", {})
    assert as_vera.post(f"/api/v1/tasks/{mob.id}/reopen/", {"reason": "x"}).status_code == 403
