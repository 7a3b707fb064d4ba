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

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import (
    Count,
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
    review = FollowUpTask.objects.filter(
        episode_id=OuterRef("pk"),
        rule="augmentation_review_3m",
        occurrence=1,
        deleted_at__isnull=True,
    )
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
        )
        .annotate(
            first_rx=Subquery(first_rx[:1]),
            rx_16w=Exists(
                meds.filter(not_stopped_before_identified, start_date__lte=OuterRef("d112"))
            ),
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
            falls_12w=Exists(
                person_done.filter(rule="falls_prevention", closed_on__lte=OuterRef("d84"))
            ),
            review_due=Exists(
                review.filter(
                    Q(status__in=[TaskStatus.DONE, TaskStatus.NOT_APPLICABLE, TaskStatus.MISSED])
                    | Q(status=TaskStatus.OPEN, overdue_from__lte=today)
                )
            ),
            review_on_time=Exists(
                review.filter(status=TaskStatus.DONE, closed_on__lt=F("overdue_from"))
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


def dashboard(clinic_ids: list[uuid.UUID], start: date, end: date, today: date) -> Dashboard:
    """All cohort indicators for the period and month by month (2 queries)."""
    qs = cohort(clinic_ids, start, end, today)
    aggregates: dict[str, Any] = {"cohort": Count("id"), "treated": Count("first_rx")}
    for ind in INDICATORS:
        aggregates[f"{ind.code}__num"] = Count("id", filter=_numerator(ind.code, today))
        aggregates[f"{ind.code}__den"] = Count("id", filter=_eligible(ind.code, today))
    monthly: Any = (
        qs.annotate(month=TruncMonth("identified_date"))
        .order_by()
        .values("month")
        .annotate(**aggregates)
        .order_by("month")
    )
    rows: list[dict[str, Any]] = list(monthly)
    totals = {key: sum(r[key] for r in rows) for key in aggregates}
    values = [
        IndicatorValue(ind, totals[f"{ind.code}__num"], totals[f"{ind.code}__den"])
        for ind in INDICATORS
    ]
    months = []
    for r in rows:
        month: dict[str, Any] = {"month": r["month"], "cohort": r["cohort"]}
        for ind in INDICATORS:
            num, den = r[f"{ind.code}__num"], r[f"{ind.code}__den"]
            month[ind.code] = round(100.0 * num / den, 1) if den else None
        months.append(month)
    median = None
    treated = totals["treated"]
    if treated:
        # The median as an order statistic in SQL; days clamp at 0 (a drug
        # already active at identification), which keeps the order.
        ordered = (
            qs.filter(first_rx__isnull=False)  # type: ignore[misc]
            .annotate(days=F("first_rx") - F("identified_date"))
            .order_by("days")
            .values_list("days", flat=True)
        )
        middle = list(ordered[(treated - 1) // 2 : treated // 2 + 1])
        days = [max(0, _days(d)) for d in middle]
        median = sum(days) / len(days) if days else None
    return Dashboard(start, end, today, totals["cohort"], values, median, treated, months)


def _days(value: Any) -> int:
    if isinstance(value, timedelta):
        return value.days
    # SQLite returns the difference in microseconds.
    return int(value) // 86_400_000_000


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
        .annotate(open=Count("id"), overdue=Count("id", filter=overdue))
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
) -> tuple[list[Candidate], int]:
    """Open 3-month reviews that are due (or due within 14 days) and early
    augmentation tasks, with each episode's pain trajectory (3 queries)."""
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
    total = qs.count()
    tasks = list(
        qs.select_related("episode__patient", "assignee").order_by("due_date", "id")[
            offset : offset + limit
        ]
    )
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
            Candidate(t, pain.get(t.episode_id, []), mask_to_levels(t.episode.levels_mask))
            for t in tasks
        ],
        total,
    )
