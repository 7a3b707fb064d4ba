"""The calendar arithmetic every due date depends on: calendar months clamped
to the month end, calendar years between two DXAs."""

from __future__ import annotations

from datetime import date

import pytest

from pathways.engine.context import years_between
from pathways.engine.dates import add_days, add_months
from tests.pathways.engine.support import clear, episode, med, planned, run


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # the example
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 10, 31), 6, date(2027, 4, 30)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across the year end
        (date(2026, 3, 2), 36, date(2029, 3, 2)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2026, 1, 1), 0, date(2026, 1, 1)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_days_counts_calendar_days() -> None:
    assert add_days(date(2026, 2, 26), 5) == date(2026, 3, 3)
    assert add_days(date(2028, 2, 26), 5) == date(2028, 3, 2)


@pytest.mark.parametrize(
    ("start", "end", "years"),
    [
        (date(2026, 3, 2), date(2027, 3, 2), 1.0),
        (date(2027, 3, 2), date(2028, 3, 2), 1.0),  # across 29 Feb 2028
        (date(2028, 2, 29), date(2029, 2, 28), 1.0),  # clamped anniversary
        (date(2026, 1, 10), date(2028, 1, 10), 2.0),
        (date(2026, 1, 10), date(2026, 7, 10), 0.5),
    ],
)
def test_years_between_counts_calendar_years(start: date, end: date, years: float) -> None:
    assert years_between(start, end) == pytest.approx(years, abs=1e-12)


def test_years_between_adds_leftover_days() -> None:
    assert years_between(date(2026, 1, 10), date(2027, 1, 20)) == pytest.approx(1 + 10 / 365.25)


def test_due_dates_of_identified_plus_months_clamp() -> None:
    """identified 2026-11-30: the 3-month review is due 2027-02-28, the
    12-month screen 2027-11-30; identified 2027-01-31 + 1 month is 28 Feb."""
    facts = episode(identified=date(2026, 11, 30), observations=[clear(date(2026, 11, 30))])
    ev = run(facts, date(2026, 11, 30))
    review = planned(ev, "augmentation_review_3m")
    assert review is not None
    assert review.due_date == date(2027, 2, 28)
    screen = planned(ev, "new_fracture_screen_12m")
    assert screen is not None
    assert screen.due_date == date(2027, 11, 30)
    # 3 months after 31 Jan is 30 Apr; a bisphosphonate started on 31 Jan is
    # due its renal check on 31 Jan of the next year, its duration review in
    # 3 years; a denosumab dose on 31 Aug is next due on 28 Feb.
    facts = episode(
        identified=date(2027, 1, 31),
        meds=[med("alendronate", date(2027, 1, 31)), med("denosumab", date(2027, 8, 31))],
    )
    ev = run(facts, date(2027, 9, 1))
    assert planned(ev, "augmentation_review_3m").due_date == date(2027, 4, 30)  # type: ignore[union-attr]
    assert planned(ev, "renal_function").due_date == date(2028, 1, 31)  # type: ignore[union-attr]
    assert planned(ev, "bisphosphonate_duration_review").due_date == date(2030, 1, 31)  # type: ignore[union-attr]
    assert planned(ev, "denosumab_dose").due_date == date(2028, 2, 29)  # type: ignore[union-attr]
