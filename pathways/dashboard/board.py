"""The board: every cohort indicator for a period, month by month, and the
median time to treatment, aggregated in SQL in one query whatever the panel
size; kept two minutes in the cache."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import DateField
from django.db.models.functions import TruncMonth

from pathways.dashboard.cohort import FLAGS, cohort, eligible_sql, flag_sql
from pathways.dashboard.definitions import INDICATORS, IndicatorValue

# One row of the board's query: a month's cohort count and each indicator's
# numerator and denominator (days None), or a days-to-treatment value and
# how many treated episodes took it (month None).
Row = Sequence[Any]


@dataclass
class Dashboard:
    start: date
    end: date
    today: date
    cohort: int
    values: list[IndicatorValue]
    median_days_to_treatment: float | None
    treated: int
    months: list[dict[str, Any]] = field(default_factory=list)


# The cohort is computed once, not folded into the outer query: a
# folded CASE that falls back to a subquery (an episode with no stored row,
# an open 3-month review) would run once for every SUM naming it.
_FENCE = " LIMIT -1 OFFSET 0" if connection.vendor == "sqlite" else " OFFSET 0"


def _days_sql() -> str:
    if connection.vendor == "postgresql":
        return "(c.first_rx - c.identified_date)"
    return "CAST(julianday(c.first_rx) - julianday(c.identified_date) AS INTEGER)"


def _board_sql(inner_sql: str, today: date) -> tuple[str, list[date]]:
    """Two histograms over one cohort: the counts per month (a dozen rows),
    then the treated episodes per days-to-treatment (a few hundred; month
    NULL). Grouping by both at once gave ~3,100 rows at all ten clinics of
    the benchmark, each summed again in Python."""
    columns = ["COUNT(*)"]
    params: list[date] = []
    for ind in INDICATORS:
        eligible, eligible_params = eligible_sql(ind.code, today)
        flag = flag_sql(ind.numerator_field)
        columns.append(f"SUM(CASE WHEN {eligible} AND {flag} THEN 1 ELSE 0 END)")
        columns.append(f"SUM(CASE WHEN {eligible} THEN 1 ELSE 0 END)")
        params += eligible_params + eligible_params
    days = _days_sql()
    blanks = ", ".join(["0"] * (2 * len(INDICATORS)))
    # The cohort is referenced twice: PostgreSQL computes it once.
    sql = (
        f"WITH c AS ({inner_sql}{_FENCE}) "  # noqa: S608 - no user input
        f"SELECT c.month, NULL AS days, {', '.join(columns)} FROM c GROUP BY c.month "
        f"UNION ALL SELECT NULL, {days}, COUNT(*), {blanks} FROM c "
        f"WHERE c.first_rx IS NOT NULL GROUP BY {days}"
    )
    return sql, params


def dashboard(
    clinic_ids: list[uuid.UUID], start: date, end: date, today: date, *, stored: bool = True
) -> Dashboard:
    """All cohort indicators for the period, month by month, and the median
    time to treatment: one query.

    The cohort with its per-episode tests is a common table expression,
    aggregated by month and, separately, by days-to-treatment, so each
    subquery runs once per episode (Django would repeat an annotation's
    subquery in every FILTER that names it). The rows are a dozen months
    and a few hundred days; the totals and the median are summed from them.

    The facts that need a probe of the patient's record come from the
    stored ``CohortFacts`` rows (``stored=False``: computed live, the
    reference).
    """
    if not clinic_ids:
        # No clinic to show (a user with no membership, or a clinic filter
        # naming someone else's clinic): an empty board, no query (an empty
        # IN () cannot be compiled into the derived table).
        return _aggregate([], start, end, today)
    inner = (
        cohort(clinic_ids, start, end, today, stored=stored)
        .annotate(month=TruncMonth("identified_date", output_field=DateField()))
        .order_by()
        .values("month", "identified_date", "first_rx", "d112", *FLAGS)
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    sql, params = _board_sql(inner_sql, today)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*inner_params, *params])
        raw = cursor.fetchall()
    return _aggregate(raw, start, end, today)


def _sum(a: list[int], b: list[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def _histogram(raw: Sequence[Row], width: int) -> tuple[dict[date, list[int]], dict[int, int]]:
    """Counts per month, and treated episodes per days-to-treatment."""
    by_month: dict[date, list[int]] = {}
    treated_days: dict[int, int] = {}
    for row in raw:
        if row[0] is not None:
            by_month[_as_date(row[0])] = [int(v or 0) for v in row[2 : 2 + width]]
        elif row[1] is not None:
            # A drug already active at identification counts as day 0.
            key = max(0, _days(row[1]))
            treated_days[key] = treated_days.get(key, 0) + int(row[2])
    return by_month, treated_days


def _aggregate(raw: Sequence[Row], start: date, end: date, today: date) -> Dashboard:
    """The board from the month x days histogram rows."""
    width = 1 + 2 * len(INDICATORS)
    by_month, treated_days = _histogram(raw, width)
    months = []
    totals = [0] * width
    # Every month of the period, those with no episode too (a gap in the
    # chart, not a missing month).
    for month in _months(start, end):
        counts = by_month.get(month, [0] * width)
        totals = _sum(totals, counts)
        entry: dict[str, Any] = {"month": month, "cohort": counts[0]}
        for i, ind in enumerate(INDICATORS):
            num, den = counts[1 + 2 * i], counts[2 + 2 * i]
            entry[ind.code] = round(100.0 * num / den, 1) if den else None
        months.append(entry)
    values = [
        IndicatorValue(ind, totals[1 + 2 * i], totals[2 + 2 * i])
        for i, ind in enumerate(INDICATORS)
    ]
    treated = sum(treated_days.values())
    return Dashboard(
        start, end, today, totals[0], values, _median(treated_days, treated), treated, months
    )


def _months(start: date, end: date) -> list[date]:
    out = []
    month = start.replace(day=1)
    while month <= end:
        out.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def _median(histogram: dict[int, int], n: int) -> float | None:
    if not n:
        return None
    wanted = sorted({(n - 1) // 2, n // 2})
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        for position in wanted:
            if seen <= position < seen + count:
                found.append(value)
        seen += count
    return sum(found) / len(found)


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _days(value: timedelta | int | float) -> int:
    if isinstance(value, timedelta):
        return value.days
    return int(value)


# The cohort indicators are an aggregate over months of a panel: recomputing
# them on every view would cost ~150 ms on a 10,000-episode clinic. They are
# kept this long (per process) and the page says when they were computed,
# with a link to recompute at once.
CACHE_SECONDS = 120


def dashboard_cached(
    clinic_ids: list[uuid.UUID],
    start: date,
    end: date,
    today: date,
    *,
    now: datetime,
    fresh: bool = False,
) -> tuple[Dashboard, datetime]:
    """``dashboard(...)`` and when it was computed, from the cache when fresh enough."""
    ids = ",".join(sorted(str(c) for c in clinic_ids))
    digest = hashlib.sha256(f"{ids}|{start}|{end}|{today}".encode()).hexdigest()
    key = f"vcftrack:fls:{digest}"
    if not fresh:
        hit: tuple[Dashboard, datetime] | None = cache.get(key)
        if hit is not None:
            return hit
    board = dashboard(clinic_ids, start, end, today)
    cache.set(key, (board, now), CACHE_SECONDS)
    return board, now
