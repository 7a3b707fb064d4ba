"""FLS eligibility is declared once (``Indicator.window_days``, ``requires``,
``numerator_field``) and rendered twice: as a ``Q`` for the drill-down and as
SQL for the board's one query. On a varied panel (both pathway versions,
episodes up to 2½ years old, treated and untreated, reviews done on time,
late and missed) both renderings select the same episodes."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection

from pathways.dashboard.board import dashboard
from pathways.dashboard.cohort import FLAGS, cohort, drilldown, eligible_sql, flag_sql
from pathways.dashboard.definitions import INDICATORS
from pathways.dashboard.facts_table import fill_missing_rows
from pathways.demo import build_panel, save_rows
from pathways.models import CohortFacts, FollowUpTask, TaskStatus
from pathways.services import pathway_sweep
from patients.models import ANTI_OSTEOPOROSIS, Medication
from tests.factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied_panel(clinic_a: Any) -> None:
    for seed, version in ((11, "v1"), (12, "v2")):
        rows = build_panel(
            clinics=[clinic_a],
            patients=60,
            today=NOW.date(),
            now=NOW,
            rng=random.Random(seed),
            max_age_days=900,
            mrn_prefix=f"E{seed}-",
            pathway_version=version,
        )
        save_rows(rows, now=NOW)
    pathway_sweep(now=NOW)
    # Some treatments stopped after about seven months (not on treatment at
    # week 52, and before identification for a later fracture).
    meds = Medication.objects.filter(drug__in=list(ANTI_OSTEOPOROSIS)).order_by("id")
    for n, med in enumerate(meds):
        stop = med.start_date + timedelta(days=200)
        if n % 3 == 0 and stop <= NOW.date():
            recorded = max(med.recorded_on, stop)
            Medication.objects.filter(pk=med.pk).update(stop_date=stop, recorded_on=recorded)
    # The demo has nobody closing tasks: close some falls assessments and
    # 3-month reviews as done, on time, late and in the future of a past
    # ``today``, so the task-based indicators have both met and not met.
    for rule in ("falls_prevention", "augmentation_review_3m"):
        tasks = FollowUpTask.objects.filter(rule=rule, occurrence=1).order_by("id")
        for n, task in enumerate(tasks):
            if n % 3 == 2:
                continue
            closed_on = task.overdue_from + timedelta(days=-1 if n % 3 == 0 else 20)
            FollowUpTask.objects.filter(pk=task.pk).update(
                status=TaskStatus.DONE, closed_on=min(closed_on, NOW.date()), closed_at=NOW
            )
    # These updates bypass the services, which would have forgotten the
    # dashboard's stored rows of those episodes: write them again.
    CohortFacts.objects.all().delete()
    fill_missing_rows()


def _sql_ids(
    clinic_ids: list[Any], start: date, end: date, today: date, where: str, params: list[Any]
) -> set[Any]:
    inner = (
        cohort(clinic_ids, start, end, today)
        .order_by()
        .values("id", "identified_date", "first_rx", "d112", *FLAGS)
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    sql = f"SELECT c.id FROM ({inner_sql}) c WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*inner_params, *params])
        # SQLite hands raw ids back as hex text, PostgreSQL as UUIDs.
        return {uuid.UUID(str(row[0])) for row in cursor.fetchall()}


@pytest.mark.parametrize("days_ago", [0, 200])
def test_q_and_sql_eligibility_select_the_same_episodes(clinic_a, varied_panel, days_ago):
    today = NOW.date() - timedelta(days=days_ago)
    start, end = today - timedelta(days=3 * 366), today
    clinics = [clinic_a.id]
    board = {v.indicator.code: v for v in dashboard(clinics, start, end, today).values}
    for ind in INDICATORS:
        eligible, params = eligible_sql(ind.code, today)
        numerator = f"{eligible} AND {flag_sql(ind.numerator_field)}"
        by_sql = {
            "denominator": _sql_ids(clinics, start, end, today, eligible, params),
            "numerator": _sql_ids(clinics, start, end, today, numerator, params),
        }
        by_q = {
            which: set(
                drilldown(ind.code, which, clinics, start, end, today).values_list("id", flat=True)
            )
            for which in ("denominator", "numerator", "gap")
        }
        assert by_q["denominator"] == by_sql["denominator"], ind.code
        assert by_q["numerator"] == by_sql["numerator"], ind.code
        assert by_q["gap"] == by_sql["denominator"] - by_sql["numerator"], ind.code
        value = board[ind.code]
        assert (value.numerator, value.denominator) == (
            len(by_sql["numerator"]),
            len(by_sql["denominator"]),
        ), ind.code
    # The panel is varied enough for the comparison to mean something: every
    # indicator has eligible episodes, some met and some not.
    if days_ago == 0:
        shown = {c: (v.numerator, v.denominator) for c, v in board.items()}
        assert all(0 < num < den for num, den in shown.values()), str(shown)
