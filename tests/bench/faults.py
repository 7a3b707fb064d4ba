"""Load and fault checks in one command (loopback only, bounded in time).

    python -m tests.bench.faults [--seconds 120] [--clients 20] [--bulk-writers 4]
                                 [--patients 300] [--outage 60]

Against its own PostgreSQL database (``vcftrack_bench_faults``;
``BENCH_FAULTS_DATABASE_URL`` overrides it, never the test database) and its
OWN redis-server on port 6390 (``--redis-port``), which it starts and stops
itself: the shared Redis on 6379 and PostgreSQL are never stopped.

1. Load: ``--clients`` API clients (reads, single writes with If-Match,
   syncs) plus ``--bulk-writers`` clients posting bulk facts over episodes of
   several patients, for ``--seconds``, against gunicorn (4 workers).
   Counts answers by status, 5xx, and PostgreSQL's deadlock counter for the
   database before and after. Target: 0 deadlocks, 0 5xx.
2. kill -9 of a Celery worker mid-sweep: every episode made due, a sweep
   task sent, the worker killed with SIGKILL once part of the episodes are
   evaluated, a new worker started. Target: every episode evaluated, no
   duplicate task, none lost.
3. Redis stopped for ``--outage`` seconds under API load (throttle counters
   and the broker live there). Target: 0 5xx during and after; the worker
   reconnects and a sweep sent after the outage runs.

Prints the figures; exits non-zero if a target is missed.
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
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DB = os.environ.get(
    "BENCH_FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vcftrack_bench_faults"
)
ROOT = Path(__file__).resolve().parents[2]
OBS_KINDS = ("pain_nrs", "odi")


def setup_django(redis_url: str) -> None:
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")
    import psycopg

    base, name = BENCH_DB.rsplit("/", 1)
    if name in ("vcftrack", "") or name.startswith("test_"):
        raise SystemExit(f"refusing to benchmark in database {name!r}")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()


def deadlocks() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cur.fetchone()[0])


def prepare(patients: int) -> tuple[str, list[str], list[str]]:
    """Migrate, seed once, and a token of a coordinator of every clinic."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from pathways.models import Episode
    from patients.models import Clinic, Membership, Patient
    from vcftrack.core.api.services import token_create

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--if-empty", "--patients", str(patients), verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="fault-bench")
    for clinic in Clinic.objects.all():
        Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": "coordinator"})
    key = token_create(user=user, name="fault bench", now=timezone.now(), lifetime_days=1).key
    episodes = [str(e) for e in Episode.objects.active().values_list("id", flat=True)]
    people = [str(p) for p in Patient.objects.alive().values_list("id", flat=True)]
    return key, episodes, people


# ------------------------------------------------------------ processes --
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def start_redis(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc


def child_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": BENCH_DB,
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # The bench measures correctness under load, not the throttle.
        "API_RATE_PER_TOKEN": "1000000/min",
        "API_RATE_PER_USER": "1000000/min",
        **extra,
    }


def start_gunicorn(port: int, redis_url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "vcftrack.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=child_env(redis_url),
    )
    wait_port(port)
    # The master listens before its workers have loaded Django: wait for answers.
    probe = Client(port, "", Tally())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and probe.call("GET", "/api/schema/")[0] != 200:
        time.sleep(0.5)
    for _ in range(16):
        probe.call("GET", "/api/schema/")
    return proc


