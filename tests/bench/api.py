"""REST API benchmark over real HTTP (a benchmark, not a timed test).

    python -m tests.bench.api [--episodes 100000] [--changes 1000] [--rebuild]

Builds (once; reused on later runs) a PostgreSQL panel of 100,000 episodes
and their tasks in the database ``vcftrack_bench_api`` (``BENCH_API_DATABASE_URL``
overrides it; never the test database), starts gunicorn on loopback and
measures, as a client holding an API token for every clinic:

(a) the episode list, a page of 100 (p50 / p95 over 200 requests);
(b) a full initial sync of every episode through the cursor (pages of 1,000);
(c) an incremental sync from the cursor (b) ended with, after 1,000 episodes
    changed through the services;

and the same reads done by raw psycopg queries serialised to JSON, as the
lower bound. Prints the figures, the ratios and the targets: list page p95
< 50 ms; full sync >= 5,000 episodes/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DB = os.environ.get(
    "BENCH_API_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vcftrack_bench_api"
)
ROOT = Path(__file__).resolve().parents[2]
LIST_REQUESTS = 200
SYNC_PAGE = 1000


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")
    import psycopg

    base, name = BENCH_DB.rsplit("/", 1)
    if name in ("vcftrack", "") or name.startswith("test_"):
        raise SystemExit(f"refusing to benchmark in database {name!r}")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(episodes: int, rebuild: bool) -> None:
    """The panel: the demo generator's patients, episodes and facts, then the sweep."""
    # The sweep benchmark builds the same kind of panel; one builder for both.
    from tests.bench.sweep import build as build_panel

    build_panel(episodes, rebuild)


