"""Sweep benchmark (a benchmark, not a timed test).

    python -m tests.bench.sweep [--episodes 20000] [--due 2000] [--pathway v2]
                                [--rounds 3] [--workers 2] [--rebuild]

Builds (once; reused on later runs) a PostgreSQL panel of ``--episodes``
active episodes with realistic facts in ``vcftrack_bench_sweep_<pathway>_<n>``
(or in the database named by ``BENCH_SWEEP_DATABASE``, e.g. a copy per branch)
(v2: every patient has a bone-health programme, so the sweep's unit is the
patient), brings it to a steady state, then measures:

(a) a sweep when nothing is due;
(b) a sweep when ``--due`` episodes are due (each got a new pain score today,
    as a clinic's day of new facts would): wall time, worker CPU
    (``time.process_time``) per episode, queries, and the share of due
    episodes / patients whose evaluation changed nothing visible (only the
    next review moved);
(c) the set-based reference over the same due set: per batch, one statement
    claims the due rows (FOR UPDATE SKIP LOCKED), reads every fact row the
    engine reads (observations, imaging, procedures, medications, DXAs,
    tasks), takes the change counter and writes exactly the rows (b) wrote
    (tasks inserted/updated with ``INSERT ... SELECT ... ON CONFLICT``,
    episodes and programmes with ``UPDATE ... FROM``, transitions inserted);
    a digest of tasks, episodes, programmes and transitions checks that (b)
    and (c) leave the same rows;
(d) another due set swept by ``--workers`` processes (default 2) sharing the
    run through SKIP LOCKED, as several Celery workers would.

(b) and (c) run ``--rounds`` times each over the same due set and the same
``now`` inside transactions that are rolled back, order alternated; the
figures are the median and the range. (c) does not write the outbox rows
(b) writes for notifications (a few per changed task), nor the queries
(b) makes to publish them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from typing import Any

BASE_URL = os.environ.get("BENCH_DATABASE_BASE", "postgres://postgres@127.0.0.1:5432")


def setup_django(db_name: str) -> None:
    os.environ["DATABASE_URL"] = f"{BASE_URL}/{db_name}"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")
    import psycopg

    with psycopg.connect(f"{BASE_URL}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db_name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class StatementCounter:
    """Every statement the process sends, through Django or straight through
    psycopg (the bulk writers bind server-side on a raw cursor, which
    Django's execute wrapper does not see). An ``executemany`` counts once."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> StatementCounter:
        import psycopg

        self._saved = psycopg.Cursor.execute, psycopg.Cursor.executemany
        execute, executemany = self._saved

        def counted_execute(cur, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.count += 1
            return execute(cur, *args, **kwargs)

        def counted_executemany(cur, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.count += 1
            return executemany(cur, *args, **kwargs)

        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        import psycopg

        psycopg.Cursor.execute, psycopg.Cursor.executemany = self._saved  # type: ignore[method-assign]


def build(episodes: int, pathway: str, rebuild: bool) -> None:
    from django.db import connection
    from django.utils import timezone

    from pathways.demo import build_panel, ensure_clinics, ensure_staff, save_rows
    from pathways.models import Episode, FollowUpTask

    have = Episode.objects.count()
    # The generator gives about the number asked for (within a few per cent).
    if have >= episodes * 0.9 and not rebuild:
        print(f"reusing the bench panel: {have} episodes ({pathway})")
        if not FollowUpTask.objects.exists():
            settle(timezone.now())
        return
    if have:
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE pathways_phasetransition, pathways_followuptask, pathways_observation, "
                "pathways_imaging, pathways_procedure, pathways_episode, pathways_programme, "
                "patients_medication, patients_bonedensity, patients_accessevent, "
                "notifications_notification, patients_patient CASCADE"
            )
    now = timezone.now()
    clinics = ensure_clinics(3)
    ensure_staff(clinics)
    rng = random.Random(7)
    today = clinics[0].today(now)
    t0 = time.perf_counter()
    # ~1.06 episodes per patient in the demo generator (v2: ~1.15).
    per_patient = 1.06 if pathway == "v1" else 1.15
    rows = build_panel(
        clinics=clinics,
        patients=int(episodes / per_patient) + 1,
        today=today,
        now=now,
        rng=rng,
        mrn_prefix="B",
        pathway_version=pathway,
    )
    print(f"generated {sum(len(r) for r in rows.all())} rows in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    save_rows(rows, now=now, batch_size=5000)
    print(f"inserted in {time.perf_counter() - t0:.1f}s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    settle(now)


def settle(now: datetime) -> None:
    """Evaluate the whole panel once: the steady state a clinic runs in."""
    from django.db import connection

    from pathways.models import Programme
    from pathways.services import pathway_sweep

    Programme.objects.filter(status="active").update(next_review_at=now)
    t0 = time.perf_counter()
    report = pathway_sweep(now=now, batch_size=500)
    print(f"steady state: {report.summary()} in {time.perf_counter() - t0:.1f}s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def make_due(count: int, rng: random.Random, now: datetime) -> None:
    """A day of new facts: a pain score today on ``count`` random episodes
    (and, for an episode in a programme, its patient's programme falls due)."""
    import uuid
    from zoneinfo import ZoneInfo

    from django.db import transaction

    from pathways.models import Episode, Observation, Programme
    from patients.sync import allocate_change_seq

    ids = list(Episode.objects.active().values_list("id", "clinic__timezone", "patient_id"))
    chosen = rng.sample(ids, min(count, len(ids)))
    obs = []
    for eid, tz, _pid in chosen:
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
    due_at = now - timedelta(seconds=1)
    with transaction.atomic():
        first = allocate_change_seq(len(obs))
        for n, o in enumerate(obs):
            o.change_seq = first + n
        Observation.objects.bulk_create(obs, batch_size=5000)
        Episode.objects.filter(id__in=[e for e, _, _ in chosen]).update(next_review_at=due_at)
        Programme.objects.filter(patient_id__in={p for _, _, p in chosen}, status="active").update(
            next_review_at=due_at
        )


# ------------------------------------------------------------ the due set --
class DueSet:
    """The units a sweep at ``now`` claims, in its claim order, and their episodes."""

    def __init__(self, now: datetime) -> None:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, patient_id FROM pathways_episode WHERE status = 'active' "
                "AND deleted_at IS NULL AND programme_id IS NULL AND next_review_at <= %s "
                "ORDER BY next_review_at",
                [now],
            )
            self.solo = [(str(i), str(p)) for i, p in cur.fetchall()]
            cur.execute(
                "SELECT id, patient_id FROM pathways_programme WHERE status = 'active' "
                "AND next_review_at <= %s ORDER BY next_review_at",
                [now],
            )
            self.programmes = [(str(i), str(p)) for i, p in cur.fetchall()]
            cur.execute(
                "SELECT id FROM pathways_episode WHERE deleted_at IS NULL AND patient_id = ANY(%s)",
                [[p for _, p in self.programmes]],
            )
            self.programme_episodes = [str(r[0]) for r in cur.fetchall()]
        self.episode_ids = [e for e, _ in self.solo] + self.programme_episodes
        self.patient_ids = sorted({p for _, p in self.solo} | {p for _, p in self.programmes})

    @property
    def episodes(self) -> int:
        return len(self.episode_ids)


DIGEST_SQL = {
    "tasks": (
        # New tasks get new ids each round: compared without them.
        "SELECT count(*), md5(coalesce(string_agg((to_jsonb(t) - 'id')::text, '|' "
        "ORDER BY t.episode_id, t.rule, t.occurrence, t.patient_id), '')) "
        "FROM pathways_followuptask t WHERE t.patient_id = ANY(%(patients)s::uuid[])"
    ),
    "episodes": (
        "SELECT count(*), md5(coalesce(string_agg(e::text, '|' ORDER BY e.id), '')) "
        "FROM pathways_episode e WHERE e.patient_id = ANY(%(patients)s::uuid[])"
    ),
    "programmes": (
        "SELECT count(*), md5(coalesce(string_agg(p::text, '|' ORDER BY p.id), '')) "
        "FROM pathways_programme p WHERE p.patient_id = ANY(%(patients)s::uuid[])"
    ),
    "transitions": (
        "SELECT count(*), md5(coalesce(string_agg((to_jsonb(x) - 'id')::text, '|' "
        "ORDER BY x.episode_id, x.to_phase), '')) FROM pathways_phasetransition x "
        "WHERE x.at = %(now)s"
    ),
    "counter": "SELECT value, '' FROM patients_changecounter WHERE id = 1",
}


def digest(due: DueSet, now: datetime) -> dict[str, Any]:
    from django.db import connection

    out = {}
    with connection.cursor() as cur:
        for name, sql in DIGEST_SQL.items():
            cur.execute(sql, {"patients": due.patient_ids, "now": now})
            out[name] = cur.fetchone()
    return out


def _json(value: Any) -> Any:
    # Django's connection hands jsonb over as text (it decodes JSON itself).
    return json.loads(value) if isinstance(value, str) else value


class Written:
    """The rows a sweep wrote, captured (as JSON) to be rewritten by (c)."""

    def __init__(self, due: DueSet, now: datetime, since_seq: int) -> None:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(
                "SELECT to_jsonb(t) FROM pathways_followuptask t "
                "WHERE t.patient_id = ANY(%s::uuid[]) AND t.change_seq > %s",
                [due.patient_ids, since_seq],
            )
            self.tasks = [_json(r[0]) for r in cur.fetchall()]
            cur.execute(
                "SELECT id::text, next_review_at, sweep_failures, sweep_error, phase, flags, "
                "version, change_seq, updated_at, change_seq > %s FROM pathways_episode "
                "WHERE id = ANY(%s::uuid[])",
                [since_seq, due.episode_ids],
            )
            self.episodes = cur.fetchall()
            cur.execute(
                "SELECT id::text, next_review_at, updated_at FROM pathways_programme "
                "WHERE id = ANY(%s::uuid[])",
                [[i for i, _ in due.programmes]],
            )
            self.programmes = cur.fetchall()
            cur.execute(
                "SELECT (to_jsonb(x) - 'id') FROM pathways_phasetransition x WHERE x.at = %s",
                [now],
            )
            self.transitions = [_json(r[0]) for r in cur.fetchall()]
            cur.execute("SELECT value FROM patients_changecounter WHERE id = 1")
            self.seq_used = cur.fetchone()[0] - since_seq
        changed_episodes = {r[0] for r in self.episodes if r[9]}
        changed_episodes |= {t["episode_id"] for t in self.tasks if t["episode_id"]}
        changed_episodes |= {t["episode_id"] for t in self.transitions}
        self.changed_episodes = changed_episodes
        self.changed_patients = {t["patient_id"] for t in self.tasks}


REFERENCE_SQL = """
WITH claim AS (
    SELECT id, patient_id FROM {claim_table}
    WHERE id = ANY(%(units)s::uuid[]) ORDER BY id FOR UPDATE SKIP LOCKED
), eps AS (
    SELECT e.id, e.patient_id FROM pathways_episode e JOIN claim c ON {episode_join}
    WHERE e.deleted_at IS NULL ORDER BY e.id FOR UPDATE OF e
), facts AS (
    SELECT count(o.value_number) + count(o.value_bool) + count(o.kind) AS n
      FROM pathways_observation o JOIN eps ON o.episode_id = eps.id WHERE o.deleted_at IS NULL
    UNION ALL SELECT count(i.modality) + count(i.edema) FROM pathways_imaging i
      JOIN eps ON i.episode_id = eps.id WHERE i.deleted_at IS NULL
    UNION ALL SELECT count(p.kind) FROM pathways_procedure p
      JOIN eps ON p.episode_id = eps.id WHERE p.deleted_at IS NULL
    UNION ALL SELECT count(m.drug) + count(m.stop_date) FROM patients_medication m
      WHERE m.patient_id IN (SELECT patient_id FROM claim) AND m.deleted_at IS NULL
    UNION ALL SELECT count(b.bmd_g_cm2) FROM patients_bonedensity b
      WHERE b.patient_id IN (SELECT patient_id FROM claim) AND b.deleted_at IS NULL
    UNION ALL SELECT count(t.status) + count(t.triggers) FROM pathways_followuptask t
      WHERE t.patient_id IN (SELECT patient_id FROM claim)
), seq AS (
    UPDATE patients_changecounter SET value = value + %(seq)s WHERE id = 1 RETURNING value
), task_rows AS (
    INSERT INTO pathways_followuptask
    SELECT * FROM jsonb_populate_recordset(NULL::pathways_followuptask, %(tasks)s::jsonb)
    ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
        closed_at = EXCLUDED.closed_at, closed_on = EXCLUDED.closed_on,
        due_date = EXCLUDED.due_date, grace_days = EXCLUDED.grace_days,
        overdue_from = EXCLUDED.overdue_from, triggers = EXCLUDED.triggers,
        change_seq = EXCLUDED.change_seq, version = EXCLUDED.version,
        updated_at = EXCLUDED.updated_at, priority = EXCLUDED.priority
    RETURNING 1
), ep_rows AS (
    UPDATE pathways_episode e SET next_review_at = u.next_review_at,
        sweep_failures = u.sweep_failures, sweep_error = u.sweep_error, phase = u.phase,
        flags = u.flags, version = u.version, change_seq = u.change_seq,
        updated_at = u.updated_at
    FROM unnest(%(e_id)s::uuid[], %(e_next)s::timestamptz[], %(e_fail)s::smallint[],
                %(e_err)s::text[], %(e_phase)s::text[], %(e_flags)s::jsonb[],
                %(e_version)s::int[], %(e_seq)s::bigint[], %(e_upd)s::timestamptz[])
        AS u(id, next_review_at, sweep_failures, sweep_error, phase, flags, version,
             change_seq, updated_at)
    WHERE e.id = u.id
    RETURNING 1
), prog_rows AS (
    UPDATE pathways_programme p SET next_review_at = u.next_review_at, sweep_failures = 0,
        sweep_error = '', updated_at = u.updated_at
    FROM unnest(%(p_id)s::uuid[], %(p_next)s::timestamptz[], %(p_upd)s::timestamptz[])
        AS u(id, next_review_at, updated_at)
    WHERE p.id = u.id
    RETURNING 1
), transitions AS (
    INSERT INTO pathways_phasetransition (episode_id, at, effective_date, from_phase, to_phase,
        cause, actor_kind, actor_id)
    SELECT episode_id, at, effective_date, from_phase, to_phase, cause, actor_kind, actor_id
    FROM jsonb_populate_recordset(NULL::pathways_phasetransition, %(transitions)s::jsonb)
    RETURNING 1
)
SELECT (SELECT count(*) FROM claim), (SELECT sum(n) FROM facts), (SELECT value FROM seq),
       (SELECT count(*) FROM task_rows), (SELECT count(*) FROM ep_rows),
       (SELECT count(*) FROM prog_rows), (SELECT count(*) FROM transitions)
"""


def reference_batches(
    due: DueSet, written: Written, batch_size: int
) -> list[tuple[str, dict[str, Any]]]:
    """The parameters of (c)'s statements, one per batch of the sweep's shape.

    Built before timing: they are what the sweep's Python work produced.
    """
    from psycopg.types.json import Jsonb

    def flag_type(col: Any) -> Any:
        return Jsonb(col) if not isinstance(col, str) else Jsonb(json.loads(col))

    episodes_of: dict[str, list[tuple]] = {}
    patient_of_episode = {}
    for row in written.episodes:
        episodes_of.setdefault("", []).append(row)
    episode_rows = {r[0]: r for r in written.episodes}
    tasks_by_patient: dict[str, list[dict]] = {}
    for t in written.tasks:
        tasks_by_patient.setdefault(t["patient_id"], []).append(t)
    transitions_by_episode: dict[str, list[dict]] = {}
    for x in written.transitions:
        transitions_by_episode.setdefault(x["episode_id"], []).append(x)
    prog_rows = {r[0]: r for r in written.programmes}
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT id::text, patient_id::text FROM pathways_episode WHERE id = ANY(%s::uuid[])",
            [due.episode_ids],
        )
        for eid, pid in cur.fetchall():
            patient_of_episode[eid] = pid
    eps_of_patient: dict[str, list[str]] = {}
    for eid, pid in patient_of_episode.items():
        eps_of_patient.setdefault(pid, []).append(eid)

    out: list[tuple[str, dict[str, Any]]] = []
    plans = [
        ("pathways_episode", "e.id = c.id", due.solo, batch_size, False),
        ("pathways_programme", "e.patient_id = c.patient_id", due.programmes,
         max(1, batch_size // 4), True),
    ]  # fmt: skip
    for table, join, units, size, is_programme in plans:
        sql = REFERENCE_SQL.format(claim_table=table, episode_join=join)
        for start in range(0, len(units), size):
            chunk = units[start : start + size]
            patients = {p for _, p in chunk}
            eids = (
                [e for p in patients for e in eps_of_patient.get(p, [])]
                if is_programme
                else [u for u, _ in chunk]
            )
            tasks = [
                t
                for p in patients
                for t in tasks_by_patient.get(p, [])
                if is_programme or t["episode_id"] in set(eids)
            ]
            erows = [episode_rows[e] for e in eids if e in episode_rows]
            trans = [x for e in eids for x in transitions_by_episode.get(e, [])]
            prow = [prog_rows[u] for u, _ in chunk if u in prog_rows] if is_programme else []
            seq = len(tasks) + sum(1 for r in erows if r[9])
            params = {
                "units": [u for u, _ in chunk],
                "seq": seq,
                "tasks": Jsonb(tasks),
                "e_id": [r[0] for r in erows],
                "e_next": [r[1] for r in erows],
                "e_fail": [r[2] for r in erows],
                "e_err": [r[3] for r in erows],
                "e_phase": [r[4] for r in erows],
                "e_flags": [flag_type(r[5]) for r in erows],
                "e_version": [r[6] for r in erows],
                "e_seq": [r[7] for r in erows],
                "e_upd": [r[8] for r in erows],
                "p_id": [r[0] for r in prow],
                "p_next": [r[1] for r in prow],
                "p_upd": [r[2] for r in prow],
                "transitions": Jsonb(trans),
            }
            out.append((sql, params))
    return out


def run_reference(batches: list[tuple[str, dict[str, Any]]]) -> tuple[float, int]:
    """(c): one statement per batch, each in its own transaction (a savepoint
    here, inside the round's rolled-back transaction)."""
    from django.db import connection, transaction

    connection.ensure_connection()
    raw = connection.connection
    t0 = time.perf_counter()
    for sql, params in batches:
        # Django's savepoint, so that the round's rollback undoes it too.
        with transaction.atomic():
            raw.execute(sql, params).fetchone()
    return time.perf_counter() - t0, len(batches)


def run_sweep(now: datetime, batch_size: int) -> tuple[float, float, int, Any]:
    from pathways.services import pathway_sweep

    with StatementCounter() as counter:
        c0, t0 = time.process_time(), time.perf_counter()
        report = pathway_sweep(now=now, batch_size=batch_size)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return seconds, cpu, counter.count, report


def _worker(db_url: str, batch_size: int, start, done) -> None:  # type: ignore[no-untyped-def]
    """One sweep worker process: its own Django set-up and connection."""
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")
    import django

    django.setup()
    from django.utils import timezone

    from pathways.services import pathway_sweep

    start.get()  # start together
    report = pathway_sweep(now=timezone.now(), batch_size=batch_size)
    done.put(report.outcome.evaluated)


def parallel_sweep(db_url: str, workers: int, batch_size: int) -> tuple[float, list[int]]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(db_url, batch_size, start, done)) for _ in range(workers)
    ]
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


def _range(values: list[float], fmt: str = "{:,.0f}") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--due", type=int, default=2_000)
    parser.add_argument("--pathway", choices=["v1", "v2"], default="v2")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="processes for (d); 1 skips it")
    args = parser.parse_args()
    # BENCH_SWEEP_DATABASE: run on a copy of the panel (one per helper/branch).
    db_name = os.environ.get("BENCH_SWEEP_DATABASE") or (
        f"vcftrack_bench_sweep_{args.pathway}_{args.episodes}"
    )
    setup_django(db_name)
    from django.db import connection, transaction
    from django.utils import timezone

    from pathways.models import Episode
    from pathways.services import pathway_sweep

    build(args.episodes, args.pathway, args.rebuild)
    # Earlier runs leave dead rows; measure a vacuumed, analysed table as
    # autovacuum would keep it.
    raw = connection.connection
    prev = raw.autocommit
    raw.autocommit = True
    raw.execute("VACUUM ANALYZE")
    raw.autocommit = prev
    from pathways.engine._compiled import in_use

    print(
        f"panel: {Episode.objects.active().count()} active episodes ({args.pathway}); "
        f"engine: {in_use()}"
    )
    rng = random.Random()

    # (a) nothing due
    pathway_sweep(now=timezone.now())  # settle anything that fell due since the build
    timings = []
    for _ in range(20):
        with StatementCounter() as counter:
            t0 = time.perf_counter()
            report = pathway_sweep(now=timezone.now(), batch_size=args.batch_size)
            timings.append(time.perf_counter() - t0)
        assert report.outcome.evaluated == 0, report.summary()
    timings.sort()
    print(
        f"(a) nothing due: median {timings[len(timings) // 2] * 1000:.1f} ms, "
        f"max {timings[-1] * 1000:.1f} ms, {counter.count} statements  [target < 50 ms]"
    )

    # (b) and (c) over one due set, each round rolled back
    now = timezone.now()
    make_due(args.due, rng, now - timedelta(seconds=5))
    due = DueSet(now)
    with connection.cursor() as cur:
        cur.execute("SELECT value FROM patients_changecounter WHERE id = 1")
        since_seq = cur.fetchone()[0]
    units = len(due.solo) + len(due.programmes)
    print(
        f"due set: {due.episodes} episodes ({len(due.solo)} without a programme, "
        f"{len(due.programme_episodes)} of {len(due.programmes)} patients with a programme)"
    )
    sweep_s: list[float] = []
    sweep_cpu: list[float] = []
    ref_s: list[float] = []
    written: Written | None = None
    batches: list[tuple[str, dict[str, Any]]] = []
    sweep_digest: dict[str, Any] | None = None
    ref_digest: dict[str, Any] | None = None
    queries = 0
    report = None
    for rnd in range(args.rounds):
        order = ("sweep", "reference") if rnd % 2 == 0 or written is None else (
            "reference", "sweep")  # fmt: skip
        for variant in order:
            with transaction.atomic():
                if variant == "sweep":
                    seconds, cpu, queries, report = run_sweep(now, args.batch_size)
                    sweep_s.append(seconds)
                    sweep_cpu.append(cpu)
                    got = digest(due, now)
                    if sweep_digest not in (None, got):
                        differ = [k for k in got if got[k] != sweep_digest[k]]
                        print(f"    note: round {rnd + 1} of the sweep differs in {differ}")
                    sweep_digest = got
                    if written is None:
                        written = Written(due, now, since_seq)
                        batches = reference_batches(due, written, args.batch_size)
                else:
                    seconds, _n = run_reference(batches)
                    ref_s.append(seconds)
                    ref_digest = digest(due, now)
                transaction.set_rollback(True)
    assert written is not None
    assert report is not None
    episodes = due.episodes
    per_batch = queries / max(report.batches, 1)
    print(
        f"(b) today's sweep, {episodes} episodes / {units} units, {args.rounds} rounds: "
        f"{_range([episodes / s for s in sweep_s])} episodes/s, "
        f"{_range([units / s for s in sweep_s])} units/s; worker CPU "
        f"{_range([c / episodes * 1e6 for c in sweep_cpu])} µs/episode "
        f"({_range([c / s * 100 for c, s in zip(sweep_cpu, sweep_s, strict=True)])} % of wall); "
        f"{queries} statements ({per_batch:.1f} per batch)  [target >= 2,500 episodes/s]"
    )
    print(f"    {report.summary()}")
    unchanged_e = 1 - len(written.changed_episodes) / max(episodes, 1)
    unchanged_p = 1 - len(written.changed_patients) / max(len(due.patient_ids), 1)
    print(
        f"    changed nothing visible (only the next review moved): {unchanged_e:.1%} of due "
        f"episodes, {unchanged_p:.1%} of due patients; rows written: {len(written.tasks)} "
        f"tasks, {sum(1 for r in written.episodes if r[9])} episodes with a new version, "
        f"{len(written.transitions)} transitions, {written.seq_used} change numbers"
    )
    same = "same rows" if ref_digest == sweep_digest else f"DIFFERENT rows: {ref_digest}"
    print(
        f"(c) set-based reference ({len(batches)} statements): "
        f"{_range([episodes / s for s in ref_s])} episodes/s; digest: {same}"
    )
    ratio = statistics.median(sweep_s) / statistics.median(ref_s)
    print(f"ratio (b)/(c): {ratio:.1f}x the set-based time  [target <= 2x]")

    # (d) another due set shared by several worker processes
    if args.workers > 1:
        make_due(args.due, rng, timezone.now() - timedelta(seconds=5))
        connection.close()
        par_seconds, counts = parallel_sweep(
            os.environ["DATABASE_URL"], args.workers, args.batch_size
        )
        total = sum(counts)
        print(
            f"(d) {total} evaluations due, {args.workers} worker processes: {par_seconds:.2f} s "
            f"= {total / par_seconds:,.0f} evaluations/s (per worker: {counts}); "
            f"{os.cpu_count()} cores shared with PostgreSQL"
        )


if __name__ == "__main__":
    sys.exit(main())
