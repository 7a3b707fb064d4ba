"""Fracture-liaison (FLS) indicators for the physician dashboard (design.md).

The cohort of a period
    Alive episodes of the selected clinic(s) whose ``identified_date`` lies in
    [start, end], excluding pathologic (suspected or confirmed) and traumatic
    fractures: the indicators measure secondary prevention of fragility
    fractures, which those episodes are not on (they branch to work-up or
    surgery; pathway-spec "Branches").

Each indicator counts only the episodes whose measuring window has fully
elapsed by today ("eligible"): an episode identified last week cannot yet
have failed "DXA within 12 weeks". Numerator <= denominator by construction.

"Anti-osteoporosis drug" is ``patients.models.ANTI_OSTEOPOROSIS``
(bisphosphonates, denosumab, teriparatide, romosozumab, strontium ranelate);
a drug already active at identification counts as started on day 0.
Medications and DXA scans belong to the patient (they span episodes).

Target bands are the clinic's working targets, modelled on the FLS key
performance indicators of national fracture-liaison audits: a value at or
above ``green`` is on target, at or above ``amber`` needs attention, below it
is red. They are constants here on purpose: changing a target is a reviewed
code change, not a setting.

Everything is aggregated in SQL: one query for the month-by-month counts of
all six cohort indicators (the period's totals are their sums), one for the
median, one for overdue tasks by rule, whatever the panel size.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncMonth

from pathways.engine import get_ruleset
from pathways.models import Episode, FollowUpTask, Observation, Phase, TaskStatus
from patients.models import ANTI_OSTEOPOROSIS, BoneDensity, Medication

EXCLUDED_ETIOLOGIES = ("pathologic_suspected", "pathologic_confirmed", "traumatic")
WEEKS_12 = 84
WEEKS_16 = 112
WEEKS_18 = 126
WEEKS_52 = 364
DXA_LOOKBACK_DAYS = 365


@dataclass(frozen=True)
class Indicator:
    code: str
    title: str
    numerator: str
    denominator: str
    green: float
    amber: float
    # Eligibility in days since identification (window fully elapsed).
    window_days: int
    # True when a lower value is better (overdue share).
    lower_is_better: bool = False


INDICATORS: tuple[Indicator, ...] = (
    # Numerator: eligible episodes whose patient had an anti-osteoporosis drug
    # active at some time in [identified, identified + 16 weeks] (a start on or
    # before day 112 with no stop before identification).
    # Denominator: cohort episodes identified at least 16 weeks ago.
    # Why: pharmacotherapy should start at once (20 % refracture risk within
    # 12 months; pathway-spec osteoporosis_rx_start, seeds 000/003/004).
    Indicator(
        "treatment_16w",
        "Treatment started within 16 weeks",
        "anti-osteoporosis drug active by week 16",
        "episodes identified ≥ 16 weeks ago",
        green=80,
        amber=50,
        window_days=WEEKS_16,
    ),
    # Numerator: eligible episodes whose patient has a DXA performed between
    # 12 months before identification and identified + 12 weeks.
    # Denominator: cohort episodes identified at least 12 weeks ago.
    Indicator(
        "dxa_12w",
        "DXA within 12 weeks",
        "DXA from 1 year before to 12 weeks after",
        "episodes identified ≥ 12 weeks ago",
        green=80,
        amber=60,
        window_days=WEEKS_12,
    ),
    # Numerator: eligible episodes whose `falls_prevention` task was closed as
    # done (by a person or a completing fact) on or before identified + 12 weeks.
    # Denominator: cohort episodes identified at least 12 weeks ago.
    Indicator(
        "falls_12w",
        "Falls assessment done",
        "falls assessment done by week 12",
        "episodes identified ≥ 12 weeks ago",
        green=80,
        amber=60,
        window_days=WEEKS_12,
    ),
    # Numerator: episodes whose `augmentation_review_3m` task was closed as done
    # before its overdue date (due date + grace, after any snooze).
    # Denominator: cohort episodes whose 3-month review task is past its
    # overdue date or closed (done, not applicable, missed); a review the
    # engine cancelled (augmentation already done, etc.) does not count.
    Indicator(
        "review_3m_on_time",
        "3-month review done on time",
        "3-month review done within its grace",
        "3-month reviews that fell due",
        green=90,
        amber=70,
        window_days=0,
    ),
    # Numerator: eligible episodes with a follow-up contact between week 12 and
    # week 18 (day 84 to day 126): any observation recorded with an effective
    # date in that window, or a task closed as done by a person in it.
    # Denominator: cohort episodes identified at least 18 weeks ago.
    Indicator(
        "followup_16w",
        "Follow-up at 16 weeks",
        "contact recorded in weeks 12–18",
        "episodes identified ≥ 18 weeks ago",
        green=80,
        amber=60,
        window_days=WEEKS_18,
    ),
    # Numerator: eligible episodes whose patient has an anti-osteoporosis drug
    # active on identified + 52 weeks (started on or before, not stopped by then).
    # Denominator: cohort episodes identified at least 52 weeks ago that had
    # treatment started by week 16 (the numerator of treatment_16w).
    Indicator(
        "on_treatment_52w",
        "Still on treatment at 52 weeks",
        "anti-osteoporosis drug active at week 52",
        "treated by week 16, identified ≥ 52 weeks ago",
        green=80,
        amber=60,
        window_days=WEEKS_52,
    ),
)
BY_CODE = {i.code: i for i in INDICATORS}

# Overdue tasks by rule. Numerator: open tasks of the rule past their overdue
# date; denominator: open tasks of the rule that are raised (on a worklist).
OVERDUE_GREEN = 5.0
OVERDUE_AMBER = 15.0


# Below this many eligible episodes a percentage is not judged against its
# target ("100 % on target" on 1 of 1 says nothing).
SMALL_DENOMINATOR = 10


def band(pct: float | None, green: float, amber: float, *, lower_is_better: bool = False) -> str:
    if pct is None:
        return "none"
    if lower_is_better:
        return "green" if pct <= green else "amber" if pct <= amber else "red"
    return "green" if pct >= green else "amber" if pct >= amber else "red"


@dataclass
class IndicatorValue:
    indicator: Indicator
    numerator: int
    denominator: int

    @property
    def pct(self) -> float | None:
        if not self.denominator:
            return None
        return round(100.0 * self.numerator / self.denominator, 1)

    @property
    def band(self) -> str:
        return band(self.pct, self.indicator.green, self.indicator.amber)

    @property
    def gap(self) -> int:
        return self.denominator - self.numerator

    @property
    def small(self) -> bool:
        """Too few episodes for the percentage to mean much (1 of 1 is 100 %)."""
        return 0 < self.denominator < SMALL_DENOMINATOR

    @property
    def shown_band(self) -> str:
        return "none" if self.small else self.band


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


def _plus(days: int) -> ExpressionWrapper:
    return ExpressionWrapper(F("identified_date") + timedelta(days=days), output_field=DateField())


def cohort(clinic_ids: list[uuid.UUID], start: date, end: date, today: date) -> QuerySet[Episode]:
    """The period's cohort, each episode annotated with what the indicators test."""
    anti = list(ANTI_OSTEOPOROSIS)
    meds = Medication.objects.filter(
        patient_id=OuterRef("patient_id"), deleted_at__isnull=True, drug__in=anti
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
    person_done = FollowUpTask.objects.filter(
        episode_id=OuterRef("pk"), status=TaskStatus.DONE, deleted_at__isnull=True
    )

    def task_join(rule: str) -> FilteredRelation:
        # (episode, rule, occurrence) is unique: a LEFT JOIN of at most one row,
        # one index probe for every test on that task.
        return FilteredRelation(
            "tasks",
            condition=Q(tasks__rule=rule, tasks__occurrence=1, tasks__deleted_at__isnull=True),
        )

    def boolean(q: Q) -> Case:
        # Never NULL (a missing task or drug is "no"), so exclude() and the
        # outer SUM(CASE ...) treat it as false.
        return Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField())

    return (
        Episode.objects.alive()
        .filter(clinic_id__in=clinic_ids, identified_date__gte=start, identified_date__lte=end)
        .exclude(etiology__in=EXCLUDED_ETIOLOGIES)
        .annotate(
            d84=_plus(WEEKS_12),
            d112=_plus(WEEKS_16),
            d126=_plus(WEEKS_18),
            d364=_plus(WEEKS_52),
            dxa_from=_plus(-DXA_LOOKBACK_DAYS),
            review3m=task_join("augmentation_review_3m"),
            falls=task_join("falls_prevention"),
            # Version 2: falls prevention is the patient's programme task.
            programme_falls=FilteredRelation(
                "patient__tasks",
                condition=Q(
                    patient__tasks__rule="falls_prevention",
                    patient__tasks__occurrence=1,
                    patient__tasks__episode__isnull=True,
                    patient__tasks__deleted_at__isnull=True,
                ),
            ),
        )
        .annotate(first_rx=Subquery(first_rx[:1]))
        .annotate(
            # A drug active in [identified, day 112] exists exactly when the
            # earliest start of one not stopped before identification is <= day 112.
            rx_16w=boolean(Q(first_rx__lte=F("d112"))),
            rx_52w=Exists(
                meds.filter(start_date__lte=OuterRef("d364")).filter(
                    Q(stop_date__isnull=True) | Q(stop_date__gt=OuterRef("d364"))
                )
            ),
            dxa_12w=Exists(
                BoneDensity.objects.filter(
                    patient_id=OuterRef("patient_id"),
                    deleted_at__isnull=True,
                    performed_date__gte=OuterRef("dxa_from"),
                    performed_date__lte=OuterRef("d84"),
                )
            ),
            falls_12w=boolean(
                Q(falls__status=TaskStatus.DONE, falls__closed_on__lte=F("d84"))
                | Q(
                    programme_falls__status=TaskStatus.DONE,
                    programme_falls__closed_on__lte=F("d84"),
                )
            ),
            review_due=boolean(
                Q(
                    review3m__status__in=[
                        TaskStatus.DONE,
                        TaskStatus.NOT_APPLICABLE,
                        TaskStatus.MISSED,
                    ]
                )
                | Q(review3m__status=TaskStatus.OPEN, review3m__overdue_from__lte=today)
            ),
            review_on_time=boolean(
                Q(
                    review3m__status=TaskStatus.DONE,
                    review3m__closed_on__lt=F("review3m__overdue_from"),
                )
            ),
            followup=Exists(
                Observation.objects.filter(
                    episode_id=OuterRef("pk"),
                    deleted_at__isnull=True,
                    effective_date__gte=OuterRef("d84"),
                    effective_date__lte=OuterRef("d126"),
                )
            )
            | Exists(
                person_done.filter(
                    closed_by_person=True,
                    closed_on__gte=OuterRef("d84"),
                    closed_on__lte=OuterRef("d126"),
                )
            ),
        )
    )


