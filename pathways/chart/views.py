"""The patient chart: the patient list, the patient page, a new patient or
episode (facts are recorded in ``pathways.chart.facts``).

A patient of a clinic the user is not a member of is a 404 (not a 403: the
page does not tell an outsider that the record exists). A viewer reads;
writes answer 403. Every view notes the patients it showed or changed in the
access audit (``vcftrack.core.audit``); physicians see who looked at a patient.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pathways.chart.episode_forms import EPISODE_FACT_FORMS, EpisodeForm
from pathways.chart.forms import (
    BoneDensityForm,
    DeathForm,
    MedicationForm,
    MedicationStopForm,
    MedicationVerifyForm,
    PatientForm,
)
from pathways.chart.selectors import patient_record
from pathways.inputs.episodes import parse_episode
from pathways.models import Episode, EpisodeStatus
from pathways.services import episode_create
from pathways.worklist.context import task_action_context
from pathways.worklist.lookups import assignable_by_clinic
from pathways.worklist.selectors import make_row
from patients.inputs import parse_patient
from patients.models import Clinic, Medication, Patient
from patients.services import (
    patient_create,
)
from vcftrack.core import audit
from vcftrack.core.audit.selectors import recent_for_patient
from vcftrack.core.errors import FieldErrors
from vcftrack.core.forms import apply_errors
from vcftrack.core.labels import label as code_label
from vcftrack.core.web import get_scope

PATIENT_PAGE = 50


def patient_or_404(request: HttpRequest, patient_id: uuid.UUID) -> Patient:
    scope = get_scope(request)
    patient = (
        Patient.objects.alive()
        .filter(id=patient_id, clinic_id__in=[c.id for c in scope.all_clinics])
        .select_related("clinic")
        .first()
    )
    if patient is None:
        raise Http404("No such patient")
    return patient


def forbidden(message: str) -> HttpResponse:
    return HttpResponse(message, status=403, content_type="text/plain")


@login_required
@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    scope = get_scope(request)
    q = request.GET.get("q", "").strip()[:100]
    qs = Patient.objects.alive().filter(clinic_id__in=scope.clinic_ids).select_related("clinic")
    for token in q.split()[:4]:
        qs = qs.filter(
            Q(family_name__icontains=token) | Q(given_name__icontains=token) | Q(mrn__iexact=token)
        )
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    rows = list(
        qs.order_by("family_name", "given_name", "id")[
            (page - 1) * PATIENT_PAGE : page * PATIENT_PAGE + 1
        ]
    )
    audit.note(
        request,
        patient_ids=[p.id for p in rows[:PATIENT_PAGE]],
        action="patient.search" if q else "patient.list",
    )
    return render(
        request,
        "chart/patient_list.html",
        {
            "patients": rows[:PATIENT_PAGE],
            "has_next": len(rows) > PATIENT_PAGE,
            "page": page,
            "q": q,
        },
    )


def _fact_forms(
    record: Any, episodes: list[Episode], meds: list[Medication], bound: dict[str, Any]
) -> dict[str, Any]:
    forms: dict[str, Any] = {}
    for key, (form_class, _kind, _label) in EPISODE_FACT_FORMS.items():
        forms[key] = bound.get(key) or form_class(
            episodes=episodes,
            prefix=key,
            initial={
                "episode": str(episodes[0].id) if episodes else "",
                "effective_date": record.today.isoformat(),
                "performed_date": record.today.isoformat(),
            },
        )
    forms["medication"] = bound.get("medication") or MedicationForm(
        prefix="medication", initial={"start_date": record.today.isoformat()}
    )
    forms["medication_stop"] = bound.get("medication_stop") or MedicationStopForm(
        prefix="medication_stop", medications=meds, initial={"stop_date": record.today.isoformat()}
    )
    forms["dxa"] = bound.get("dxa") or BoneDensityForm(
        prefix="dxa", initial={"performed_date": record.today.isoformat()}
    )
    forms["medication_verify"] = bound.get("medication_verify") or MedicationVerifyForm(
        prefix="medication_verify", medications=meds
    )
    forms["death"] = bound.get("death") or DeathForm(prefix="death")
    return forms


FORM_LABELS = {
    **{k: v[2] for k, v in EPISODE_FACT_FORMS.items()},
    "medication": "Medication start",
    "medication_stop": "Medication stop",
    "medication_verify": "Imported medication verified",
    "dxa": "DXA (bone density)",
    "death": "Date of death",
}
# Forms of the patient (not of an episode): shown even with no open episode.
PATIENT_FORMS = ("medication", "medication_stop", "medication_verify", "dxa", "death")


def render_patient(
    request: HttpRequest,
    patient: Patient,
    now: Any,
    *,
    bound: dict[str, Any] | None = None,
    open_form: str = "",
    status: int = 200,
    episode_form: EpisodeForm | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    scope = get_scope(request)
    today = patient.clinic.today(now)
    record = patient_record(patient, today=today)
    active = [v.episode for v in record.episodes if v.episode.status == EpisodeStatus.ACTIVE]
    forms = _fact_forms(record, active, record.medications, bound or {})
    can_write = scope.can_write(patient.clinic_id)
    verify_shown = open_form == "medication_verify" or any(m.unverified for m in record.medications)
    assignees = assignable_by_clinic([patient.clinic_id])[patient.clinic_id]
    todays = {patient.clinic_id: today}
    views: list[Any] = [*record.episodes, *([record.programme] if record.programme else [])]
    for view in views:
        view.open_rows = [make_row(t, todays) for t in view.open_tasks]
        for row in view.open_rows:
            row.assignees = assignees
    chart = {
        "pain": [
            {"label": label, "points": [{"x": d.isoformat(), "y": v} for d, v in series]}
            for label, series in record.pain_series.items()
        ],
        "bmd": [
            {
                "label": f"BMD, {code_label(site).lower()}",
                "points": [{"x": d.isoformat(), "y": v} for d, v in series],
            }
            for site, series in record.bmd_series.items()
        ],
        # T-scores on their own axis, with the -2.5 line (osteoporosis).
        "tscore": [
            {
                "label": f"T-score, {code_label(site).lower()}",
                "points": [
                    {"x": s.performed_date.isoformat(), "y": float(s.t_score)}
                    for s in record.bone_density
                    if s.site == site and s.t_score is not None
                ],
            }
            for site in record.bmd_series
        ],
    }
    return render(
        request,
        "chart/patient_detail.html",
        {
            "record": record,
            "patient": patient,
            "can_write": can_write,
            "active_episodes": active,
            "forms": forms,
            "form_order": [
                "pain",
                "measure",
                "flag",
                "imaging",
                "dxa",
                "medication",
                "medication_stop",
                *(["medication_verify"] if verify_shown else []),
                "procedure",
                "death",
            ],
            "patient_forms": PATIENT_FORMS,
            "form_labels": FORM_LABELS,
            "open_form": open_form,
            "episode_form": episode_form or EpisodeForm(prefix="episode"),
            "chart": chart,
            "role": scope.role(patient.clinic_id),
            "age": _age(patient.birth_date, patient.deceased_date or today),
            "multi_episode": len(record.episodes) > 1,
            **task_action_context(scope, todays, now),
            "min_snooze": today + timedelta(days=1),
            "new_key": request.GET.get("new", ""),
            "oldest_first": request.GET.get("timeline") == "oldest",
            "closed_rows": [
                make_row(t, todays) for v in record.episodes for t in v.closed_by_person
            ],
            # "Who looked at this patient": for the clinic's physicians.
            "recent_access": (
                recent_for_patient(patient.id)
                if scope.role(patient.clinic_id) == "physician"
                else None
            ),
            **(extra or {}),
        },
        status=status,
    )


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@login_required
@require_GET
def patient_detail(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    now = timezone.now()
    patient = patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.view")
    return render_patient(request, patient, now)


@login_required
@require_http_methods(["GET", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope = get_scope(request)
    clinics = scope.writable_clinics or [c for c in scope.all_clinics if scope.can_write(c.id)]
    if not clinics:
        return forbidden("Your role cannot create patients.")
    # An empty POST is still a submission (bound): it gets its errors, not a 500.
    form = PatientForm(request.POST if request.method == "POST" else None, clinics=clinics)
    if request.method == "POST":
        form.is_valid()
        clinic = next((c for c in clinics if str(c.id) == request.POST.get("clinic")), None)
        if clinic is None:
            form.add_error("clinic", "Choose one of your clinics.")
        else:
            data = form.data_for_service()
            data.pop("clinic", None)
            found = FieldErrors()
            values = parse_patient(data, found)
            try:
                # The scope's clinics are patients.models.Clinic rows.
                patient = patient_create(
                    clinic=cast(Clinic, clinic), **values, now=now, errors=found
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                audit.note(request, patient_ids=[patient.id], action="patient.create")
                messages.success(
                    request,
                    f"Patient {patient.full_name} created. Record the fracture episode next.",
                )
                return HttpResponseRedirect(
                    reverse("patient_detail", args=[patient.id]) + "#new-episode"
                )
    # The empty form shows no patient; the area is still noted.
    audit.note(request, action="patient.new")
    status = 422 if request.method == "POST" else 200
    return render(request, "chart/patient_form.html", {"form": form}, status=status)


@login_required
@require_POST
def episode_new(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    now = timezone.now()
    patient = patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="episode.create")
    if not get_scope(request).can_write(patient.clinic_id):
        return forbidden("Your role in this clinic can read but not record.")
    form = EpisodeForm(request.POST, prefix="episode")
    form.is_valid()
    found = FieldErrors()
    values = parse_episode(form.data_for_service(), found)
    try:
        episode = episode_create(
            patient=patient, **values, now=now, actor_id=request.user.pk, errors=found
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return render_patient(
            request, patient, now, status=422, episode_form=form, open_form="episode"
        )
    raised = episode.tasks.filter(status="open").count()
    messages.success(
        request,
        f"Episode {'/'.join(episode.levels)} created in phase {episode.phase.replace('_', ' ')}; "
        f"{raised} open task(s) raised.",
    )
    return HttpResponseRedirect(reverse("patient_detail", args=[patient.id]))
