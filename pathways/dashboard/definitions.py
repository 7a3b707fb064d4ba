"""The fracture-liaison (FLS) indicators: what each counts, its target bands,
and who is eligible for it (design.md).

Each indicator counts only the episodes of the cohort whose measuring window
has fully elapsed by today ("eligible"): an episode identified last week
cannot yet have failed "DXA within 12 weeks". Numerator <= denominator by
construction. Eligibility is declared here once (``window_days`` and
``requires``); ``pathways.dashboard.cohort`` renders it as a Django ``Q`` for
the drill-down and as SQL for the one-query board, both from these fields.

Target bands are the clinic's working targets, modelled on the FLS key
performance indicators of national fracture-liaison audits: a value at or
above ``green`` is on target, at or above ``amber`` needs attention, below it
is red. They are constants here on purpose: changing a target is a reviewed
code change, not a setting.
"""

from __future__ import annotations

from dataclasses import dataclass

WEEKS_12 = 84
WEEKS_16 = 112
WEEKS_18 = 126
WEEKS_52 = 364


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
    # The cohort's flag (a boolean column) an eligible episode must have to
    # count in the numerator.
    numerator_field: str
    # Further flags an episode must have to be eligible at all.
    requires: tuple[str, ...] = ()


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
        numerator_field="rx_16w",
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
        numerator_field="dxa_12w",
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
        numerator_field="falls_12w",
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
        numerator_field="review_on_time",
        requires=("review_due",),
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
        numerator_field="followup",
    ),
    # Numerator: eligible episodes whose patient has an anti-osteoporosis drug
    # active on identified + 52 weeks (started on or before, not stopped by then).
    # Denominator: cohort episodes identified at least 52 weeks ago that had
    # treatment started by week 16 (the numerator of treatment_16w; its
    # 16-week window has elapsed within the 52 weeks).
    Indicator(
        "on_treatment_52w",
        "Still on treatment at 52 weeks",
        "anti-osteoporosis drug active at week 52",
        "treated by week 16, identified ≥ 52 weeks ago",
        green=80,
        amber=60,
        window_days=WEEKS_52,
        numerator_field="rx_52w",
        requires=("rx_16w",),
    ),
)
BY_CODE = {i.code: i for i in INDICATORS}
NUMERATOR_FIELD = {i.code: i.numerator_field for i in INDICATORS}

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
