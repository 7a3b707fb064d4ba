"""Celery: the broker, reliability, time limits and the beat schedule."""

from __future__ import annotations

from pathlib import Path

from vcftrack.core.env import envbool, envint

# The settings; ``broker`` is called by settings.py with REDIS_URL and VAR_DIR.
__all__ = [
    "CELERY_ACCEPT_CONTENT",
    "CELERY_BEAT_SCHEDULE",
    "CELERY_BEAT_SCHEDULER",
    "CELERY_RESULT_BACKEND",
    "CELERY_RESULT_SERIALIZER",
    "CELERY_TASK_ACKS_LATE",
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_TASK_IGNORE_RESULT",
    "CELERY_TASK_REJECT_ON_WORKER_LOST",
    "CELERY_TASK_SERIALIZER",
    "CELERY_TASK_SOFT_TIME_LIMIT",
    "CELERY_TASK_TIME_LIMIT",
    "CELERY_TIMEZONE",
    "CELERY_WORKER_PREFETCH_MULTIPLIER",
    "DIGEST_INTERVAL_SECONDS",
    "OUTBOX_DISPATCH_INTERVAL_SECONDS",
    "SWEEP_INTERVAL_SECONDS",
]


def broker(redis_url: str | None, var_dir: Path) -> tuple[str, dict[str, object]]:
    """The broker URL and its transport options: Redis, else the filesystem under ``var_dir``."""
    if redis_url:
        return redis_url, {"visibility_timeout": 3600}
    # Embedded default: kombu's filesystem transport, same code path as Redis.
    # All its state lives under ./var: the messages and the exchange tables
    # (``control_folder``, else kombu writes ``./control`` in the working dir).
    broker_dir = var_dir / "broker"
    for sub in ("out", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "control_folder": str(broker_dir / "control"),
        "data_folder_in": str(broker_dir / "out"),
        "data_folder_out": str(broker_dir / "out"),
        "data_folder_processed": str(broker_dir / "processed"),
        "store_processed": False,
    }


CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Reliability: a task is acknowledged only after it ran, and re-queued if the
# worker dies under it; one message at a time per process; JSON only, and task
# arguments are ids (no patient data sits in the broker).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 270, minimum=1)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
SWEEP_INTERVAL_SECONDS = envint("SWEEP_INTERVAL_SECONDS", 300, minimum=1)
OUTBOX_DISPATCH_INTERVAL_SECONDS = envint("OUTBOX_DISPATCH_INTERVAL_SECONDS", 10, minimum=1)
DIGEST_INTERVAL_SECONDS = envint("DIGEST_INTERVAL_SECONDS", 600, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "pathway-sweep": {
        "task": "pathways.tasks.pathway_sweep_task",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
    },
    "due-task-notifications": {
        "task": "notifications.tasks.notify_due_tasks_task",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
    },
    # Each person's digest goes at their own hour in their clinic's zone: the
    # task runs often and queues the digests whose hour has come (once a day).
    "daily-digest": {
        "task": "notifications.tasks.send_daily_digest_task",
        "schedule": float(DIGEST_INTERVAL_SECONDS),
    },
    # The dashboard's logs of open tasks and phases grow with every write;
    # summing them keeps the dashboard's read a few thousand rows.
    "dashboard-counts": {
        "task": "pathways.tasks.compact_dashboard_counts_task",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
    },
    # Cohort-facts rows the evaluation pass could not write (closed episodes,
    # a lost re-evaluation): the board is right without them, only slower.
    "cohort-facts": {
        "task": "pathways.tasks.fill_cohort_facts_task",
        "schedule": 3600.0,
    },
    # The outbox is also kicked after every commit that writes to it; this
    # catches retries and anything a dead worker left behind.
    "outbox-dispatch": {
        "task": "notifications.tasks.dispatch_outbox_task",
        "schedule": float(OUTBOX_DISPATCH_INTERVAL_SECONDS),
    },
}
