"""The clinic's open work, kept as it changes: open tasks per rule and
overdue date, active episodes per phase (``OpenTaskCount``,
``ActivePhaseCount``).

Database triggers on the task and episode tables (migration 0013) append a
row of +n / -n whenever a write changes what these counts would be, in the
writer's own transaction: a bulk update of the sweep, a coordinator's
snooze, an API client's episode close, a deletion alike. No writer holds a
lock on a shared counter row (two sweep workers only insert), and the
dashboard sums a few thousand rows instead of counting 380,000 open tasks
(all 10 clinics of the benchmark: 70 ms) and 100,000 episodes (35 ms) on
every view.

``compact`` (beat, every few minutes) sums each key's rows into one, and
folds every overdue date before ``cutoff`` into the cutoff (a task that is
overdue stays overdue: today only moves forward). ``rebuild`` recomputes
both logs from the tables, as one statement each on PostgreSQL, so a
writer's change is either in the table it reads or in a log row it keeps.
``OPEN_TASKS`` and ``ACTIVE_EPISODES`` are what the triggers count; the
reference queries of ``pathways.dashboard.workload`` (``live=True``) must
give the same numbers (tests/dashboard/test_counts.py).
"""

# ruff: noqa: S608 - every name in these statements is a constant of this module

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction

# What the triggers count (the same conditions as ``FollowUpTask.objects.open()``
# and ``Episode.objects.active()``; an open task always has an overdue date).
OPEN_TASKS = "status = 'open' AND deleted_at IS NULL AND overdue_from IS NOT NULL"
ACTIVE_EPISODES = "status = 'active' AND deleted_at IS NULL"

TASK_LOG = "pathways_opentaskcount"
PHASE_LOG = "pathways_activephasecount"

# One advisory lock key for compaction: two beats (or a beat and a manual
# run) never compact at once; the second finds the lock taken and skips.
_COMPACT_LOCK = 731_000_013


_DAY = "CASE WHEN overdue_from < %s THEN %s ELSE overdue_from END"


def cutoff(now: datetime) -> date:
    """The latest overdue date that is in the past in every clinic, whatever
    its time zone (UTC-12 to UTC+14), with a day to spare."""
    return (now - timedelta(days=2)).date()


def _rebuild_sql(before: date) -> list[tuple[str, list[Any]]]:
    tasks = (
        f"INSERT INTO {TASK_LOG} (clinic_id, rule, overdue_from, n) "
        f"SELECT clinic_id, rule, {_DAY} AS day, COUNT(*) FROM pathways_followuptask "
        f"WHERE {OPEN_TASKS} GROUP BY clinic_id, rule, day"
    )
    phases = (
        f"INSERT INTO {PHASE_LOG} (clinic_id, phase, n) "
        f"SELECT clinic_id, phase, COUNT(*) FROM pathways_episode "
        f"WHERE {ACTIVE_EPISODES} GROUP BY clinic_id, phase"
    )
    if connection.vendor == "postgresql":
        # One statement, one snapshot: a log row a concurrent writer adds
        # (not yet committed, so not deleted here) is for a change this
        # statement's count does not see.
        return [
            (f"WITH gone AS (DELETE FROM {TASK_LOG}) {tasks}", [before, before]),
            (f"WITH gone AS (DELETE FROM {PHASE_LOG}) {phases}", []),
        ]
    # SQLite: one writer at a time; the transaction is the snapshot.
    return [
        (f"DELETE FROM {TASK_LOG}", []),
        (tasks, [before, before]),
        (f"DELETE FROM {PHASE_LOG}", []),
        (phases, []),
    ]


def rebuild(now: datetime) -> None:
    """Both logs recomputed from the task and episode tables (compacted)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in _rebuild_sql(cutoff(now)):
            cursor.execute(sql, params)


_TASK_SUM = (
    f"SELECT clinic_id, rule, {_DAY} AS day, SUM(n) FROM {{rows}} "
    "GROUP BY clinic_id, rule, day HAVING SUM(n) <> 0"
)
_PHASE_SUM = (
    "SELECT clinic_id, phase, SUM(n) FROM {rows} GROUP BY clinic_id, phase HAVING SUM(n) <> 0"
)
_TASK_INSERT = f"INSERT INTO {TASK_LOG} (clinic_id, rule, overdue_from, n) "
_PHASE_INSERT = f"INSERT INTO {PHASE_LOG} (clinic_id, phase, n) "


def compact(now: datetime) -> bool:
    """Each key's log rows summed into one (keys that sum to zero dropped);
    False when another compaction holds the lock."""
    before = cutoff(now)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_COMPACT_LOCK])
            row = cursor.fetchone()
            if not (row and row[0]):
                return False
            # Rows a concurrent writer adds meanwhile are not deleted (not
            # visible yet) and stay as they are.
            cursor.execute(
                f"WITH gone AS (DELETE FROM {TASK_LOG} RETURNING clinic_id, rule, overdue_from, n) "
                + _TASK_INSERT
                + _TASK_SUM.format(rows="gone"),
                [before, before],
            )
            cursor.execute(
                f"WITH gone AS (DELETE FROM {PHASE_LOG} RETURNING clinic_id, phase, n) "
                + _PHASE_INSERT
                + _PHASE_SUM.format(rows="gone")
            )
            return True
        # SQLite: one writer at a time; the transaction is the snapshot.
        cursor.execute(_TASK_SUM.format(rows=TASK_LOG), [before, before])
        tasks = cursor.fetchall()
        cursor.execute(_PHASE_SUM.format(rows=PHASE_LOG))
        phases = cursor.fetchall()
        cursor.execute(f"DELETE FROM {TASK_LOG}")
        cursor.execute(f"DELETE FROM {PHASE_LOG}")
        cursor.executemany(_TASK_INSERT + "VALUES (%s, %s, %s, %s)", tasks)
        cursor.executemany(_PHASE_INSERT + "VALUES (%s, %s, %s)", phases)
    return True


def differences(now: datetime) -> list[str]:
    """Where the logs differ from a count over the tables, clinic by clinic,
    in words (empty: they agree)."""
    from pathways.dashboard.workload import overdue_by_rule, phase_distribution
    from patients.models import Clinic

    out = []
    for clinic in Clinic.objects.order_by("name"):
        todays = {clinic.id: clinic.today(now)}
        kept = [(r.rule, r.open, r.overdue) for r in overdue_by_rule([clinic.id], todays)]
        counted = [
            (r.rule, r.open, r.overdue) for r in overdue_by_rule([clinic.id], todays, live=True)
        ]
        if sorted(kept) != sorted(counted):
            out.append(f"{clinic.name}: open tasks by rule {sorted(kept)} != {sorted(counted)}")
        if phase_distribution([clinic.id]) != phase_distribution([clinic.id], live=True):
            out.append(f"{clinic.name}: active episodes by phase differ")
    return out