def _eligible(code: str, today: date) -> Q:
    ind = BY_CODE[code]
    q = Q(identified_date__lte=today - timedelta(days=ind.window_days))
    if code == "review_3m_on_time":
        q &= Q(review_due=True)
    if code == "on_treatment_52w":
        q &= Q(rx_16w=True, identified_date__lte=today - timedelta(days=WEEKS_16))
    return q


NUMERATOR_FIELD = {
    "treatment_16w": "rx_16w",
    "dxa_12w": "dxa_12w",
    "falls_12w": "falls_12w",
    "review_3m_on_time": "review_on_time",
    "followup_16w": "followup",
    "on_treatment_52w": "rx_52w",
}


def _numerator(code: str, today: date) -> Q:
    return _eligible(code, today) & Q(**{NUMERATOR_FIELD[code]: True})


def drilldown(
    code: str, which: str, clinic_ids: list[uuid.UUID], start: date, end: date, today: date
) -> QuerySet[Episode]:
    """The episodes behind one number: ``numerator``, ``denominator`` or ``gap``
    (in the denominator but not the numerator: the patients to act on)."""
    qs = cohort(clinic_ids, start, end, today)
    if which == "numerator":
        qs = qs.filter(_numerator(code, today))
    elif which == "gap":
        qs = qs.filter(_eligible(code, today)).exclude(**{NUMERATOR_FIELD[code]: True})
    else:
        qs = qs.filter(_eligible(code, today))
    return qs.select_related("patient").order_by("identified_date", "id")