def start_worker(redis_url: str, log: Path, batch: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "vcftrack",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=child_env(
            redis_url, PATHWAY_SWEEP_BATCH_SIZE=str(batch), PATHWAY_SWEEP_PARALLELISM="1"
        ),
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------- clients --
class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.latencies: list[float] = []

    def add(self, status: int, seconds: float, what: str, body: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)
            if status >= 500 and len(self.samples) < 5:
                self.samples.append(f"{status} {what}: {body[:200]!r}")

    def fail(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)


class Client:
    def __init__(self, port: int, key: str, tally: Tally) -> None:
        self.port = port
        self.key = key
        self.tally = tally
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = None if body is None else json.dumps(body)
        all_headers = {"Authorization": f"Bearer {self.key}", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=all_headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.tally.fail(type(exc).__name__)
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, None, {}
        self.tally.add(response.status, time.perf_counter() - t0, f"{method} {path}", raw)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, parsed, dict(response.getheaders())


def observation(episode: str | None, rng: random.Random) -> dict[str, Any]:
    from django.utils import timezone

    day = timezone.localdate() - __import__("datetime").timedelta(days=rng.randint(0, 3))
    item: dict[str, Any] = {
        "kind": "pain_nrs",
        "value": rng.randint(0, 10),
        "effective_date": day.isoformat(),
    }
    if episode is not None:
        item["episode"] = episode
    return item


def mixed_client(
    client: Client, episodes: list[str], people: list[str], until: float, seed: int
) -> None:
    rng = random.Random(seed)
    cursor: str | None = None
    while time.monotonic() < until:
        roll = rng.random()
        if roll < 0.25:
            client.call("GET", "/api/v1/tasks/?page_size=50")
        elif roll < 0.40:
            client.call("GET", f"/api/v1/patients/{rng.choice(people)}/")
        elif roll < 0.50:
            path = "/api/v1/episodes/?page_size=200&"
            path += f"cursor={cursor}" if cursor else "updated_since=1970-01-01T00:00:00Z"
            status, body, _ = client.call("GET", path)
            if status == 200 and body:
                cursor = body.get("next_cursor")
        elif roll < 0.75:
            episode = rng.choice(episodes)
            client.call("POST", f"/api/v1/episodes/{episode}/observations/", observation(None, rng))
        else:
            patient = rng.choice(people)
            status, body, headers = client.call("GET", f"/api/v1/patients/{patient}/")
            if status == 200:
                client.call(
                    "PATCH",
                    f"/api/v1/patients/{patient}/",
                    {"contact_time": rng.choice(["", "mornings", "after 4 pm"])},
                    {"If-Match": headers.get("ETag", "*")},
                )


def bulk_writer(client: Client, episodes: list[str], until: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        chosen = rng.sample(episodes, k=min(len(episodes), rng.randint(3, 8)))
        client.call(
            "POST",
            "/api/v1/observations/bulk/",
            {"items": [observation(e, rng) for e in chosen]},
        )


def run_load(
    port: int,
    key: str,
    episodes: list[str],
    people: list[str],
    clients: int,
    writers: int,
    seconds: float,
    seed: int = 1,
) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=mixed_client, args=(Client(port, key, tally), episodes, people, until, seed + i)
        )
        for i in range(clients)
    ] + [
        threading.Thread(
            target=bulk_writer, args=(Client(port, key, tally), episodes, until, 1000 + seed + i)
        )
        for i in range(writers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def report_load(name: str, tally: Tally, seconds: float) -> None:
    total = sum(tally.statuses.values())
    print(
        f"  {name}: {total} requests in {seconds:.0f} s ({total / seconds:.0f}/s), "
        f"p50 {pct(tally.latencies, 0.5):.0f} ms, p95 {pct(tally.latencies, 0.95):.0f} ms"
    )
    print(
        f"    by status: {dict(sorted(tally.statuses.items()))}; 5xx: {tally.server_errors}; "
        f"connection errors: {dict(tally.errors) or 0}"
    )
    for sample in tally.samples:
        print(f"    sample: {sample}")


# ---------------------------------------------------------------- sweep --
def due_count() -> int:
    from django.utils import timezone

    from pathways.models import Episode

    return Episode.objects.active().filter(next_review_at__lte=timezone.now()).count()


def duplicate_tasks() -> int:
    from django.db.models import Count

    from pathways.models import FollowUpTask

    return (
        FollowUpTask.objects.values("episode_id", "patient_id", "rule", "occurrence")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


def make_all_due() -> int:
    from django.utils import timezone

    from pathways.models import Episode, Programme

    past = timezone.now() - __import__("datetime").timedelta(seconds=1)
    Programme.objects.filter(status="active").update(next_review_at=past)
    return Episode.objects.active().update(next_review_at=past)


def send_sweep() -> None:
    from pathways.tasks import pathway_sweep_task

    pathway_sweep_task.apply_async(kwargs={"helper": True}, retry=True)


def wait_until(check: Any, seconds: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def kill_mid_sweep(redis_url: str, logdir: Path) -> tuple[bool, dict[str, Any]]:
    total = make_all_due()
    log = logdir / "worker.log"
    worker = start_worker(redis_url, log, batch=10)
    send_sweep()
    # Kill once some batches are committed and many remain.
    started = wait_until(lambda: due_count() < total * 0.9, 120, 0.05)
    left_at_kill = due_count()
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    second = start_worker(redis_url, log, batch=10)
    # acks_late + reject_on_worker_lost: the killed task is delivered again;
    # a new sweep is also sent, as beat would.
    send_sweep()
    finished = wait_until(lambda: due_count() == 0, 300, 0.5)
    left = due_count()
    duplicates = duplicate_tasks()
    stop(second)
    figures = {
        "episodes made due": total,
        "killed with due left": left_at_kill,
        "due after restart": left,
        "duplicate tasks": duplicates,
    }
    return started and finished and left == 0 and duplicates == 0, figures


# ----------------------------------------------------------------- main --
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--bulk-writers", type=int, default=4)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--outage", type=float, default=60)
    parser.add_argument("--redis-port", type=int, default=6390)
    args = parser.parse_args()
    if args.redis_port == 6379:
        raise SystemExit("use a Redis of the bench's own, not the shared one on 6379")

    redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
    logdir = ROOT / "var" / "bench-faults"
    logdir.mkdir(parents=True, exist_ok=True)
    redis = start_redis(args.redis_port)
    setup_django(redis_url)
    key, episodes, people = prepare(args.patients)
    port = free_port()
    web = start_gunicorn(port, redis_url)
    ok = True
    try:
        print(
            f"vcftrack fault bench: {len(episodes)} active episodes, {len(people)} patients; "
            f"gunicorn 4 workers on 127.0.0.1:{port}; own Redis on {args.redis_port}"
        )

        print(
            f"1. load: {args.clients} mixed clients + {args.bulk_writers} bulk writers, "
            f"{args.seconds:.0f} s"
        )
        before = deadlocks()
        tally = run_load(port, key, episodes, people, args.clients, args.bulk_writers, args.seconds)
        found = deadlocks() - before
        report_load("load", tally, args.seconds)
        print(f"    PostgreSQL deadlocks: {found}")
        ok &= found == 0 and tally.server_errors == 0 and not tally.errors

        print("2. kill -9 of a Celery worker mid-sweep")
        swept, figures = kill_mid_sweep(redis_url, logdir)
        print(f"    {figures}; {'nothing lost' if swept else 'FAILED'}")
        ok &= swept

        print(f"3. Redis stopped for {args.outage:.0f} s under load (6 clients)")
        worker = start_worker(redis_url, logdir / "worker.log", batch=50)
        stop(redis)
        tally = run_load(port, key, episodes, people, 5, 1, args.outage, seed=77)
        report_load("during the outage", tally, args.outage)
        ok &= tally.server_errors == 0
        redis = start_redis(args.redis_port)
        tally_after = run_load(port, key, episodes, people, 5, 1, 10, seed=99)
        report_load("after it", tally_after, 10)
        ok &= tally_after.server_errors == 0
        due = make_all_due()
        send_sweep()
        recovered = wait_until(lambda: due_count() == 0, 180, 0.5)
        print(
            f"    sweep after the outage: {due} episodes due, "
            f"{'all evaluated' if recovered else f'{due_count()} left'}"
        )
        ok &= recovered
        stop(worker)
    finally:
        stop(web)
        stop(redis)
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
