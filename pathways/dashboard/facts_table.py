"""The stored cohort facts (``CohortFacts``): written set-based, forgotten by
the writes that can change them, checked against a live computation.

How the rows stay right
    A row holds what ``facts.stored_facts`` computes for its episode from
    the patient's drugs and DXA scans, the episode's observations, the tasks
    a person closed, and its falls and 3-month-review tasks, for the
    episode's identification date. Every write
    that can change one of those goes through a service that calls
    ``schedule_reevaluation`` in its transaction; that calls
    ``forget_cohort_rows``, which deletes the rows of the episodes and of
    every episode of the patients named, in the same transaction, after the
    episodes' row locks are taken. The evaluation pass that follows (after
    commit, or the sweep if the process died) writes the missing rows again
    (``cohort_rows_after_pass``) while it holds the episodes' locks, so a
    row is never computed from data a concurrent writer is about to change;
    it also rewrites the rows whose falls or 3-month-review task it changed
    (the engine's own writes). A snooze moves an open 3-month review's
    overdue date without a re-evaluation: a trigger on the task table
    copies it to the row in the snooze's transaction (migration 0010).

    The board reads a row only when it exists and was computed for the
    episode's current identification date; otherwise it computes that
    episode live. So a missing row costs time, never a wrong figure (a
    deleted episode's row is never read: the board starts from the alive
    episodes). Rows that can stay missing until the command runs: a closed
    episode's after a change of its patient's drugs or scans (the pass does
    not evaluate it), and any whose re-evaluation was lost with its process.
    ``manage.py cohort_facts`` fills missing rows (the migration runs it for
    existing panels) and checks the table against a full recomputation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.expressions import RawSQL

from pathways.dashboard.facts import stored_facts, windows
from pathways.models import CohortFacts, Episode

COLUMNS = (
    "episode_id",
    "identified_date",
    "first_rx",
    "rx_52w",
    "dxa_12w",
    "followup",
    "falls_12w",
    "review_open",
    "review_closed",
    "review_on_time",
    "review_overdue_from",
)
# Episodes computed per statement by the backfill: a few seconds each at most.
BATCH = 2000


def _live(episodes: QuerySet[Episode]) -> QuerySet[Episode, tuple[Any, ...]]:
    facts = stored_facts()
    return (
        episodes.annotate(**windows())
        .annotate(**facts)
        .order_by()
        .values_list("id", "identified_date", *facts)
    )


def _current() -> Exists:
    return Exists(
        CohortFacts.objects.filter(
            episode_id=OuterRef("pk"), identified_date=OuterRef("identified_date")
        )
    )


def _missing(episodes: QuerySet[Episode]) -> QuerySet[Episode]:
    return episodes.filter(~_current())


def _upsert_sql(select_sql: str) -> str:
    table = CohortFacts._meta.db_table
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
    return (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) {select_sql} "
        f"ON CONFLICT (episode_id) DO UPDATE SET {updates}"
    )


def _upsert(episodes: QuerySet[Episode]) -> int:
    select_sql, params = _live(episodes).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(select_sql), params)
        return cursor.rowcount


# The upsert of the rows of given episodes or patients, compiled once per
# process: Django takes ~10 ms of CPU to build this statement, and the
# evaluation pass runs it in most sweep batches (PostgreSQL only: there the
# ids travel as one array parameter; SQLite builds it each time).
_COMPILED: dict[str, tuple[str, list[Any], int]] = {}
_IDS = object()


def _upsert_by(key: str, values: list[Any]) -> int:
    if connection.vendor != "postgresql":
        return _upsert(Episode.objects.alive().filter(**{f"{key}__in": values}))
    hit = _COMPILED.get(key)
    if hit is None:
        marker = RawSQL("SELECT unnest(%s::uuid[])", [_IDS])
        select_sql, built = _live(
            Episode.objects.alive().filter(**{f"{key}__in": marker})
        ).query.sql_with_params()
        hit = _COMPILED[key] = (_upsert_sql(select_sql), list(built), built.index(_IDS))
    sql, template, at = hit
    params = [*template[:at], [str(v) for v in values], *template[at + 1 :]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def cohort_rows_after_pass(
    *, episode_ids: Iterable[uuid.UUID | str], patient_ids: Iterable[uuid.UUID | str] = ()
) -> int:
    """After an evaluation pass wrote its tasks (the caller holds the
    episodes' row locks): write again the rows of ``episode_ids`` -- the
    evaluated episodes with no row for their current identification date
    (the pass reads that with the episode: ``cohort_row``) and those whose
    falls or 3-month-review task it wrote -- and of every episode of
    ``patient_ids``, whose programme's falls task it wrote. No query when
    there is nothing to write (nearly every batch of a sweep)."""
    ids = list(episode_ids)
    patients = list(patient_ids)
    written = _upsert_by("id", ids) if ids else 0
    if patients:
        written += _upsert_by("patient_id", patients)
    return written


def forget_cohort_rows(
    *, episode_ids: Iterable[uuid.UUID], patient_ids: Iterable[uuid.UUID] = ()
) -> None:
    """Delete the rows of these episodes and of every episode of these
    patients (their drugs and scans count for all of them), in the caller's
    transaction: until the evaluation pass writes them again the board
    computes those episodes live."""
    ids = list(episode_ids)
    patients = list(patient_ids)
    if ids:
        CohortFacts.objects.filter(episode_id__in=ids).delete()
    if patients:
        CohortFacts.objects.filter(episode__patient_id__in=patients).delete()


def _batches() -> Iterator[list[uuid.UUID]]:
    last: uuid.UUID | None = None
    while True:
        qs = _missing(Episode.objects.alive()).order_by("id")
        if last is not None:
            qs = qs.filter(id__gt=last)
        ids = list(qs.values_list("id", flat=True)[:BATCH])
        if not ids:
            return
        last = ids[-1]
        yield ids


def fill_missing_rows() -> int:
    """Write every missing row, in batches of ``BATCH`` episodes, each in its
    own transaction holding those episodes' row locks (so a concurrent
    writer's change is either seen or forgets the row after). Idempotent."""
    written = 0
    for ids in _batches():
        with transaction.atomic():
            locked = list(
                Episode.objects.select_for_update(no_key=True)
                .filter(id__in=ids)
                .order_by("id")
                .values_list("id", flat=True)
            )
            written += _upsert(_missing(Episode.objects.alive().filter(id__in=locked)))
    return written


def stale_rows() -> list[tuple[Any, ...]]:
    """Rows that differ from a full recomputation (and rows missing for an
    alive episode are not stale: the board computes those live)."""
    stored = {
        row[0]: row for row in CohortFacts.objects.order_by().values_list(*(c for c in COLUMNS))
    }
    live = _live(Episode.objects.alive().filter(id__in=list(stored)))
    differ = [tuple(row) for row in live if stored.pop(row[0]) != tuple(row)]
    # Rows left over belong to deleted episodes (never read by the board).
    return differ
