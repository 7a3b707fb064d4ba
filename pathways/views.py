"""Web views of the pathways app: the dashboard and the rule catalogue.

Views are thin: read the clock once, parse, call one selector, render.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from pathways import catalogue, indicators
from vcftrack.core import audit
from vcftrack.core.web import Scope, csv_response, get_scope, page_number


# --------------------------------------------------------------- dashboard --
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


def _dashboard_scope(
    request: HttpRequest, now: Any
) -> tuple[Scope, list[uuid.UUID], dict[uuid.UUID, date], date]:
    scope = get_scope(request)
    clinic_ids = scope.clinic_ids
    wanted = request.GET.get("clinic", "")
    if wanted:
        clinic_ids = [c for c in clinic_ids if str(c) == wanted]
    todays = scope.todays(now)
    # Clinics in several zones: the earliest date, so no window counts as
    # elapsed before it has everywhere.
    today = min((todays[c] for c in clinic_ids), default=now.date())
    return scope, clinic_ids, todays, today


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


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope, clinic_ids, todays, today = _dashboard_scope(request, now)
    start, end, period_problem = _period(request.GET, today)
    board, computed_at = indicators.dashboard_cached(
        clinic_ids, start, end, today, now=now, fresh=request.GET.get("fresh") == "1"
    )
    cand_page = page_number(request.GET.get("cpage"))
    candidates, cand_next = indicators.augmentation_candidates(
        clinic_ids, todays, limit=20, offset=(cand_page - 1) * 20
    )
    # The indicators are counts; the candidates list names patients.
    audit.note(
        request, patient_ids=[c.task.patient_id for c in candidates], action="dashboard.list"
    )
    period_qs = urlencode(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            **({"clinic": request.GET["clinic"]} if request.GET.get("clinic") else {}),
        }
    )
    chart = {
        "labels": [m["month"].strftime("%b %Y") for m in board.months],
        "series": [
            {"label": ind.title, "data": [m[ind.code] for m in board.months]}
            for ind in indicators.INDICATORS
        ],
        # Most indicators' target (the 3-month review's is 90 %).
        "target": 80,
    }
    phases = indicators.phase_distribution(clinic_ids)
    return render(
        request,
        "pathways/dashboard.html",
        {
            "board": board,
            "computed_at": computed_at,
            "start": start,
            "end": end,
            "today": today,
            "period_qs": period_qs,
            "presets": _presets(today),
            "selected_clinic": request.GET.get("clinic", ""),
            "phases": phases,
            "phase_max": max((n for _p, n in phases), default=0) or 1,
            "overdue": indicators.overdue_by_rule(clinic_ids, todays),
            "candidates": candidates,
            "period_problem": period_problem,
            "small_denominator": indicators.SMALL_DENOMINATOR,
            # The physician's own to-do list leads the page for a physician.
            "candidates_first": any(scope.is_physician(c) for c in clinic_ids),
            "cand_next": cand_next,
            "cand_page": cand_page,
            "chart": chart,
        },
    )


DRILL_PAGE = 50


@login_required
@require_GET
def indicator_drilldown(request: HttpRequest, code: str) -> HttpResponse | StreamingHttpResponse:
    now = timezone.now()
    if code not in indicators.BY_CODE:
        raise Http404("No such indicator")
    scope, clinic_ids, todays, today = _dashboard_scope(request, now)
    start, end, _problem = _period(request.GET, today)
    which = request.GET.get("which", "gap")
    if which not in ("numerator", "denominator", "gap"):
        which = "gap"
    qs = indicators.drilldown(code, which, clinic_ids, start, end, today)
    if request.GET.get("format") == "csv":

        def rows() -> Iterator[list[str]]:
            yield [
                "patient",
                "mrn",
                "birth_date",
                "levels",
                "identified_date",
                "phase",
                "etiology",
                "in_numerator",
            ]
            field = indicators.NUMERATOR_FIELD[code]
            for ep in qs.iterator(chunk_size=2000):
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

        return csv_response(rows(), f"{code}-{which}-{start}-{end}.csv")
    total = qs.count()
    page = page_number(request.GET.get("page"))
    pages = max(1, -(-total // DRILL_PAGE))
    page = min(page, pages)
    episodes = list(qs[(page - 1) * DRILL_PAGE : page * DRILL_PAGE])
    audit.note(request, patient_ids=[e.patient_id for e in episodes], action="drilldown.list")
    base = {"from": start.isoformat(), "to": end.isoformat()}
    if request.GET.get("clinic"):
        base["clinic"] = request.GET["clinic"]
    return render(
        request,
        "pathways/drilldown.html",
        {
            "indicator": indicators.BY_CODE[code],
            "which": which,
            "episodes": episodes,
            "numerator_field": indicators.NUMERATOR_FIELD[code],
            "total": total,
            "page": page,
            "pages": pages,
            "start": start,
            "end": end,
            "tabs": [
                (w, label, urlencode({**base, "which": w}))
                for w, label in (
                    ("gap", "Not met (to act on)"),
                    ("numerator", "Numerator"),
                    ("denominator", "Denominator"),
                )
            ],
            "base_qs": urlencode({**base, "which": which}),
            "prev_qs": urlencode({**base, "which": which, "page": page - 1}),
            "next_qs": urlencode({**base, "which": which, "page": page + 1}),
        },
    )


# -------------------------------------------------------- rule catalogue --
@audit.exempt
@login_required
@require_GET
def rule_catalogue(request: HttpRequest) -> HttpResponse:
    """Every rule of every pathway version, generated from the rule sets."""
    return render(request, "pathways/rules.html", {"versions": catalogue.build_catalogue()})
