"""What the indicators test of one episode, as correlated subqueries over
an episode queryset annotated with ``windows()``: what the stored cohort
facts (``CohortFacts``) hold, and what the board computes live for an
episode whose row is missing.

Nothing here depends on today: each window is counted from identification.
The one test that does (is an open 3-month review past its overdue date?)
compares the stored overdue date with today when the board is read
(``review_due_live`` for an episode without a row).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import (
    BooleanField,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from pathways.dashboard.definitions import WEEKS_12, WEEKS_16, WEEKS_18, WEEKS_52
from pathways.models import FollowUpTask, Observation, TaskStatus
from patients.models import ANTI_OSTEOPOROSIS, BoneDensity, Medication

DXA_LOOKBACK_DAYS = 365
REVIEW_RULE = "augmentation_review_3m"
FALLS_RULE = "falls_prevention"
# A 3-month review in one of these has fallen due whatever its dates.
REVIEW_CLOSED = (TaskStatus.DONE, TaskStatus.NOT_APPLICABLE, TaskStatus.MISSED)


def plus(days: int) -> ExpressionWrapper:
    return ExpressionWrapper(F("identified_date") + timedelta(days=days), output_field=DateField())


def windows() -> dict[str, ExpressionWrapper]:
    """The dates the facts are measured against, counted from identification."""
    return {
        "d84": plus(WEEKS_12),
        "d112": plus(WEEKS_16),
        "d126": plus(WEEKS_18),
        "d364": plus(WEEKS_52),
        "dxa_from": plus(-DXA_LOOKBACK_DAYS),
    }


def _either(a: Exists, b: Exists) -> ExpressionWrapper:
    return ExpressionWrapper(a | b, output_field=BooleanField())


def followup() -> ExpressionWrapper:
    """A contact in weeks 12-18: an observation, or a task a person closed as done."""
    person_done = FollowUpTask.objects.filter(
        episode_id=OuterRef("pk"), status=TaskStatus.DONE, deleted_at__isnull=True
    )
    return _either(
        Exists(
            Observation.objects.filter(
                episode_id=OuterRef("pk"),
                deleted_at__isnull=True,
                effective_date__gte=OuterRef("d84"),
                effective_date__lte=OuterRef("d126"),
            )
        ),
        Exists(
            person_done.filter(
                closed_by_person=True,
                closed_on__gte=OuterRef("d84"),
                closed_on__lte=OuterRef("d126"),
            )
        ),
    )


def record_facts() -> dict[str, Any]:
    """The patient's drugs and DXA scans and the episode's contacts."""
    meds = Medication.objects.filter(
        patient_id=OuterRef("patient_id"), deleted_at__isnull=True, drug__in=list(ANTI_OSTEOPOROSIS)
    )
    not_stopped_before_identified = Q(stop_date__isnull=True) | Q(
        stop_date__gte=OuterRef("identified_date")
    )
    first_rx = (
        meds.filter(not_stopped_before_identified)
        .order_by()
        .values("patient_id")
        .annotate(first=Min("start_date"))
        .values("first")
    )
    return {
        "first_rx": Subquery(first_rx[:1], output_field=DateField()),
        "rx_52w": Exists(
            meds.filter(start_date__lte=OuterRef("d364")).filter(
                Q(stop_date__isnull=True) | Q(stop_date__gt=OuterRef("d364"))
            )
        ),
        "dxa_12w": Exists(
            BoneDensity.objects.filter(
                patient_id=OuterRef("patient_id"),
                deleted_at__isnull=True,
                performed_date__gte=OuterRef("dxa_from"),
                performed_date__lte=OuterRef("d84"),
            )
        ),
        "followup": followup(),
    }


def _task(rule: str) -> QuerySet[FollowUpTask]:
    return FollowUpTask.objects.filter(
        episode_id=OuterRef("pk"), rule=rule, occurrence=1, deleted_at__isnull=True
    )


def _review() -> QuerySet[FollowUpTask]:
    return _task(REVIEW_RULE)


def task_facts() -> dict[str, Any]:
    """The falls assessment (the episode's task, or in version 2 the
    patient's programme task) and the 3-month review's state."""
    programme_falls = FollowUpTask.objects.filter(
        patient_id=OuterRef("patient_id"),
        episode__isnull=True,
        rule=FALLS_RULE,
        occurrence=1,
        deleted_at__isnull=True,
    )
    done_by_d84 = Q(status=TaskStatus.DONE, closed_on__lte=OuterRef("d84"))
    return {
        "falls_12w": _either(
            Exists(_task(FALLS_RULE).filter(done_by_d84)),
            Exists(programme_falls.filter(done_by_d84)),
        ),
        "review_open": Exists(_review().filter(status=TaskStatus.OPEN)),
        "review_closed": Exists(_review().filter(status__in=REVIEW_CLOSED)),
        "review_on_time": Exists(
            _review().filter(status=TaskStatus.DONE, closed_on__lt=F("overdue_from"))
        ),
        "review_overdue_from": Subquery(
            _review().filter(status=TaskStatus.OPEN).values("overdue_from")[:1],
            output_field=DateField(),
        ),
    }


def review_due_live(today: date) -> Exists:
    return Exists(
        _review().filter(
            Q(status__in=REVIEW_CLOSED) | Q(status=TaskStatus.OPEN, overdue_from__lte=today)
        )
    )


def stored_facts() -> dict[str, Any]:
    """Every column of a ``CohortFacts`` row but the dates, computed live."""
    return {**record_facts(), **task_facts()}
