"""The pathway sweep: evaluate only the episodes whose next review has come.

Cost grows with what is due, not with the panel: the claim is an index range
scan on ``next_review_at``. Batches are claimed with ``SELECT ... FOR UPDATE
SKIP LOCKED``, so any number of workers can share a run; a second beat, a
retried task or a worker killed mid-batch creates no duplicate and loses no
task (its transaction rolls back and the rows are claimed again).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import DatabaseError, transaction
from django.db.models import F, Value
from django.db.models.functions import Least

from pathways.loaders.facts import load_facts
from pathways.models import Episode, Programme, ProgrammeStatus
from pathways.services.evaluation import (
    BatchOutcome,
    evaluate_batch,
    evaluate_patients,
    midnight,
)
from patients.models import Clinic

logger = logging.getLogger(__name__)

# A row that keeps failing is pushed back by this much (healthchecks does
# alert_after = now + 1h), so one bad episode cannot stall the sweep.
RETRY_AFTER = timedelta(hours=1)


@dataclass
class SweepReport:
    batches: int = 0
    outcome: BatchOutcome = field(default_factory=BatchOutcome)
    failed_ids: list[uuid.UUID] = field(default_factory=list)

    def summary(self) -> str:
        o = self.outcome
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(o.by_status.items())) or "none"
        return (
            f"episodes evaluated: {o.evaluated}; tasks raised: {o.raised}; "
            f"tasks closed: {o.closed}; reopened: {o.reopened}; updated: {o.updated}; "
            f"transitions: {o.transitions}; failed: {o.failed}; batches: {self.batches}; "
            f"by status: {statuses}"
        )


def pathway_sweep(
    *,
    now: datetime,
    as_of: date | None = None,
    batch_size: int = 500,
    max_batches: int | None = None,
) -> SweepReport:
    """Evaluate every episode due for review.

    1. For each clinic time zone, the cutoff is ``now`` (or, replaying a
       date, the clinic's midnight after ``as_of``).
    2. Claim a batch of due episodes with SKIP LOCKED in a short transaction
       (episodes of patients without a programme), then batches of due
       programmes (a patient with a programme is one unit: V2.1).
    3. Evaluate and persist the batch in bulk; the new ``next_review_at`` lies
       after the cutoff, so the loop ends when nothing is due.
    4. A batch that fails is retried one row at a time; a row that still
       fails is marked with its error and pushed back an hour.
    """
    report = SweepReport()
    zones: dict[str, list[uuid.UUID]] = {}
    for cid, zone_name in Clinic.objects.values_list("id", "timezone"):
        zones.setdefault(zone_name, []).append(cid)
    for tz_name, clinic_ids in zones.items():
        tz = ZoneInfo(tz_name)
        if as_of is None:
            cutoff, inclusive, day = now, True, now.astimezone(tz).date()
        else:
            cutoff, inclusive, day = midnight(as_of + timedelta(days=1), tz), False, as_of
        for sweep in (_sweep_batch, _sweep_programmes):
            while max_batches is None or report.batches < max_batches:
                claimed = sweep(
                    clinic_ids, cutoff, inclusive, day, now=now, batch_size=batch_size,
                    report=report,
                )  # fmt: skip
                if not claimed:
                    break
                report.batches += 1
    return report


def pathway_sweep_helpers(*, now: datetime, batch_size: int, parallelism: int) -> int:
    """How many helper sweeps to enqueue beside this one: one per further
    batch that is due now, up to ``parallelism`` sweeps in all.

    A beat tick enqueues one sweep task, which one worker process runs; when
    a clinic's morning brings thousands of due episodes, helpers let the
    other worker processes share the run (SKIP LOCKED keeps them apart). A
    helper that finds nothing left simply ends: surplus helpers cost one
    query each, never a duplicate. The count reads at most
    ``batch_size * parallelism`` index entries.
    """
    if parallelism <= 1:
        return 0
    due = (
        Episode.objects.active()
        .filter(next_review_at__lte=now, programme__isnull=True)
        .order_by()
        .values("id")[: batch_size * parallelism]
        .count()
    ) + (
        Programme.objects.filter(status=ProgrammeStatus.ACTIVE, next_review_at__lte=now)
        .order_by()
        .values("id")[: batch_size * parallelism]
        .count()
    )
    batches = -(-due // batch_size)
    return max(0, min(parallelism, batches) - 1)


def _due(clinic_ids: list[uuid.UUID], cutoff: datetime, inclusive: bool) -> object:
    lookup = "next_review_at__lte" if inclusive else "next_review_at__lt"
    return Episode.objects.active().filter(
        clinic_id__in=clinic_ids, programme__isnull=True, **{lookup: cutoff}
    )


def _sweep_batch(
    clinic_ids: list[uuid.UUID],
    cutoff: datetime,
    inclusive: bool,
    day: date,
    *,
    now: datetime,
    batch_size: int,
    report: SweepReport,
) -> int:
    with transaction.atomic():
        qs = _due(clinic_ids, cutoff, inclusive)
        ids = list(
            qs.select_for_update(skip_locked=True, of=("self",))  # type: ignore[attr-defined]
            .order_by("next_review_at")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        try:
            with transaction.atomic():
                report.outcome.add(evaluate_batch(ids, now=now, as_of=day))
            return len(ids)
        except Exception:
            logger.exception("sweep batch of %d failed; retrying one by one", len(ids))
        for eid in ids:
            try:
                with transaction.atomic():
                    report.outcome.add(evaluate_batch([eid], now=now, as_of=day))
            except Exception as exc:
                logger.exception("episode %s failed in the sweep", eid)
                report.outcome.failed += 1
                report.failed_ids.append(eid)
                retry_at = max(now, cutoff) + RETRY_AFTER
                Episode.objects.filter(id=eid).update(
                    next_review_at=retry_at,
                    sweep_failures=Least(F("sweep_failures") + 1, Value(32000)),
                    sweep_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
        return len(ids)


def _sweep_programmes(
    clinic_ids: list[uuid.UUID],
    cutoff: datetime,
    inclusive: bool,
    day: date,
    *,
    now: datetime,
    batch_size: int,
    report: SweepReport,
) -> int:
    """Claim due programmes with SKIP LOCKED and evaluate each patient whole."""
    lookup = "next_review_at__lte" if inclusive else "next_review_at__lt"
    # A patient has several episodes: fewer patients make a batch of the same work.
    size = max(1, batch_size // 4)
    with transaction.atomic():
        claimed = list(
            Programme.objects.filter(
                clinic_id__in=clinic_ids, status=ProgrammeStatus.ACTIVE, **{lookup: cutoff}
            )
            .select_for_update(skip_locked=True)
            .order_by("next_review_at")
            .values_list("id", "patient_id")[:size]
        )
        if not claimed:
            return 0
        patients = [pid for _id, pid in claimed]
        try:
            with transaction.atomic():
                report.outcome.add(evaluate_patients(patients, now=now, as_of=day))
            return len(claimed)
        except Exception:
            logger.exception(
                "sweep batch of %d programmes failed; retrying one by one", len(claimed)
            )
        for prog_id, pid in claimed:
            try:
                with transaction.atomic():
                    report.outcome.add(evaluate_patients([pid], now=now, as_of=day))
            except Exception as exc:
                logger.exception("programme of patient %s failed in the sweep", pid)
                report.outcome.failed += 1
                report.failed_ids.append(prog_id)
                Programme.objects.filter(id=prog_id).update(
                    next_review_at=max(now, cutoff) + RETRY_AFTER,
                    sweep_failures=Least(F("sweep_failures") + 1, Value(32000)),
                    sweep_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
        return len(claimed)


__all__ = [
    "DatabaseError",
    "SweepReport",
    "load_facts",
    "pathway_sweep",
    "pathway_sweep_helpers",
]
