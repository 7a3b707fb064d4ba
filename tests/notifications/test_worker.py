"""Real Celery workers (with beat) against Redis and PostgreSQL: escalation,
digest, a webhook that fails twice, and a worker killed mid-send."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import Escalation, OutgoingEmail, Preference, WebhookDelivery
from notifications.webhooks import verify
from patients.models import Membership
from tests.factories import patient_changes

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Receiver:
    """127.0.0.1 only. Verifies each signature; fails each delivery ``fail_each`` times.
    De-duplicates on the delivery id, as docs/webhooks.md tells receivers to."""

    def __init__(self, fail_each: int = 0, hold_first: bool = False) -> None:
        self.fail_each = fail_each
        self.secret = ""
        self.requests: list[str] = []
        self.processed: set[str] = set()
        self.bad_signatures = 0
        self.hold = threading.Event() if hold_first else None
        self.got_first = threading.Event()
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["Vcftrack-Delivery"]
                me.requests.append(delivery)
                if not verify(me.secret, self.headers["Vcftrack-Signature"], body):
                    me.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                if me.hold is not None and not me.got_first.is_set():
                    me.got_first.set()
                    me.hold.wait(30)  # the worker is killed while it waits for us
                    return
                code = 500 if me.requests.count(delivery) <= me.fail_each else 200
                if code == 200:
                    me.processed.add(delivery)
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/vcf"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def start_worker(tmp_path: Path, name: str, **extra: str) -> subprocess.Popen[bytes]:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs Redis: set REDIS_URL")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "worker-test"),
        "SWEEP_INTERVAL_SECONDS": "1",
        "OUTBOX_DISPATCH_INTERVAL_SECONDS": "1",
        "DIGEST_INTERVAL_SECONDS": "1",
        "WEBHOOK_RETRY_BASE_SECONDS": "1",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
        "WEBHOOK_ALLOW_HTTP": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        **extra,
    }
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "vcftrack",
            "worker",
            "--beat",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--schedule",
            str(tmp_path / f"{name}-beat"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own process group: the embedded beat is a child process, and
        # "kill -9 of the worker" kills both.
        start_new_session=True,
    )


def kill(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop(proc: subprocess.Popen[bytes]) -> None:
    kill(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        kill(proc, signal.SIGKILL)
        proc.wait()


def wait_for(condition: Any, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def subscribe(clinic: Any, owner: Any, url: str, types: list[str]) -> tuple[Any, str]:
    from notifications.models import WebhookAllowedUrl
    from notifications.webhooks import subscription_create

    WebhookAllowedUrl.objects.create(clinic=clinic, url_prefix=url.rsplit("/", 1)[0] + "/")
    return subscription_create(
        owner=owner, clinic=clinic, url=url, event_types=types, now=timezone.now()
    )


def test_overdue_task_escalates_digest_is_mailed_webhook_retries_to_success(
    alice, bob, clinic_a, patient, tmp_path, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_ALLOW_HTTP = True
    from pathways.services import episode_create

    Membership.objects.filter(user=alice).update(lead=True)
    Preference.objects.create(user=alice, digest_hour=0)
    receiver = Receiver(fail_each=2)
    _, receiver.secret = subscribe(clinic_a, alice, receiver.url, ["task.escalated"])
    today = timezone.now().date()
    # Evaluated today: its urgent neuro exam is past its grace already.
    episode_create(
        patient=patient,
        levels=["L1"],
        onset_date=today - dt.timedelta(days=60),
        identified_date=today - dt.timedelta(days=59),
        etiology="osteoporotic",
        neuro_status="unknown",
        now=timezone.now(),
    )
    proc = start_worker(tmp_path, "w1")
    try:
        done = wait_for(
            lambda: (
                WebhookDelivery.objects.filter(status="sent").exists()
                and OutgoingEmail.objects.filter(key__startswith="digest:", status="sent").exists()
            )
        )
    finally:
        stop(proc)
        receiver.close()
    log = (tmp_path / "w1.log").read_text()
    assert done, log[-3000:]
    escalation = Escalation.objects.get(task__rule="neuro_exam")
    assert escalation.target == "physicians"
    assert bob.notifications.filter(kind="escalated", task=escalation.task).count() == 1
    delivery = WebhookDelivery.objects.get(event_key__contains=str(escalation.task_id))
    assert [a.status_code for a in delivery.log.all()] == [500, 500, 200]
    assert receiver.bad_signatures == 0
    mails = list((tmp_path / "mail").iterdir())
    text = "".join(p.read_text() for p in mails)
    assert "alice@example.org" in text
    assert "Greta Hartmann" in text
    assert "text/html" in text


def test_a_worker_killed_mid_send_delivers_exactly_once(
    alice, clinic_a, patient, tmp_path, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_ALLOW_HTTP = True
    from pathways.services.patient_facts import patient_update

    receiver = Receiver(hold_first=True)
    _, receiver.secret = subscribe(clinic_a, alice, receiver.url, ["patient.updated"])
    # Committed with its delivery row, and no worker running: "crash before send".
    patient_update(patient=patient, **patient_changes({"family_name": "Hart"}), now=timezone.now())
    delivery = WebhookDelivery.objects.get()
    first = start_worker(tmp_path, "w1", OUTBOX_LEASE_SECONDS="3")
    try:
        assert receiver.got_first.wait(90), (tmp_path / "w1.log").read_text()[-3000:]
        kill(first, signal.SIGKILL)  # kill -9 while the request is in flight
        first.wait()
        delivery.refresh_from_db()
        assert delivery.status == "sending"
        second = start_worker(tmp_path, "w2", OUTBOX_LEASE_SECONDS="3")
        try:
            assert wait_for(lambda: WebhookDelivery.objects.filter(status="sent").exists())
            time.sleep(3)  # nothing more arrives
        finally:
            stop(second)
    finally:
        stop(first)
        receiver.close()
    assert receiver.processed == {str(delivery.pk)}
    assert receiver.requests == [str(delivery.pk)] * 2  # resent once, under the same id
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert delivery.attempts == 2
    # The killed worker's database session lingers until the server notices.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
