from __future__ import annotations

import calendar
from datetime import date, timedelta

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# What f"{day}" writes (str(day), ISO), remembered: the engine words a dozen
# dates an evaluation into its reasons, and date.__format__ costs ~4,000
# instructions (its %04d-%02d-%02d goes through the C library's printf)
# against ~200 for a lookup. A plain dict, emptied when it grows large.
_SHOWN: dict[date, str] = {}
_SHOWN_MAX = 8192


def iso(day: date) -> str:
    """``str(day)``: the date as an f-string shows it (2026-11-22)."""
    text = _SHOWN.get(day)
    if text is None:
        if len(_SHOWN) >= _SHOWN_MAX:
            _SHOWN.clear()
        text = _SHOWN[day] = str(day)
    return text


def add_months(start: date, months: int) -> date:
    """Calendar months, clamped to the month end (31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year = start.year + index // 12
    month = index % 12 + 1
    day = start.day
    if day > 28:
        last = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]
        day = min(day, last)
    return date(year, month, day)


# timedelta(days=n) parses its keyword on every call (about a third of a µs,
# more than the addition); the rules add a few dozen distinct day counts
# (offsets, lead times, windows), so those are built once.
_DAY_DELTAS = {n: timedelta(days=n) for n in range(-366, 367)}


def add_days(start: date, days: int) -> date:
    delta = _DAY_DELTAS.get(days)
    return start + (delta if delta is not None else timedelta(days=days))


def overdue_from(due: date, snoozed_until: date | None, grace: int) -> date:
    """The first day a task is overdue: the day after its grace days, counted
    from its due date or from the end of a snooze, whichever is later."""
    effective = max(due, snoozed_until) if snoozed_until else due
    return effective + timedelta(days=grace + 1)
