"""Incremental sync: ``updated_since`` + cursor over the change sequence, with tombstones."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from pathways.models import Episode, FollowUpTask, Observation
from pathways.services import episode_create, episode_delete, episode_update, fact_record
from pathways.services.patient_facts import patient_delete, patient_update
from patients.models import Patient
from patients.services import patient_create
from tests.factories import fact_values, patient_changes

pytestmark = pytest.mark.django_db

FEEDS = ("patients", "episodes", "observations", "tasks")


def sync(
    api: Any,
    resource: str,
    replica: dict[str, Any],
    cursor: str | None,
    page_size: int = 3,
    since: str = "2000-01-01T00:00:00Z",
) -> tuple[str, int]:
    """Pull every page of a feed into the replica; returns the new cursor and the pages."""
    pages = 0
    while True:
        params: dict[str, Any] = {"page_size": page_size}
        if cursor:
            params["cursor"] = cursor
        else:
            params["updated_since"] = since
        response = api.get(f"/api/v1/{resource}/", **params)
        assert response.status_code == 200, response.json()
        body = response.json()
        pages += 1
        for item in body["results"]:
            if item.get("deleted"):
                replica.pop(item["id"], None)
            else:
                replica[item["id"]] = item
        cursor = body["next_cursor"]
        if body["next"] is None:
            return cursor, pages


def live_versions(model: Any, **scope: Any) -> dict[str, int]:
    return {
        str(pk): version
        for pk, version in model.objects.filter(deleted_at__isnull=True, **scope).values_list(
            "pk", "version"
        )
    }


def make_patients(clinic, now, count, prefix="P"):
    return [
        patient_create(
            clinic=clinic,
            mrn=f"{prefix}{i:03d}",
            given_name="G",
            family_name=f"F{i}",
            birth_date=dt.date(1950, 1, 1),
            now=now,
        )
        for i in range(count)
    ]


def test_pages_follow_the_change_sequence_and_writes_during_the_sync_are_not_lost(
    as_alice, clinic_a, now, frozen
):
    patients = make_patients(clinic_a, now, 7)
    replica: dict[str, Any] = {}
    # First page only.
    first = as_alice.get("/api/v1/patients/", updated_since="2000-01-01", page_size=3).json()
    assert first["count"] is None
    assert first["next"]
    seen = [p["id"] for p in first["results"]]
    assert seen == [str(p.id) for p in patients[:3]]
    for item in first["results"]:
        replica[item["id"]] = item
    # Writes commit while the client pages: one seen row changes, one unseen row is
    # deleted, a new row appears.
    later = now + timedelta(minutes=1)
    patient_update(patient=patients[0], **patient_changes({"given_name": "Changed"}), now=later)
    patient_delete(patient=patients[5], now=later)
    newcomer = patient_create(
        clinic=clinic_a,
        mrn="NEW",
        given_name="N",
        family_name="N",
        birth_date=dt.date(1950, 1, 1),
        now=later,
    )
    cursor, _ = sync(as_alice, "patients", replica, first["next_cursor"])
    assert live_versions(Patient) == {k: v["version"] for k, v in replica.items()}
    assert replica[str(patients[0].id)]["given_name"] == "Changed"
    assert str(newcomer.id) in replica
    assert str(patients[5].id) not in replica

    # Nothing changed: the incremental sync is empty and keeps its place.
    again = as_alice.get("/api/v1/patients/", cursor=cursor).json()
    assert again["results"] == []
    assert again["next"] is None
    assert again["next_cursor"] == cursor
    # One change: exactly that row.
    patient_update(patient=patients[1], **patient_changes({"family_name": "Z"}), now=later)
    delta = as_alice.get("/api/v1/patients/", cursor=cursor).json()
    assert [p["id"] for p in delta["results"]] == [str(patients[1].id)]


def test_a_tombstone_says_only_what_was_deleted(as_alice, clinic_a, now, frozen):
    (patient,) = make_patients(clinic_a, now, 1)
    patient_delete(patient=patient, now=now)
    body = as_alice.get("/api/v1/patients/", updated_since="2000-01-01").json()
    assert body["results"] == [
        {
            "id": str(patient.id),
            "deleted": True,
            "deleted_at": "2026-11-22T09:00:00Z",
            "version": 2,
            "updated_at": "2026-11-22T09:00:00Z",
        }
    ]
    # Normal listings and detail hide it.
    assert as_alice.get("/api/v1/patients/").json()["results"] == []
    assert as_alice.get(f"/api/v1/patients/{patient.id}/").status_code == 404


def test_updated_since_selects_the_starting_point(as_alice, clinic_a, now, frozen):
    make_patients(clinic_a, now, 2)
    later = now + timedelta(hours=1)
    (late,) = make_patients(clinic_a, later, 1, prefix="L")
    body = as_alice.get("/api/v1/patients/", updated_since="2026-11-22T09:30:00Z").json()
    assert [p["id"] for p in body["results"]] == [str(late.id)]
    body = as_alice.get("/api/v1/patients/", updated_since="2026-11-22T10:30:00+01:00").json()
    assert [p["id"] for p in body["results"]] == [str(late.id)]


def test_sync_covers_episodes_facts_and_tasks(
    as_alice, make_episode, frozen, django_capture_on_commit_callbacks
):
    episode = make_episode()
    with django_capture_on_commit_callbacks(execute=True):
        fact_record(
            episode=episode,
            now=frozen,
            values=fact_values(
                "observation", {"kind": "pain_nrs", "value": 8, "effective_date": "2026-11-21"}
            ),
        )
    replicas: dict[str, dict[str, Any]] = {name: {} for name in FEEDS}
    for name in FEEDS:
        sync(as_alice, name, replicas[name], None)
    assert set(replicas["episodes"]) == {str(episode.id)}
    assert len(replicas["observations"]) == 1
    assert live_versions(FollowUpTask) == {k: v["version"] for k, v in replicas["tasks"].items()}


def test_a_cursor_only_fits_its_own_feed(as_alice, as_bob, clinic_a, now, frozen):
    make_patients(clinic_a, now, 2)
    cursor = as_alice.get("/api/v1/patients/", updated_since="2000-01-01").json()["next_cursor"]
    wrong = as_alice.get("/api/v1/episodes/", cursor=cursor)
    assert wrong.status_code == 400
    assert list(wrong.json()["errors"]) == ["cursor"]
    assert as_alice.get("/api/v1/patients/", cursor="garbage").status_code == 400
    # Another user of the same clinics may use it (same feed).
    assert as_bob.get("/api/v1/patients/", cursor=cursor).status_code == 200


def test_a_filtered_sync_sends_rows_that_leave_the_filter_as_tombstones(
    as_alice, make_episode, frozen
):
    """Issue 9: a sync with a filter on a field that changes (status) was
    refused; now each changed row comes whole if it matches, else as a
    tombstone, so a replica of the open tasks drops the one that was closed.
    Listing-only parameters (ordering, page, count) are ignored."""
    make_episode()
    first = as_alice.get(
        "/api/v1/tasks/", updated_since="2000-01-01", status="open", ordering="due_date"
    )
    assert first.status_code == 200, first.content
    body = first.json()
    open_ids = {t["id"] for t in body["results"] if not t.get("deleted")}
    assert open_ids == {
        str(t) for t in FollowUpTask.objects.filter(status="open").values_list("id", flat=True)
    }
    closed = FollowUpTask.objects.filter(status="open").order_by("rule").first()
    answer = as_alice.post(f"/api/v1/tasks/{closed.id}/not-applicable/", {"reason": "done"})
    assert answer.status_code == 200
    later = as_alice.get(
        "/api/v1/tasks/", cursor=body["next_cursor"], status="open", ordering="due_date"
    ).json()
    rows = {t["id"]: t for t in later["results"]}
    assert rows[str(closed.id)]["deleted"] is True
    bad = as_alice.get("/api/v1/tasks/", updated_since="last tuesday")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["updated_since"]
    empty = as_alice.get("/api/v1/tasks/", updated_since="")
    assert empty.status_code == 400
    assert list(empty.json()["errors"]) == ["updated_since"]


def test_an_outsider_syncs_nothing_of_clinic_a(as_charlie, make_episode, frozen):
    make_episode()
    for name in FEEDS:
        body = as_charlie.get(f"/api/v1/{name}/", updated_since="2000-01-01").json()
        assert body["results"] == [], name


class Writer:
    """One of the writers of the concurrent sync test: creates, updates and deletes its rows."""

    def __init__(self, worker: int, clinic: Any, seed: list[Any], episodes: list[Any]) -> None:
        self.worker = worker
        self.clinic = clinic
        self.rng = random.Random(worker)
        self.patients = seed[worker::3]
        self.episodes = [e for e in episodes if e.patient_id in {p.id for p in self.patients}]
        self.made = 0

    def run(self, stop: threading.Event, errors: list[BaseException]) -> None:
        try:
            while not stop.is_set():
                self.step(timezone.now())
                time.sleep(self.rng.random() * 0.01)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    def step(self, now: Any) -> None:
        choice = self.rng.random()
        if choice < 0.25:
            self.rename_a_patient(now)
        elif choice < 0.45 and self.episodes:
            self.change_an_etiology(now)
        elif choice < 0.7 and self.episodes:
            self.record_pain(now)
        elif choice < 0.85:
            self.add_a_patient(now)
        elif choice < 0.93 and self.episodes:
            self.delete_an_episode(now)
        else:
            self.delete_a_patient_without_episodes(now)

    def live_episode(self) -> Episode | None:
        e = Episode.objects.get(pk=self.rng.choice(self.episodes).pk)
        return e if e.deleted_at is None else None

    def rename_a_patient(self, now: Any) -> None:
        p = self.rng.choice(self.patients)
        p.refresh_from_db()
        given = f"G{self.rng.randint(0, 999)}"
        patient_update(patient=p, **patient_changes({"given_name": given}), now=now)

    def change_an_etiology(self, now: Any) -> None:
        if e := self.live_episode():
            etiology = self.rng.choice(["osteoporotic", "osteopenic"])
            episode_update(episode=e, etiology=etiology, now=now)

    def record_pain(self, now: Any) -> None:
        if e := self.live_episode():
            pain = {
                "kind": "pain_nrs",
                "value": self.rng.randint(0, 10),
                "effective_date": "2026-01-10",
            }
            fact_record(episode=e, values=fact_values("observation", pain), now=now)

    def add_a_patient(self, now: Any) -> None:
        self.made += 1
        p = patient_create(
            clinic=self.clinic,
            mrn=f"W{self.worker}-{self.made}",
            given_name="W",
            family_name="W",
            birth_date=dt.date(1950, 1, 1),
            now=now,
        )
        self.patients.append(p)
        if self.rng.random() < 0.5:
            self.episodes.append(
                episode_create(patient=p, levels=["T12"], onset_date=dt.date(2026, 1, 5), now=now)
            )

    def delete_an_episode(self, now: Any) -> None:
        if e := self.live_episode():
            episode_delete(episode=e, now=now)

    def delete_a_patient_without_episodes(self, now: Any) -> None:
        bare = [p for p in self.patients if not Episode.objects.alive().filter(patient=p).exists()]
        if bare:
            p = Patient.objects.get(pk=self.rng.choice(bare).pk)
            if p.deleted_at is None:
                patient_delete(patient=p, now=now)


def sync_while_writing(api: Any, writers: list[Writer], seconds: float) -> dict[str, Any]:
    """Sync every feed, round after round, while the writers write; returns the replicas."""
    stop = threading.Event()
    errors: list[BaseException] = []
    threads = [threading.Thread(target=w.run, args=(stop, errors)) for w in writers]
    for t in threads:
        t.start()
    replicas: dict[str, dict[str, Any]] = {name: {} for name in FEEDS}
    cursors: dict[str, str | None] = dict.fromkeys(FEEDS)
    deadline = time.monotonic() + seconds
    rounds = 0
    try:
        while time.monotonic() < deadline:
            for name in FEEDS:
                cursors[name], _ = sync(api, name, replicas[name], cursors[name], page_size=4)
            rounds += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    # Writers are done: one more incremental sync must make the replica exact.
    for name in FEEDS:
        cursors[name], _ = sync(api, name, replicas[name], cursors[name], page_size=50)
    assert rounds > 2
    return replicas


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_replica_stays_exact_while_others_write(alice, clinic_a, api_for):
    """Writers create, update and delete while a client syncs; the final replica is exact.

    Writers commit between (and during) the client's page reads. Every row
    the client ends up with has the version the database has, and rows
    deleted on the server are gone from the replica.
    """
    api = api_for(alice)
    start = timezone.now()
    seed = make_patients(clinic_a, start, 12, prefix="S")
    episodes = [
        episode_create(
            patient=p,
            levels=["L1"],
            onset_date=dt.date(2026, 1, 5),
            identified_date=dt.date(2026, 1, 6),
            now=start,
        )
        for p in seed[:8]
    ]
    writers = [Writer(i, clinic_a, seed, episodes) for i in range(3)]
    replicas = sync_while_writing(api, writers, seconds=6)
    assert Patient.objects.filter(deleted_at__isnull=False).exists()
    assert Episode.objects.filter(deleted_at__isnull=False).exists()
    expected = {
        "patients": live_versions(Patient, clinic=clinic_a),
        "episodes": live_versions(Episode, clinic=clinic_a),
        "observations": live_versions(Observation, episode__clinic=clinic_a),
        "tasks": live_versions(FollowUpTask, clinic=clinic_a),
    }
    for name in FEEDS:
        got = {k: v["version"] for k, v in replicas[name].items()}
        assert got == expected[name], name
    # The replica's content matches too, not just the versions.
    for pk, row in replicas["patients"].items():
        assert row["given_name"] == Patient.objects.get(pk=pk).given_name
