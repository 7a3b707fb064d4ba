"""Bone density over time: the annualised change between successive DXAs at
one site, as the bone-health rules of both pathway versions read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pathways.engine.dates import add_months
from pathways.engine.facts import BoneDensityFact

# Shorter DXA intervals are within the machine's precision error; annualising
# them would turn noise into a "decline".
MIN_DXA_INTERVAL_DAYS = 180


@dataclass(slots=True, unsafe_hash=True)
class BmdChange:
    site: str
    start: date
    to: date
    from_bmd: float
    to_bmd: float
    pct_per_year: float

    @property
    def shown(self) -> str:
        return f"{round(self.pct_per_year, 2):g}"


def years_between(start: date, end: date) -> float:
    """Calendar years from start to end: whole months / 12 plus the leftover days.

    Two DXAs one calendar year apart are exactly one year apart, leap year or
    not, so a 4.0 % fall between them is a 4.0 %/yr fall (not 4.003 or 3.99).
    """
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    rest = (end - add_months(start, months)).days
    return months / 12 + rest / 365.25


def bmd_series(scans_in_order: list[BoneDensityFact]) -> list[BmdChange]:
    """Annualised % change between successive DXAs at the same site, from
    scans in date order.

    ``pct_per_year`` is exact (only float noise rounded away) so that "fell
    more than 4 %" is decided on the measured values, not on the two-decimal
    figure shown to the user.
    """
    out: list[BmdChange] = []
    by_site: dict[str, list[BoneDensityFact]] = {}
    for scan in scans_in_order:
        by_site.setdefault(scan.site, []).append(scan)
    for site, scans in by_site.items():
        previous: BoneDensityFact | None = None
        for scan in scans:
            if previous is None:
                previous = scan
                continue
            days = (scan.performed_date - previous.performed_date).days
            if days < MIN_DXA_INTERVAL_DAYS:
                continue
            if previous.bmd_g_cm2 > 0:
                pct = (scan.bmd_g_cm2 - previous.bmd_g_cm2) / previous.bmd_g_cm2 * 100.0
                years = years_between(previous.performed_date, scan.performed_date)
                out.append(
                    BmdChange(
                        site,
                        previous.performed_date,
                        scan.performed_date,
                        previous.bmd_g_cm2,
                        scan.bmd_g_cm2,
                        round(pct / years, 9),
                    )
                )
            previous = scan
    out.sort(key=lambda c: (c.to, c.site))
    return out
