"""The dashboard's open work (open tasks by rule and how many are overdue,
active episodes by phase) is summed from logs the database's triggers keep
(pathways/dashboard/counts.py). Whatever writes a task or an episode -- the
sweep, a coordinator, a bulk update, a deletion -- the sums must equal a
count over the tables, before and after the logs are compacted."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from pathways.dashboard.counts import compact, cutoff, rebuild
from pathways.dashboard.workload import overdue_by_rule, phase_distribution
from pathways.models import ActivePhaseCount, Episode, FollowUpTask, OpenTaskCount
from tests.factories import NOW

TODAY = NOW.date()


def views(clinics: list[Any], now: dt.datetime = NOW) -> list[Any]:
    """What the dashboard shows of each clinic and of all of them, from the
    logs and counted over the tables."""
    out = []
    for chosen in [[c] for c in clinics] + [clinics]:
        ids = [c.id for c in chosen]
        todays = {c.id: c.today(now) for c in chosen}
        for live in (False, True):
            out.append(
                (
                    live,
                    [(r.rule, r.open, r.overdue) for r in overdue_by_rule(ids, todays, live=live)],
                    phase_distribution(ids, live=live),
                )
            )
    return out


def assert_logs_equal_a_count(clinics: list[Any], now: dt.datetime = NOW) -> None:
    shown = views(clinics, now)
    for kept, counted in zip(shown[::2], shown[1::2], strict=True):
        assert kept[1:] == counted[1:]


@pytest.mark.django_db(transaction=True)  # re-evaluation runs after commit, as in production
def test_the_counts_equal_a_full_count_after_writes_the_sweep_and_compaction(
    clinic_a, clinic_b, bob, build_panel_for
):
    from pathways.services import (
        episode_close,
        episode_delete,
        pathway_sweep,
        task_complete,
        task_snooze,
    )

    build_panel_for(clinic_a, 40)
    build_panel_for(clinic_b, 25, seed=11)
    clinics = [clinic_a, clinic_b]
    assert_logs_equal_a_count(clinics)
    before = views(clinics)
    open_tasks = FollowUpTask.objects.open().filter(clinic=clinic_a).order_by("overdue_from", "id")
    assert open_tasks.count() > 10

    # A coordinator's work: one task done, one snoozed (its overdue date
    # moves), one deleted by the clinic; an episode closed, one deleted.
    first, second, third = open_tasks[:3]
    task_complete(task=first, actor=bob, now=NOW)
    task_snooze(task=second, actor=bob, until=TODAY + timedelta(days=20), reason="Away", now=NOW)
    FollowUpTask.objects.filter(id=third.id).update(deleted_at=NOW)
    to_close, to_delete = Episode.objects.active().filter(clinic=clinic_b).order_by("id")[:2]
    episode_close(episode=to_close, reason="discharged", now=NOW)
    episode_delete(episode=to_delete, now=NOW)
    # A bulk write that bypasses save(): tasks moved to another clinic.
    moved = list(open_tasks.values_list("id", flat=True)[3:6])
    FollowUpTask.objects.filter(id__in=moved).update(clinic=clinic_b)
    assert_logs_equal_a_count(clinics)
    assert views(clinics) != before  # the writes changed what is shown

    # Weeks pass: the sweep raises, closes and misses tasks, phases move.
    later = NOW + timedelta(days=45)
    pathway_sweep(now=later)
    assert_logs_equal_a_count(clinics, later)

    # Compaction: one row per key, overdue dates before the cutoff folded
    # into it, and the same figures.
    rows = OpenTaskCount.objects.count() + ActivePhaseCount.objects.count()
    assert compact(later)
    assert OpenTaskCount.objects.count() + ActivePhaseCount.objects.count() < rows
    assert not OpenTaskCount.objects.filter(overdue_from__lt=cutoff(later)).exists()
    assert not OpenTaskCount.objects.filter(n=0).exists()
    keys = OpenTaskCount.objects.values_list("clinic_id", "rule", "overdue_from")
    assert len(set(keys)) == len(keys)
    assert_logs_equal_a_count(clinics, later)
    # ... and writes after it keep adding to the compacted rows.
    task_complete(task=FollowUpTask.objects.open().filter(clinic=clinic_a).first(), actor=bob,
                  now=later)  # fmt: skip
    assert_logs_equal_a_count(clinics, later)


@pytest.mark.django_db
def test_a_rolled_back_write_leaves_the_counts_as_they_were(clinic_a, bob, make_episode):
    from pathways.services import episode_evaluate, task_complete

    episode = make_episode()
    episode_evaluate(episode_id=episode.id, now=NOW)
    task = FollowUpTask.objects.open().filter(episode=episode).first()
    assert task is not None
    before = views([clinic_a])
    seen: list[Any] = []

    def failing_request() -> None:
        with transaction.atomic():
            task_complete(task=task, actor=bob, now=NOW)
            seen.append(views([clinic_a]))
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        failing_request()
    assert seen[0] != before  # the write did change the counts, in its transaction
    assert views([clinic_a]) == before
    assert_logs_equal_a_count([clinic_a])


@pytest.mark.django_db
def test_the_command_checks_compacts_and_rebuilds_the_counts(clinic_a, make_episode, capsys):
    from pathways.services import episode_evaluate

    episode_evaluate(episode_id=make_episode().id, now=NOW)
    call_command("dashboard_counts", "--check")
    assert "equal a count over the tables" in capsys.readouterr().out
    # A log row that says something the tables do not (a lost write).
    row = OpenTaskCount.objects.order_by("id").first()
    assert row is not None
    OpenTaskCount.objects.create(clinic_id=row.clinic_id, rule=row.rule,
                                 overdue_from=row.overdue_from, n=2)  # fmt: skip
    with pytest.raises(CommandError, match="open tasks by rule"):
        call_command("dashboard_counts", "--check")
    call_command("dashboard_counts", "--rebuild")
    call_command("dashboard_counts", "--check")
    call_command("dashboard_counts")
    assert "Compacted" in capsys.readouterr().out
    call_command("dashboard_counts", "--check")
    rebuild(NOW)
    assert_logs_equal_a_count([clinic_a])
