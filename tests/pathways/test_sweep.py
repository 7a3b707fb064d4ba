"""The pathway sweep: only what is due, idempotent, safe with many workers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from pathways.models import Episode, FollowUpTask, PhaseTransition
from pathways.services import pathway_sweep, pathway_sweep_helpers
from tests.factories import fact_values, medication_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_episode(make_episode):
    """These tests pin the sweep's mechanics on version 1 episodes, which keep
    their version until migrated; test_sweep_v2.py covers the programme unit."""

    def make(**data):
        data.setdefault("pathway_version", "v1")
        return make_episode(**data)

    return make


def test_sweep_touches_only_episodes_due_for_review(make_episode, now):
    due = make_episode()
    later = make_episode(onset_date="2026-11-19", identified_date="2026-11-19")
    Episode.objects.filter(pk=later.pk).update(next_review_at=now + dt.timedelta(days=3))
    Episode.objects.filter(pk=due.pk).update(next_review_at=now - dt.timedelta(minutes=1))

    report = pathway_sweep(now=now)

    assert report.outcome.evaluated == 1
    due.refresh_from_db()
    assert due.next_review_at > now  # moved past the cutoff: the loop ends


def test_replaying_three_months_raises_the_augmentation_review(make_episode, now):
    episode = make_episode(onset_date="2026-11-18", identified_date="2026-11-20")
    assert not FollowUpTask.objects.filter(episode=episode, rule="augmentation_review_3m").exists()

    report = pathway_sweep(now=now, as_of=dt.date(2027, 2, 20))

    review = FollowUpTask.objects.get(episode=episode, rule="augmentation_review_3m")
    assert review.due_date == dt.date(2027, 2, 20)
    assert review.status == "open"
    episode.refresh_from_db()
    assert episode.phase == "augmentation_review"
    assert report.outcome.transitions == 1
    # The calcitonin window (onset + 5 days) ended unanswered: counted, not dropped.
    calcitonin = FollowUpTask.objects.get(episode=episode, rule="calcitonin_start")
    assert calcitonin.status == "missed"
    assert calcitonin.reason == "Window closed on 2026-11-23"


def test_second_sweep_finds_nothing_to_do(make_episode, now):
    make_episode()
    Episode.objects.update(next_review_at=now)
    first = pathway_sweep(now=now, as_of=dt.date(2027, 6, 1))
    second = pathway_sweep(now=now, as_of=dt.date(2027, 6, 1))
    assert first.outcome.evaluated == 1
    assert second.outcome.evaluated == 0
    assert second.batches == 0


def test_a_failing_episode_is_marked_and_pushed_back_without_stalling_the_rest(make_episode, now):
    good = make_episode()
    bad = make_episode(onset_date="2026-11-19", identified_date="2026-11-19")
    # A rule set that does not exist: the engine cannot evaluate this row.
    Episode.objects.filter(pk=bad.pk).update(pathway_version="v99")
    Episode.objects.update(next_review_at=now)

    report = pathway_sweep(now=now, as_of=dt.date(2027, 2, 20))

    assert report.failed_ids == [bad.id]
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.phase == "augmentation_review"
    assert bad.sweep_failures == 1
    assert "v99" in bad.sweep_error
    assert bad.next_review_at >= dt.datetime(2027, 2, 21, tzinfo=dt.UTC)  # pushed past the cutoff


def test_advance_pathways_prints_what_it_did(make_episode, now, capsys):
    make_episode()
    Episode.objects.update(next_review_at=now)
    call_command("advance_pathways", "--as-of", "2027-03-01")
    out = capsys.readouterr().out
    assert "pathway sweep as of 2027-03-01" in out
    assert "episodes evaluated: 1" in out
    assert "transitions: 1" in out


def test_advance_pathways_rejects_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("advance_pathways", "--as-of", "01/03/2027")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_evaluate_each_episode_once(make_episode, now):
    for n in range(40):
        make_episode(onset_date="2026-11-10", identified_date=f"2026-11-{10 + n % 10:02d}")
    Episode.objects.update(next_review_at=now)
    tasks_before = FollowUpTask.objects.count()
    reports = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            reports.append(pathway_sweep(now=now, as_of=dt.date(2027, 3, 1), batch_size=5))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(r.outcome.evaluated for r in reports) == 40
    assert all(r.outcome.failed == 0 for r in reports)
    # Each episode got its 3-month review exactly once (the unique key holds).
    assert FollowUpTask.objects.filter(rule="augmentation_review_3m").count() == 40
    assert FollowUpTask.objects.count() > tasks_before
    assert PhaseTransition.objects.filter(to_phase="augmentation_review").count() == 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rows_locked_by_a_dying_worker_are_skipped_then_picked_up(make_episode, now):
    a = make_episode()
    b = make_episode(onset_date="2026-11-19", identified_date="2026-11-19")
    Episode.objects.update(next_review_at=now)
    locked = threading.Event()
    release = threading.Event()

    def dying_worker() -> None:
        try:
            with transaction.atomic():
                list(Episode.objects.select_for_update().filter(pk=a.pk))
                locked.set()
                release.wait(10)
                raise RuntimeError("worker killed mid-batch")
        except RuntimeError:
            pass
        finally:
            connection.close()

    t = threading.Thread(target=dying_worker)
    t.start()
    assert locked.wait(10)
    first = pathway_sweep(now=now, as_of=dt.date(2027, 3, 1))
    release.set()
    t.join()
    second = pathway_sweep(now=now, as_of=dt.date(2027, 3, 1))

    assert first.outcome.evaluated == 1  # b only: a was locked, skipped, not waited on
    assert second.outcome.evaluated == 1  # a, once its claimer died
    assert FollowUpTask.objects.filter(rule="augmentation_review_3m").count() == 2
    assert {e.phase for e in Episode.objects.filter(pk__in=[a.pk, b.pk])} == {"augmentation_review"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_people_recording_facts_while_the_sweep_runs_never_deadlock(make_episode, alice, now):
    """Writers lock episodes before the change counter, as the sweep does.

    Facts recorded, medications started and tasks closed on the very episodes
    a sweep keeps evaluating. With the opposite lock order the two sides can
    wait on each other and PostgreSQL aborts one ("deadlock detected"); the
    window is milliseconds wide, so this is a smoke test, not a proof -- the
    lock order is documented in ``schedule_reevaluation``.
    """
    from pathways.services import fact_record, task_not_applicable
    from pathways.services.patient_facts import medication_record

    episodes = [
        make_episode(onset_date="2026-11-10", identified_date="2026-11-12") for _ in range(12)
    ]
    errors: list[BaseException] = []
    stop = threading.Event()

    def sweeper() -> None:
        try:
            while not stop.is_set():
                Episode.objects.update(next_review_at=now)
                pathway_sweep(now=now, batch_size=4)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=sweeper)
    t.start()
    try:
        for n, episode in enumerate(episodes * 2):
            fact_record(
                episode=episode,
                values=fact_values(
                    "observation",
                    {"kind": "pain_nrs", "value": 5 + n % 5, "effective_date": "2026-11-21"},
                ),
                now=now,
            )
            medication_record(
                patient=episode.patient,
                **medication_values({"drug": "alendronate", "start_date": "2026-11-20"}),
                now=now,
            )
            task = FollowUpTask.objects.filter(
                episode=episode, rule="mobilisation", status="open"
            ).first()
            if task is not None:
                task_not_applicable(task=task, actor=alice, reason="bed-bound", now=now)
    finally:
        stop.set()
        t.join(30)
    assert errors == []
    assert FollowUpTask.objects.filter(rule="mobilisation", status="not_applicable").count() == 12


def test_helpers_are_asked_for_only_when_more_than_one_batch_is_due(make_episode, now):
    for _ in range(5):
        make_episode()
    Episode.objects.update(next_review_at=now - dt.timedelta(minutes=1))

    assert pathway_sweep_helpers(now=now, batch_size=2, parallelism=4) == 2  # 3 batches
    assert pathway_sweep_helpers(now=now, batch_size=2, parallelism=2) == 1  # capped
    assert pathway_sweep_helpers(now=now, batch_size=5, parallelism=4) == 0  # one batch
    assert pathway_sweep_helpers(now=now, batch_size=1, parallelism=1) == 0  # fan-out off
    # Episodes reviewed later are not due now: nothing to share.
    Episode.objects.update(next_review_at=now + dt.timedelta(hours=1))
    assert pathway_sweep_helpers(now=now, batch_size=1, parallelism=4) == 0


def test_the_beat_sweep_enqueues_helpers_that_share_the_run(make_episode, settings):
    from celery.signals import task_postrun

    from pathways.tasks import pathway_sweep_task

    for n in range(6):
        make_episode(onset_date="2026-11-10", identified_date=f"2026-11-{10 + n:02d}")
    long_ago = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    Episode.objects.update(next_review_at=long_ago)
    settings.PATHWAY_SWEEP_BATCH_SIZE = 2
    settings.PATHWAY_SWEEP_PARALLELISM = 3
    runs: list[tuple[dict, str]] = []

    def record(sender=None, kwargs=None, retval=None, **_):  # type: ignore[no-untyped-def]
        runs.append((dict(kwargs or {}), retval))

    # Helpers run in-process (eager), as a worker would run them.
    conf = pathway_sweep_task.app.conf
    eager = conf.task_always_eager
    conf.task_always_eager = True
    task_postrun.connect(record, weak=False)
    try:
        pathway_sweep_task.delay()
    finally:
        task_postrun.disconnect(record)
        conf.task_always_eager = eager

    # The beat's task and two helpers (3 batches due, parallelism 3); helpers
    # never fan out again.
    assert [kw for kw, _ in runs].count({"helper": True}) == 2
    assert len(runs) == 3
    # Together they evaluated each episode exactly once, and none is left due.
    evaluated = [int(r.split("episodes evaluated: ")[1].split(";")[0]) for _, r in runs]
    assert sum(evaluated) == 6
    assert not Episode.objects.filter(next_review_at__lte=long_ago).exists()
