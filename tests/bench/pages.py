"""Page-rendering benchmark for the web app (a benchmark, not a timed test).

    python -m tests.bench.pages [--episodes 100000] [--clinics 10] [--runs 40] [--rebuild]
                                [--only dashboard]

Builds once (and reuses on later runs) a PostgreSQL panel of 100,000 episodes
across 10 clinics of about 10,000 episodes each, in the database
``vcftrack_bench_pages`` (never the test database; BENCH_PAGES_DATABASE_URL
overrides it), with the demo generator's realistic facts, evaluated by the
real sweep. Then renders, server-side through Django's full request stack
(test Client: middleware, sessions, auth, templates), as a coordinator and a
physician of one 10,000-episode clinic:

- the worklist (default, and filtered + sorted + paged),
- a patient page (a different patient each run),
- the dashboard (all indicators over the last 12 months),
- an indicator's drill-down,

and prints p50 / p95 / max in ms and the number of SQL queries per page.
Target: p95 < 200 ms, with query counts that do not depend on the panel size.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

BENCH_DB = os.environ.get(
    "BENCH_PAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vcftrack_bench_pages"
)


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
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


def build(episodes: int, clinics_n: int, rebuild: bool) -> None:
    from django.db import connection
    from django.utils import timezone

    from pathways.demo import build_panel, ensure_clinics, ensure_staff, save_rows
    from pathways.models import Episode
    from pathways.services import pathway_sweep

    have = Episode.objects.count()
    if have >= episodes * 0.97 and not rebuild:
        print(f"reusing the bench panel: {have} episodes")
        return
    if have:
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE pathways_phasetransition, pathways_followuptask, pathways_observation, "
                "pathways_imaging, pathways_procedure, pathways_episode, patients_medication, "
                "patients_bonedensity, patients_accessevent, patients_patient CASCADE"
            )
    now = timezone.now()
    clinics = ensure_clinics(clinics_n)
    ensure_staff(clinics)
    patients = int(episodes / 1.06) + 1
    chunk = 10_000
    started = time.perf_counter()
    for i, start in enumerate(range(0, patients, chunk)):
        today = clinics[0].today(now)
        rows = build_panel(
            clinics=clinics,
            patients=min(chunk, patients - start),
            today=today,
            now=now,
            rng=random.Random(1000 + i),
            mrn_prefix=f"B{i:02d}-",
        )
        save_rows(rows, now=now, batch_size=5000)
        print(f"  inserted {start + chunk:>7} patients ({time.perf_counter() - started:.0f} s)")
    report = pathway_sweep(now=now, batch_size=500)
    print(f"  sweep: {report.summary()} ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"built {Episode.objects.count()} episodes in {time.perf_counter() - started:.0f} s")


def measure(
    name: str, client: Any, urls: Callable[[int], str], runs: int, warmup: int = 3
) -> tuple[str, list[float], list[int]]:
    from django.db import connection

    for i in range(warmup):
        client.get(urls(-1 - i))
    times: list[float] = []
    queries: list[int] = []
    for i in range(runs):
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            t0 = time.perf_counter()
            response = client.get(urls(i))
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{name}: HTTP {response.status_code} for {urls(i)}")
        queries.append(counter.count)
    return name, times, queries


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--clinics", type=int, default=10)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--only", default="", help="measure only the pages whose name contains this text"
    )
    args = parser.parse_args()

    setup_django()
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client
    from django.utils import timezone

    from pathways.models import Episode, FollowUpTask
    from pathways.services import pathway_sweep
    from patients.models import Clinic, Membership, Patient

    build(args.episodes, args.clinics, args.rebuild)
    # Measure tables as autovacuum keeps them in production (visibility map
    # set, so the worklist's index-only scans stay index-only), not the
    # just-built state where every heap page still has to be visited.
    from django.db import connection as conn

    raw = conn.connection
    prev = raw.autocommit
    raw.autocommit = True
    raw.execute("VACUUM ANALYZE")
    raw.autocommit = prev
    # Bring the panel up to today (a no-op when the sweep is current).
    pathway_sweep(now=timezone.now(), batch_size=500)
    # The dashboard's logs of open work, summed as beat keeps them (every
    # sweep interval; pathways/dashboard/counts.py).
    from pathways.dashboard.counts import compact

    compact(timezone.now())

    sizes = dict(
        Episode.objects.alive().values_list("clinic__code").annotate(n=Count("id")).order_by()
    )
    code = max(sizes, key=lambda c: sizes[c])
    clinic = Clinic.objects.get(code=code)
    open_tasks = FollowUpTask.objects.open().filter(clinic=clinic).count()
    total = sum(sizes.values())
    print(
        f"panel: {total} episodes in {len(sizes)} clinics; measured clinic {clinic.name!r}: "
        f"{sizes[code]} episodes, {open_tasks} open tasks"
    )
    users = get_user_model().objects
    coordinator = users.get(username=f"coordinator-{code}")
    physician = users.get(username=f"physician-{code}")
    # Someone in all ten clinics ("all my clinics" = the whole panel).
    everywhere, _ = users.get_or_create(username="bench-all-clinics")
    for c in Clinic.objects.all():
        Membership.objects.get_or_create(
            user=everywhere, clinic=c, defaults={"role": "coordinator"}
        )

    def client_for(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    coord, phys, wide = client_for(coordinator), client_for(physician), client_for(everywhere)
    patient_ids = list(
        Patient.objects.alive()
        .filter(clinic=clinic)
        .order_by("?")
        .values_list("id", flat=True)[: args.runs + 10]
    )
    pages = [
        ("worklist (coordinator, page 1)", coord, lambda i: "/", args.runs),
        (
            "worklist (overdue, by priority, page 3)",
            coord,
            lambda i: "/?state=overdue&sort=priority&page=3",
            args.runs,
        ),
        ("worklist (due today tab)", coord, lambda i: "/?state=due", args.runs),
        ("worklist (search by name)", coord, lambda i: "/?q=Weber", args.runs),
        (
            "patient page (random patient)",
            coord,
            lambda i: f"/patients/{patient_ids[i % len(patient_ids)]}/",
            args.runs,
        ),
        ("dashboard (physician, 12 months)", phys, lambda i: "/dashboard/", args.runs),
        # The indicators are kept 2 minutes; this recomputes them every time.
        (
            "dashboard (indicators recomputed: ?fresh=1)",
            phys,
            lambda i: "/dashboard/?fresh=1",
            args.runs,
        ),
        (
            "indicator drill-down (DXA, not met)",
            phys,
            lambda i: "/dashboard/indicators/dxa_12w/?which=gap",
            args.runs,
        ),
        ("worklist (all 10 clinics, 100k episodes)", wide, lambda i: "/", args.runs),
        ("dashboard (all 10 clinics)", wide, lambda i: "/dashboard/", args.runs),
        (
            "dashboard (all 10 clinics, recomputed)",
            wide,
            lambda i: "/dashboard/?fresh=1",
            args.runs,
        ),
    ]
    results = [measure(*page) for page in pages if args.only in page[0]]
    print()
    print(f"{'page':46} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    worst = 0.0
    for name, times, queries in results:
        q = f"{min(queries)}" if min(queries) == max(queries) else f"{min(queries)}-{max(queries)}"
        p95 = pct(times, 0.95)
        print(f"{name:44} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} {q:>8}")
        if "all 10 clinics" not in name:
            worst = max(worst, p95)
    print()
    print(f"worst p95 of the one-clinic pages: {worst:.1f} ms (target < 200 ms)")
    sys.exit(0)


if __name__ == "__main__":
    main()
