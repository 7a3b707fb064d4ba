"""The physician dashboard and an indicator's drill-down (with CSV).

Views are thin: read the clock once, parse, call the dashboard's queries,
render. The indicators are counts; the pages that name patients (the
candidates, the drill-down) note whom they showed in the access audit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from pathways.dashboard.board import dashboard_cached
from pathways.dashboard.cohort import drilldown
from pathways.dashboard.definitions import BY_CODE, INDICATORS, SMALL_DENOMINATOR
from pathways.dashboard.workload import (
    augmentation_candidates,
    overdue_by_rule,
    phase_distribution,
)
from pathways.models import Episode
from vcftrack.core import audit
from vcftrack.core.web import Scope, csv_response, get_scope, page_number

DRILL_PAGE = 50
CANDIDATES_PAGE = 20
WHICH = (
    ("gap", "Not met (to act on)"),
    ("numerator", "Numerator"),
    ("denominator", "Denominator"),
)
CSV_HEADER = [
    "patient",
    "mrn",
    "birth_date",
    "levels",
    "identified_date",
    "phase",
    "etiology",
    "in_numerator",
]


def _period(params: QueryDict, today: date) -> tuple[date, date, str]:
    """The period asked for, or the last 12 months, with what was wrong with it."""
    problems: list[str] = []

    def parse(name: str, default: date, label_: str) -> date:
        raw = params.get(name, "")
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(f"“{raw}” is not a date ({label_}).")
            return default

    end = parse("to", today, "to")
    if end > today:
        problems.append(f"The end date is after today; showing up to today ({today:%-d %b %Y}).")
        end = today
    start = parse("from", end - timedelta(days=365), "from")
    if start > end:
        problems.append(
            f"The start date ({start:%-d %b %Y}) is after the end date ({end:%-d %b %Y}); "
            "showing the 12 months up to the end date instead."
        )
        start = end - timedelta(days=365)
    # A bounded period keeps the month-by-month chart and the query small.
    if start < end - timedelta(days=3 * 366):
        start = end - timedelta(days=3 * 366)
        problems.append(f"At most three years: showing from {start:%-d %b %Y}.")
    return start, end, " ".join(problems)


@dataclass(frozen=True)
class DashboardScope:
    """The clinics shown (all the user's, or the one ``?clinic=`` names), each
    clinic's date, and the date the indicators are computed for."""

    scope: Scope
    clinic_ids: list[uuid.UUID]
    todays: dict[uuid.UUID, date]
    today: date
    # The ``?clinic=`` filter as given ("" for all the user's clinics).
    clinic_param: str

    def period_params(self, start: date, end: date) -> dict[str, str]:
        """The query parameters that keep this period and clinic filter."""
        params = {"from": start.isoformat(), "to": end.isoformat()}
        if self.clinic_param:
            params["clinic"] = self.clinic_param
        return params


def _dashboard_scope(request: HttpRequest, now: datetime) -> DashboardScope:
    scope = get_scope(request)
    clinic_ids = scope.clinic_ids
    wanted = request.GET.get("clinic", "")
    if wanted:
        clinic_ids = [c for c in clinic_ids if str(c) == wanted]
    todays = scope.todays(now)
    # Clinics in several zones: the earliest date, so no window counts as
    # elapsed before it has everywhere.
    today = min((todays[c] for c in clinic_ids), default=now.date())
    return DashboardScope(scope, clinic_ids, todays, today, wanted)


def _presets(today: date) -> list[tuple[str, str]]:
    year = today.year
    return [
        (
            "Last 12 months",
            urlencode({"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}),
        ),
        (
            "Last 24 months",
            urlencode({"from": (today - timedelta(days=730)).isoformat(), "to": today.isoformat()}),
        ),
        (str(year - 1), urlencode({"from": f"{year - 1}-01-01", "to": f"{year - 1}-12-31"})),
        (str(year), urlencode({"from": f"{year}-01-01", "to": today.isoformat()})),
    ]


def _chart(months: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "labels": [m["month"].strftime("%b %Y") for m in months],
        "series": [
            {"label": ind.title, "data": [m[ind.code] for m in months]} for ind in INDICATORS
        ],
        # Most indicators' target (the 3-month review's is 90 %).
        "target": 80,
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    where = _dashboard_scope(request, now)
    clinic_ids, today = where.clinic_ids, where.today
    start, end, period_problem = _period(request.GET, today)
    board, computed_at = dashboard_cached(
        clinic_ids, start, end, today, now=now, fresh=request.GET.get("fresh") == "1"
    )
    cand_page = page_number(request.GET.get("cpage"))
    candidates, cand_next = augmentation_candidates(
        clinic_ids, where.todays, limit=CANDIDATES_PAGE, offset=(cand_page - 1) * CANDIDATES_PAGE
    )
    # The indicators are counts; the candidates list names patients.
    audit.note(
        request, patient_ids=[c.task.patient_id for c in candidates], action="dashboard.list"
    )
    phases = phase_distribution(clinic_ids)
    return render(
        request,
        "pathways/dashboard.html",
        {
            "board": board,
            "computed_at": computed_at,
            "start": start,
            "end": end,
            "today": today,
            "period_qs": urlencode(where.period_params(start, end)),
            "presets": _presets(today),
            "selected_clinic": where.clinic_param,
            "phases": phases,
            "phase_max": max((n for _p, n in phases), default=0) or 1,
            "overdue": overdue_by_rule(clinic_ids, where.todays),
            "candidates": candidates,
            "period_problem": period_problem,
            "small_denominator": SMALL_DENOMINATOR,
            # The physician's own to-do list leads the page for a physician.
            "candidates_first": any(where.scope.is_physician(c) for c in clinic_ids),
            "cand_next": cand_next,
            "cand_page": cand_page,
            "chart": _chart(board.months),
        },
    )


def _csv_rows(request: HttpRequest, episodes: Iterator[Episode], field: str) -> Iterator[list[str]]:
    yield CSV_HEADER
    for ep in episodes:
        p = ep.patient
        audit.note(request, patient_ids=[p.id], action="drilldown.export")
        yield [
            f"{p.family_name}, {p.given_name}",
            p.mrn,
            p.birth_date.isoformat(),
            "/".join(ep.levels),
            ep.identified_date.isoformat(),
            ep.phase,
            ep.etiology,
            "yes" if getattr(ep, field) else "no",
        ]


@login_required
@require_GET
def indicator_drilldown(request: HttpRequest, code: str) -> HttpResponse | StreamingHttpResponse:
    now = timezone.now()
    if code not in BY_CODE:
        raise Http404("No such indicator")
    indicator = BY_CODE[code]
    where = _dashboard_scope(request, now)
    start, end, _problem = _period(request.GET, where.today)
    which = request.GET.get("which", "gap")
    if which not in dict(WHICH):
        which = "gap"
    qs = drilldown(code, which, where.clinic_ids, start, end, where.today)
    if request.GET.get("format") == "csv":
        rows = _csv_rows(request, qs.iterator(chunk_size=2000), indicator.numerator_field)
        return csv_response(rows, f"{code}-{which}-{start}-{end}.csv")
    total = qs.count()
    pages = max(1, -(-total // DRILL_PAGE))
    page = min(page_number(request.GET.get("page")), pages)
    episodes = list(qs[(page - 1) * DRILL_PAGE : page * DRILL_PAGE])
    audit.note(request, patient_ids=[e.patient_id for e in episodes], action="drilldown.list")
    base = where.period_params(start, end)
    return render(
        request,
        "pathways/drilldown.html",
        {
            "indicator": indicator,
            "which": which,
            "episodes": episodes,
            "numerator_field": indicator.numerator_field,
            "total": total,
            "page": page,
            "pages": pages,
            "start": start,
            "end": end,
            "tabs": [(w, label, urlencode({**base, "which": w})) for w, label in WHICH],
            "base_qs": urlencode({**base, "which": which}),
            "prev_qs": urlencode({**base, "which": which, "page": page - 1}),
            "next_qs": urlencode({**base, "which": which, "page": page + 1}),
        },
    )