# Selected from the cohort for the dashboard; rx_16w is derived in the outer
# query from first_rx (selecting it too would run the first_rx subquery twice).
FLAGS = ("rx_52w", "dxa_12w", "falls_12w", "review_due", "review_on_time", "followup")
RX_16W_SQL = "(c.first_rx IS NOT NULL AND c.first_rx <= c.d112)"


def _sql_flag(code: str) -> str:
    field = NUMERATOR_FIELD[code]
    return RX_16W_SQL if field == "rx_16w" else f"c.{field}"


def _sql_eligible(code: str, today: date) -> tuple[str, list[Any]]:
    """The same eligibility as ``_eligible``, as SQL over the cohort's columns."""
    cut = today - timedelta(days=BY_CODE[code].window_days)
    sql = "c.identified_date <= %s"
    if code == "review_3m_on_time":
        sql += " AND c.review_due"
    if code == "on_treatment_52w":
        sql += f" AND {RX_16W_SQL}"
    return sql, [cut]


def _days_sql() -> str:
    if connection.vendor == "postgresql":
        return "(c.first_rx - c.identified_date)"
    return "CAST(julianday(c.first_rx) - julianday(c.identified_date) AS INTEGER)"


def dashboard(clinic_ids: list[uuid.UUID], start: date, end: date, today: date) -> Dashboard:
    """All cohort indicators for the period, month by month, and the median
    time to treatment: one query.

    The cohort with its per-episode tests is a derived table, aggregated in
    the outer query by month and days-to-treatment, so each subquery runs
    once per episode (Django would repeat an annotation's subquery in every
    FILTER that names it). The rows are the month x days histogram (a few
    hundred); months and the median are summed from it.
    """
    if not clinic_ids:
        # No clinic to show (a user with no membership, or a clinic filter
        # naming someone else's clinic): an empty board, no query (an empty
        # IN () cannot be compiled into the derived table).
        return _aggregate([], start, end, today)
    inner = (
        cohort(clinic_ids, start, end, today)
        .annotate(month=TruncMonth("identified_date"))
        .order_by()
        .values("month", "identified_date", "first_rx", "d112", *FLAGS)
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    columns = ["COUNT(*)"]
    params: list[Any] = []
    for ind in INDICATORS:
        eligible, eligible_params = _sql_eligible(ind.code, today)
        flag = _sql_flag(ind.code)
        columns.append(f"SUM(CASE WHEN {eligible} AND {flag} THEN 1 ELSE 0 END)")
        columns.append(f"SUM(CASE WHEN {eligible} THEN 1 ELSE 0 END)")
        params += eligible_params + eligible_params
    days = _days_sql()
    sql = (
        f"SELECT c.month, {days} AS days, {', '.join(columns)} "  # noqa: S608 - no user input
        f"FROM ({inner_sql}) c GROUP BY c.month, {days}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *inner_params])
        raw = cursor.fetchall()
    return _aggregate(raw, start, end, today)


def _aggregate(raw: list[Any], start: date, end: date, today: date) -> Dashboard:
    """The board from the month x days histogram rows."""
    width = 1 + 2 * len(INDICATORS)
    by_month: dict[date, list[int]] = {}
    treated_days: dict[int, int] = {}
    for row in raw:
        month, days_value = _as_date(row[0]), row[1]
        counts = [int(v or 0) for v in row[2:]]
        acc = by_month.setdefault(month, [0] * width)
        by_month[month] = [a + b for a, b in zip(acc, counts, strict=True)]
        if days_value is not None:
            # A drug already active at identification counts as day 0.
            key = max(0, _days(days_value))
            treated_days[key] = treated_days.get(key, 0) + counts[0]
    months = []
    totals = [0] * width
    # Every month of the period, those with no episode too (a gap in the
    # chart, not a missing month).
    for month in _months(start, end):
        counts = by_month.get(month, [0] * width)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
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
        hit = cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    board = dashboard(clinic_ids, start, end, today)
    cache.set(key, (board, now), CACHE_SECONDS)
    return board, now


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value  # type: ignore[no-any-return]


def _days(value: Any) -> int:
    if isinstance(value, timedelta):
        return value.days
    return int(value)


@dataclass
class RuleOverdue:
    rule: str
    title: str
    overdue: int
    open: int

    @property
    def pct(self) -> float | None:
        return round(100.0 * self.overdue / self.open, 1) if self.open else None

    @property
    def band(self) -> str:
        return band(self.pct, OVERDUE_GREEN, OVERDUE_AMBER, lower_is_better=True)


def overdue_by_rule(
    clinic_ids: list[uuid.UUID], todays: dict[uuid.UUID, date]
) -> list[RuleOverdue]:
    """Open (raised) tasks per rule and how many are overdue, in one query."""
    overdue = Q(pk__in=[])
    for cid in clinic_ids:
        overdue |= Q(clinic_id=cid, overdue_from__lte=todays[cid])
    rows = (
        FollowUpTask.objects.open()
        .filter(clinic_id__in=clinic_ids)
        .order_by()
        .values("rule")
        # Counting a column of the task_open_by_rule index (not the id)
        # keeps this an index-only scan.
        .annotate(open=Count("overdue_from"), overdue=Count("overdue_from", filter=overdue))
    )
    titles = {r.code: r.title for r in get_ruleset("v1").rules}
    out = [
        RuleOverdue(r["rule"], titles.get(r["rule"], r["rule"]), r["overdue"], r["open"])
        for r in rows
    ]
    out.sort(key=lambda r: (-r.overdue, r.title))
    return out


def phase_distribution(clinic_ids: list[uuid.UUID]) -> list[tuple[str, int]]:
    counts = dict(
        Episode.objects.active()
        .filter(clinic_id__in=clinic_ids)
        .order_by()
        .values_list("phase")
        .annotate(n=Count("id"))
    )
    return [(p.value, counts.get(p.value, 0)) for p in Phase if p.value != Phase.CLOSED]


@dataclass
class Candidate:
    task: FollowUpTask
    pain: list[tuple[date, float]]
    levels: list[str]


def augmentation_candidates(
    clinic_ids: list[uuid.UUID], todays: dict[uuid.UUID, date], *, limit: int = 25, offset: int = 0
) -> tuple[list[Candidate], bool]:
    """Open 3-month reviews that are due (or due within 14 days) and early
    augmentation tasks, with each episode's pain trajectory; and whether a
    next page exists (3 queries; no COUNT over a large backlog)."""
    from pathways.levels import mask_to_levels

    visible = Q(pk__in=[])
    for cid in clinic_ids:
        visible |= Q(clinic_id=cid, due_date__lte=todays[cid] + timedelta(days=14))
    qs = (
        FollowUpTask.objects.open()
        .filter(
            clinic_id__in=clinic_ids,
            rule__in=["augmentation_review_3m", "augmentation_consider_early"],
        )
        .filter(visible)
    )
    # Ids first (a narrow sort), then the rows of this page. Deadline order
    # (overdue_from), which the task_open_by_rule index serves; ORDER BY
    # due_date would tempt the planner into walking a (due_date, ...) index
    # across every clinic.
    ids = list(
        qs.order_by("overdue_from", "due_date", "id").values_list("id", flat=True)[
            offset : offset + limit + 1
        ]
    )
    has_next = len(ids) > limit
    ids = ids[:limit]
    by_id = {
        t.id: t
        for t in FollowUpTask.objects.filter(id__in=ids).select_related(
            "patient", "episode", "assignee"
        )
    }
    tasks = [by_id[i] for i in ids if i in by_id]
    pain: dict[uuid.UUID, list[tuple[date, float]]] = {}
    for eid, day, value in (
        Observation.objects.alive()
        .filter(episode_id__in=[t.episode_id for t in tasks], kind="pain_nrs")
        .order_by("effective_date")
        .values_list("episode_id", "effective_date", "value_number")
    ):
        pain.setdefault(eid, []).append((day, float(value or 0)))
    return (
        [
            # Candidates come from episode rules: every task here has an episode.
            Candidate(t, pain.get(t.episode.id, []), mask_to_levels(t.episode.levels_mask))
            for t in tasks
            if t.episode is not None
        ],
        has_next,
    )
