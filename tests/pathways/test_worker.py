"""A real Celery worker with beat, against Redis and the test database, raises tasks."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from pathways.levels import levels_to_mask
from pathways.models import Episode, FollowUpTask

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_sweep_an_episode_and_raise_its_tasks(patient, tmp_path):
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        if os.environ.get("VCFTRACK_REQUIRE_WORKER"):
            pytest.fail("VCFTRACK_REQUIRE_WORKER is set but REDIS_URL is not")
        pytest.skip("needs Redis: set REDIS_URL")
    today = timezone.localdate()
    # An episode written straight into the table (as an import would), never
    # evaluated: only the beat-driven sweep can raise its tasks.
    episode = Episode.objects.create(
        id=uuid.uuid4(),
        patient=patient,
        clinic=patient.clinic,
        levels_mask=levels_to_mask(["L1"]),
        onset_date=today - dt.timedelta(days=2),
        identified_date=today - dt.timedelta(days=1),
        etiology="osteoporotic",
        neuro_status="unknown",
        recorded_on=today,
        version=0,
        created_at=timezone.now(),
        updated_at=timezone.now(),
        next_review_at=timezone.now() - dt.timedelta(seconds=1),
    )
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "worker-test"),
        "SWEEP_INTERVAL_SECONDS": "1",
    }
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
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
            str(tmp_path / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if FollowUpTask.objects.filter(episode=episode).exists():
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    output = (tmp_path / "worker.log").read_text()
    rules = set(FollowUpTask.objects.filter(episode=episode).values_list("rule", flat=True))
    assert "neuro_exam" in rules, output[-3000:]
    assert {"red_flag_screen", "osteoporosis_rx_start", "calcitonin_start"} <= rules
    episode.refresh_from_db()
    assert episode.phase == "triage"
    assert episode.next_review_at > timezone.now() - dt.timedelta(seconds=5)
    assert "pathways.tasks.pathway_sweep_task" in output
