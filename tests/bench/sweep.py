"""Sweep benchmark (a benchmark, not a timed test).

    python -m tests.bench.sweep [--episodes 100000] [--due 10000] [--rebuild]

Builds (once; reused on later runs) a PostgreSQL panel of 100,000 active
episodes with realistic facts in the database ``vcftrack_bench_sweep``,
brings it to a steady state, then measures:

(a) a sweep when nothing is due;
(b) a sweep when 10,000 episodes are due (each got a new pain score today,
    as a clinic's day of new facts would);
(c) the plainest raw-SQL path over the same 10,000 episodes, as the lower
    bound: lock them in batches with FOR UPDATE SKIP LOCKED, read every fact
    the engine reads (same tables, same rows), and rewrite the rows (b)
    wrote (every episode, and the tasks whose change_seq (b) moved) -- no
    rules, no decisions, in a transaction that is rolled back;
(d) another 10,000 due, swept by ``--workers`` processes (default 2) sharing
    the run through SKIP LOCKED, as several Celery workers would.

Prints episodes/s, queries issued (and per batch) and the ratio (b)/(c).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta

BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vcftrack_bench_sweep"
)


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")
    import psycopg

    base, name = BENCH_DB.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        return execute(sql, params, many, context)


def build(episodes: int, rebuild: bool) -> None:
    from django.db import connection
    from django.utils import timezone

    from pathways.demo import build_panel, ensure_clinics, ensure_staff, save_rows
    from pathways.models import Episode
    from pathways.services import pathway_sweep

    have = Episode.objects.count()
    if have >= episodes and not rebuild:
        print(f"reusing the bench panel: {have} episodes")
        return
    if have:
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE pathways_phasetransition, pathways_followuptask, pathways_observation, "
                "pathways_imaging, pathways_procedure, pathways_episode, patients_medication, "
                "patients_bonedensity, patients_accessevent, notifications_notification, "
                "patients_patient CASCADE"
            )
    now = timezone.now()
    clinics = ensure_clinics(3)
    ensure_staff(clinics)
    rng = random.Random(7)
    today = clinics[0].today(now)
    t0 = time.perf_counter()
    # ~1.06 episodes per patient in the demo generator.
    rows = build_panel(
        clinics=clinics,
        patients=int(episodes / 1.06) + 1,
        today=today,
        now=now,
        rng=rng,
        mrn_prefix="B",
    )
    rows.episodes = rows.episodes[:episodes]
    keep = {e.id for e in rows.episodes}
    rows.observations = [o for o in rows.observations if o.episode_id in keep]
    rows.imaging = [o for o in rows.imaging if o.episode_id in keep]
    rows.procedures = [o for o in rows.procedures if o.episode_id in keep]
    print(f"generated {sum(len(r) for r in rows.all())} rows in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    save_rows(rows, now=now, batch_size=5000)
    print(f"inserted in {time.perf_counter() - t0:.1f}s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    t0 = time.perf_counter()
    report = pathway_sweep(now=now, batch_size=500)
    print(f"steady state: {report.summary()} in {time.perf_counter() - t0:.1f}s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def make_due(count: int, rng: random.Random) -> list:
    """A day of new facts: a pain score today on ``count`` random episodes."""
    import uuid

    from django.db import transaction
    from django.utils import timezone

    from pathways.models import Episode, Observation
    from patients.sync import allocate_change_seq

    now = timezone.now()
    ids = list(Episode.objects.active().values_list("id", "clinic__timezone"))
    chosen = rng.sample(ids, count)
    from zoneinfo import ZoneInfo

    obs = []
    for eid, tz in chosen:
        day = now.astimezone(ZoneInfo(tz)).date()
        obs.append(
            Observation(
                id=uuid.uuid4(),
                episode_id=eid,
                kind="pain_nrs",
                value_number=float(rng.randint(2, 9)),
                effective_date=day,
                recorded_on=day,
                created_at=now,
                updated_at=now,
            )
        )
    with transaction.atomic():
        first = allocate_change_seq(len(obs))
        for n, o in enumerate(obs):
            o.change_seq = first + n
        Observation.objects.bulk_create(obs, batch_size=5000)
        Episode.objects.filter(id__in=[e for e, _ in chosen]).update(
            next_review_at=now - timedelta(seconds=1)
        )
    return [e for e, _ in chosen]


def raw_lower_bound(due_ids: list, batch: int, since_seq: int) -> tuple[float, int, int]:
    """The plainest SQL doing the sweep's reads and writes, rolled back.

    Run after (b) over the same episodes: it locks them in batches, reads
    every fact the engine reads (same tables, same rows) and rewrites the
    rows (b) wrote -- each episode's review date, and every task whose
    change_seq (b) moved past ``since_seq`` -- with no rules and no decisions.
    """
    from django.db import connection

    queries = 0
    tasks_written = 0
    t0 = time.perf_counter()
    raw = connection.connection  # the psycopg connection under Django's
    with raw.transaction(force_rollback=True):
        cur = raw.cursor()
        for start in range(0, len(due_ids), batch):
            cur.execute(
                "SELECT id, patient_id FROM pathways_episode WHERE id = ANY(%s) "
                "AND status = 'active' AND deleted_at IS NULL "
                "ORDER BY next_review_at FOR UPDATE SKIP LOCKED",
                [due_ids[start : start + batch]],
            )
            rows = cur.fetchall()
            queries += 1
            ids = [r[0] for r in rows]
            pids = list({r[1] for r in rows})
            alive = "AND deleted_at IS NULL"
            for sql, arg in (
                ("SELECT * FROM pathways_episode WHERE id = ANY(%s)", ids),
                (f"SELECT * FROM pathways_observation WHERE episode_id = ANY(%s) {alive}", ids),
                (f"SELECT * FROM pathways_imaging WHERE episode_id = ANY(%s) {alive}", ids),
                (f"SELECT * FROM pathways_procedure WHERE episode_id = ANY(%s) {alive}", ids),
                (f"SELECT * FROM patients_medication WHERE patient_id = ANY(%s) {alive}", pids),
                (f"SELECT * FROM patients_bonedensity WHERE patient_id = ANY(%s) {alive}", pids),
                ("SELECT * FROM pathways_followuptask WHERE episode_id = ANY(%s)", ids),
                (
                    "SELECT patient_id, id FROM pathways_episode "
                    "WHERE patient_id = ANY(%s) AND status = 'active'",
                    pids,
                ),
            ):
                cur.execute(sql, [arg])
                cur.fetchall()
                queries += 1
            cur.execute(
                "UPDATE pathways_followuptask SET updated_at = now(), version = version + 1, "
                "change_seq = change_seq + 1 WHERE episode_id = ANY(%s) AND change_seq > %s",
                [ids, since_seq],
            )
            tasks_written += cur.rowcount
            cur.execute(
                "UPDATE pathways_episode SET next_review_at = next_review_at + interval '1 day' "
                "WHERE id = ANY(%s)",
                [ids],
            )
            queries += 2
    return time.perf_counter() - t0, queries, tasks_written


def _worker(batch_size: int, start, done) -> None:  # type: ignore[no-untyped-def]
    """One sweep worker process: its own Django set-up and connection."""
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")
    import django

    django.setup()
    from django.utils import timezone

    from pathways.services import pathway_sweep

    start.get()  # start together
    report = pathway_sweep(now=timezone.now(), batch_size=batch_size)
    done.put(report.outcome.evaluated)


def parallel_sweep(workers: int, batch_size: int) -> tuple[float, list[int]]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(batch_size, start, done)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    time.sleep(5)  # let every process finish django.setup()
    t0 = time.perf_counter()
    for _ in procs:
        start.put(1)
    counts = [done.get() for _ in procs]
    seconds = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    return seconds, counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="processes for (d); 1 skips it")
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from pathways.models import Episode
    from pathways.services import pathway_sweep

    build(args.episodes, args.rebuild)
    # Earlier runs leave dead rows (their rolled-back lower bound, their
    # updates); measure a vacuumed, analysed table as autovacuum would keep it.
    raw = connection.connection
    prev = raw.autocommit
    raw.autocommit = True
    raw.execute("VACUUM ANALYZE")
    raw.autocommit = prev
    active = Episode.objects.active().count()
    print(f"panel: {active} active episodes")
    rng = random.Random()

    # (a) nothing due
    pathway_sweep(now=timezone.now())  # settle anything that fell due since the build
    timings = []
    counter = QueryCounter()
    for _ in range(20):
        counter.count = 0
        with connection.execute_wrapper(counter):
            t0 = time.perf_counter()
            report = pathway_sweep(now=timezone.now(), batch_size=args.batch_size)
            timings.append(time.perf_counter() - t0)
        assert report.outcome.evaluated == 0, report.summary()
    timings.sort()
    print(
        f"(a) nothing due: median {timings[len(timings) // 2] * 1000:.1f} ms, "
        f"max {timings[-1] * 1000:.1f} ms, {counter.count} queries  [target < 50 ms]"
    )

    # (b) 10,000 due, then (c) the same reads and writes in plain SQL
    due_ids = make_due(args.due, rng)
    with connection.cursor() as cur:
        cur.execute("SELECT value FROM patients_changecounter WHERE id = 1")
        since_seq = cur.fetchone()[0]
    counter.count = 0
    with connection.execute_wrapper(counter):
        t0 = time.perf_counter()
        report = pathway_sweep(now=timezone.now(), batch_size=args.batch_size)
        seconds = time.perf_counter() - t0
    evaluated = report.outcome.evaluated
    print(
        f"(b) {evaluated} due: {seconds:.2f} s = {evaluated / seconds:,.0f} episodes/s, "
        f"{counter.count} queries ({counter.count / max(report.batches, 1):.1f} per batch of "
        f"{args.batch_size}); {report.summary()}  [target >= 2,000 episodes/s]"
    )
    raw_seconds, raw_queries, raw_tasks = raw_lower_bound(due_ids, args.batch_size, since_seq)
    print(
        f"(c) raw-SQL lower bound over the same {len(due_ids)} (same rows read, the same "
        f"{len(due_ids)} episodes and {raw_tasks} tasks rewritten, rolled back): "
        f"{raw_seconds:.2f} s = {len(due_ids) / raw_seconds:,.0f} episodes/s, {raw_queries} queries"
    )
    print(f"ratio (b)/(c): {seconds / raw_seconds:.1f}x the raw-SQL time")

    # (d) the same load shared by several worker processes
    if args.workers > 1:
        make_due(args.due, rng)
        connection.close()
        par_seconds, counts = parallel_sweep(args.workers, args.batch_size)
        total = sum(counts)
        print(
            f"(d) {total} due, {args.workers} worker processes: {par_seconds:.2f} s = "
            f"{total / par_seconds:,.0f} episodes/s (per worker: {counts}); "
            f"{os.cpu_count()} cores shared with PostgreSQL"
        )


if __name__ == "__main__":
    sys.exit(main())