def client_token() -> str:
    """A coordinator of every clinic, and a fresh API token for it."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from patients.models import Clinic, Membership
    from vcftrack.core.api.services import token_create

    user, _ = get_user_model().objects.get_or_create(username="bench-api-client")
    for clinic in Clinic.objects.all():
        Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": "coordinator"})
    return token_create(user=user, name="api benchmark", now=timezone.now()).key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": BENCH_DB, "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "vcftrack.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


class Http:
    """One keep-alive connection, like a real client."""

    def __init__(self, port: int, key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}

    def get(self, path: str) -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        raw = response.read()
        body = json.loads(raw)
        seconds = time.perf_counter() - t0
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {raw[:300]!r}")
        return seconds, body


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ----------------------------------------------------- raw lower bound --
EPISODE_SQL = (
    "SELECT id, patient_id, clinic_id, levels_mask, onset_date, identified_date, etiology, "
    "neuro_status, phase, pathway_version, next_review_at, status, close_reason, closed_at, "
    "flags, version, created_at, updated_at, deleted_at, change_seq FROM pathways_episode"
)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def raw_rows(cur: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    from pathways.levels import mask_to_levels

    cur.execute(sql, params)
    names = [c.name for c in cur.description]
    out = []
    for row in cur.fetchall():
        item = dict(zip(names, row, strict=True))
        item["levels"] = mask_to_levels(item.pop("levels_mask"))
        out.append(item)
    return out


def raw_list_page(cur: Any, clinics: list[Any], page: int) -> float:
    """The page the API serves (no count: the API counts only on request)."""
    t0 = time.perf_counter()
    rows = raw_rows(
        cur,
        f"{EPISODE_SQL} WHERE clinic_id = ANY(%s) AND deleted_at IS NULL "
        "ORDER BY identified_date DESC, id LIMIT 101 OFFSET %s",
        [clinics, (page - 1) * 100],
    )
    json.dumps({"results": rows[:100]}, default=_json_default)
    return time.perf_counter() - t0


def raw_sync(cur: Any, clinics: list[Any], after: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    total = 0
    while True:
        rows = raw_rows(
            cur,
            f"{EPISODE_SQL} WHERE clinic_id = ANY(%s) AND change_seq > %s "
            "ORDER BY change_seq LIMIT %s",
            [clinics, after, SYNC_PAGE],
        )
        json.dumps({"results": rows}, default=_json_default)
        total += len(rows)
        if len(rows) < SYNC_PAGE:
            return time.perf_counter() - t0, total
        after = rows[-1]["change_seq"]


# ------------------------------------------------------------------ run --
def sync_all(api: Http, path: str) -> tuple[float, int, int, str]:
    t0 = time.perf_counter()
    rows = pages = 0
    cursor = ""
    while True:
        _, body = api.get(path)
        pages += 1
        rows += len(body["results"])
        cursor = body["next_cursor"]
        if not body["next"]:
            return time.perf_counter() - t0, rows, pages, cursor
        path = path_of(body["next"])


def change_episodes(count: int) -> None:
    """``count`` episodes change through the service (each re-evaluated after commit)."""
    from django.utils import timezone

    from pathways.models import Episode
    from pathways.services import episode_update

    rng = random.Random(11)
    ids = list(Episode.objects.active().values_list("id", flat=True))
    for eid in rng.sample(ids, count):
        episode = Episode.objects.select_related("clinic").get(pk=eid)
        episode_update(
            episode=episode,
            neuro_status="intact" if episode.neuro_status != "intact" else "unknown",
            now=timezone.now(),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from pathways.models import Episode
    from patients.models import Clinic

    build(args.episodes, args.rebuild)
    total = Episode.objects.count()
    print(f"panel: {total} episodes (incl. tombstones), {Episode.objects.alive().count()} alive")
    key = client_token()
    clinics = list(Clinic.objects.values_list("id", flat=True))
    port = free_port()
    server = start_gunicorn(port)
    try:
        api = Http(port, key)
        rng = random.Random(5)
        # Warm both gunicorn workers' connections and caches.
        for _ in range(10):
            api.get("/api/v1/episodes/?page_size=100")

        # (a) list page of 100
        timings = []
        pages = [rng.randint(1, 20) for _ in range(LIST_REQUESTS)]
        for page in pages:
            seconds, body = api.get(f"/api/v1/episodes/?page_size=100&page={page}")
            assert len(body["results"]) == 100
            timings.append(seconds)
        raw_cur = connection.connection.cursor()
        raw_timings = [raw_list_page(raw_cur, clinics, page) for page in pages]
        p50, p95 = pct(timings, 0.5), pct(timings, 0.95)
        r50, r95 = pct(raw_timings, 0.5), pct(raw_timings, 0.95)
        print(
            f"(a) episode list, page of 100: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms "
            f"[target p95 < 50 ms]; raw psycopg+json p50 {r50 * 1000:.1f} ms, "
            f"p95 {r95 * 1000:.1f} ms; ratio p95 {p95 / r95:.1f}x"
        )

        # (b) full initial sync
        seconds, rows, npages, cursor = sync_all(
            api, f"/api/v1/episodes/?updated_since=2000-01-01T00:00:00Z&page_size={SYNC_PAGE}"
        )
        raw_seconds, raw_count = raw_sync(raw_cur, clinics, 0)
        print(
            f"(b) full sync: {rows} episodes in {npages} pages, {seconds:.2f} s = "
            f"{rows / seconds:,.0f} episodes/s [target >= 5,000/s]; raw psycopg+json "
            f"{raw_count} in {raw_seconds:.2f} s = {raw_count / raw_seconds:,.0f}/s; "
            f"ratio {seconds / raw_seconds:.1f}x"
        )
        assert rows == total, (rows, total)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT max(change_seq) FROM pathways_episode WHERE clinic_id = ANY(%s)",
                [clinics],
            )
            high_before = cur.fetchone()[0]

        # (c) incremental sync after N changes
        t0 = time.perf_counter()
        change_episodes(args.changes)
        print(
            f"    ({args.changes} episodes changed through the services in "
            f"{time.perf_counter() - t0:.1f} s)"
        )
        seconds, rows, npages, _ = sync_all(
            api, f"/api/v1/episodes/?cursor={cursor}&page_size={SYNC_PAGE}"
        )
        raw_seconds, raw_count = raw_sync(raw_cur, clinics, high_before)
        print(
            f"(c) incremental sync after {args.changes} changes: {rows} episodes in {npages} "
            f"page(s), {seconds * 1000:.0f} ms; raw psycopg+json {raw_count} in "
            f"{raw_seconds * 1000:.0f} ms; ratio {seconds / raw_seconds:.1f}x"
        )
        assert rows == raw_count >= args.changes, (rows, raw_count)
        print(
            "query count per page: constant whatever the page size "
            "(asserted in tests/api/test_query_budget.py)"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
