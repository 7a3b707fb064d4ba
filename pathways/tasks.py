"""Celery tasks: thin. They take ids and dates, never model objects or PHI."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.conf import settings
from django.utils import timezone


@shared_task(name="pathways.tasks.pathway_sweep_task")
def pathway_sweep_task(as_of: str | None = None, helper: bool = False) -> str:
    """Beat's sweep. When more than one batch is due, it first enqueues helper
    sweeps (``helper=True``, which never fan out again) so that the other
    worker processes share the run."""
    from pathways.services import pathway_sweep, pathway_sweep_helpers

    now = timezone.now()
    if not helper and as_of is None:
        helpers = pathway_sweep_helpers(
            now=now,
            batch_size=settings.PATHWAY_SWEEP_BATCH_SIZE,
            parallelism=settings.PATHWAY_SWEEP_PARALLELISM,
        )
        for _ in range(helpers):
            pathway_sweep_task.delay(helper=True)
    report = pathway_sweep(
        now=now,
        as_of=date.fromisoformat(as_of) if as_of else None,
        batch_size=settings.PATHWAY_SWEEP_BATCH_SIZE,
    )
    return report.summary()


@shared_task(name="pathways.tasks.compact_dashboard_counts_task")
def compact_dashboard_counts_task() -> bool:
    """Beat: sum the dashboard's logs of open tasks and phases (each write
    appends to them; pathways/dashboard/counts.py)."""
    from pathways.dashboard.counts import compact

    return compact(timezone.now())


@shared_task(name="pathways.tasks.fill_cohort_facts_task")
def fill_cohort_facts_task() -> int:
    """Beat: write the dashboard's cohort-facts rows that are missing (an
    episode closed since its last evaluation, a re-evaluation a crash lost);
    until then the board computes those episodes live."""
    from pathways.dashboard.facts_table import fill_missing_rows

    return fill_missing_rows()
