"""The worklist page: filters, groups, sort, one row per task or per patient, CSV.

Views are thin: read the clock once, parse, call one selector, render.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from pathways.worklist import selectors
from pathways.worklist.context import parse_query, worklist_context
from vcftrack.core import audit
from vcftrack.core.web import csv_response, get_scope, is_htmx


# ---------------------------------------------------------------- worklist --
@login_required
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope = get_scope(request)
    context = worklist_context(request, request.GET, scope, now)
    if is_htmx(request) and request.headers.get("HX-Target") == "results":
        return render(request, "pathways/_worklist_results.html", context)
    return render(request, "pathways/worklist.html", context)


@login_required
@require_GET
def worklist_csv(request: HttpRequest) -> StreamingHttpResponse:
    now = timezone.now()
    scope = get_scope(request)
    query = parse_query(request, request.GET, scope, scope.todays(now))

    def rows() -> Iterator[list[str]]:
        yield [
            "state",
            "patient",
            "mrn",
            "levels",
            "task",
            "rule",
            "due_date",
            "days_overdue",
            "priority",
            "assignee",
            "clinic_today",
        ]
        for row in selectors.worklist_export(query):
            t = row.task
            p = t.patient
            # Noted as streamed; the middleware writes them when the file ends.
            audit.note(request, patient_ids=[p.id], action="worklist.export")
            yield [
                row.state,
                f"{p.family_name}, {p.given_name}",
                p.mrn,
                "/".join(row.levels),
                t.title,
                t.rule,
                t.effective_due.isoformat(),
                str(row.days_overdue),
                t.priority,
                t.assignee.get_username() if t.assignee else "",
                query.todays[t.clinic_id].isoformat(),
            ]

    return csv_response(rows(), f"worklist-{now:%Y%m%d}.csv")
