"""Web pages about a record rather than in it: its change history, and the
access audit (who looked, and the export for a period).

The history pages are open to everyone who may see the patient; the audit
export to the clinic's physicians (their clinics' patients) and to staff
(everything). Each page is itself noted in the access audit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from pathways.chart.views import patient_or_404
from pathways.history import episode_history, patient_history
from pathways.models import Episode
from patients.models import Membership, Patient
from vcftrack.core import audit
from vcftrack.core.audit.selectors import export_rows, period_bounds, records_between
from vcftrack.core.scoping import Role
from vcftrack.core.web import csv_response

EXPORT_MAX_DAYS = 366


@login_required
@require_GET
def patient_history_page(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.history")
    return render(
        request,
        "chart/history.html",
        {"patient": patient, "episode": None, "sections": patient_history(patient.id)},
    )


@login_required
@require_GET
def episode_history_page(
    request: HttpRequest, patient_id: uuid.UUID, episode_id: uuid.UUID
) -> HttpResponse:
    patient = patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="episode.history")
    episode = Episode.objects.filter(patient=patient, pk=episode_id).first()
    if episode is None:
        raise Http404("No such episode")
    return render(
        request,
        "chart/history.html",
        {"patient": patient, "episode": episode, "sections": episode_history(episode.id)},
    )


def _physician_clinics(request: HttpRequest) -> list[uuid.UUID]:
    return list(
        Membership.objects.filter(
            user_id=int(request.user.pk or 0), role=Role.PHYSICIAN
        ).values_list("clinic_id", flat=True)
    )


def _date(raw: str | None, default: date) -> tuple[date, str]:
    if not raw:
        return default, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return default, f"“{raw}” is not a date (use YYYY-MM-DD)."


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The access audit of a period: a form, and the CSV (``?format=csv``)."""
    now = timezone.now()
    clinics = _physician_clinics(request)
    if not clinics and not request.user.is_staff:
        audit.note(request, action="audit.export")
        return HttpResponse(
            "Only physicians and administrators can export the access audit.",
            status=403,
            content_type="text/plain",
        )
    today = timezone.localdate(now)
    start, bad_start = _date(request.GET.get("from"), today - timedelta(days=30))
    end, bad_end = _date(request.GET.get("to"), today)
    problems = [p for p in (bad_start, bad_end) if p]
    if end < start:
        problems.append("The end of the period is before its start.")
    elif (end - start).days > EXPORT_MAX_DAYS:
        problems.append(f"Choose a period of at most {EXPORT_MAX_DAYS} days.")
    if request.GET.get("format") != "csv" or problems:
        audit.note(request, action="audit.view")
        return render(
            request,
            "chart/audit_export.html",
            {"start": start, "end": end, "problems": problems, "staff": request.user.is_staff},
            status=400 if problems else 200,
        )
    since, until = period_bounds(start, end, timezone.get_current_timezone())
    patients = (
        None
        if request.user.is_staff
        else Patient.objects.filter(clinic_id__in=clinics).values("id")
    )
    records = records_between(since=since, until=until, patient_ids=patients)

    def rows() -> Iterator[list[str]]:
        for i, row in enumerate(export_rows(records.iterator(chunk_size=2000))):
            if i:  # the header has no patient
                audit.note(request, patient_ids=[row[4] or None], action="audit.export")
            yield row
        audit.note(request, action="audit.export")

    return csv_response(
        rows(), f"access-audit-{start}-{end}.csv", content_type="text/csv; charset=utf-8"
    )
