"""Web views of the patients app: the patient page, new patient / episode,
recording facts.

A patient of a clinic the user is not a member of is a 404 (not a 403: the
page does not tell an outsider that the record exists). A viewer reads;
writes answer 403. Every view notes the patients it showed or changed in the
access audit (``vcftrack.core.audit``); physicians see who looked at a patient.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pathways.forms import EPISODE_FACT_FORMS, EpisodeForm
from pathways.models import Episode, EpisodeStatus, Imaging, Observation, Procedure
from pathways.selectors import (
    assignable_by_clinic,
    describe_changes,
    episode_snapshot,
    make_row,
    patient_record,
)
from pathways.services import episode_create, fact_record, fact_void
from pathways.services.patient_facts import (
    bone_density_record,
    medication_record,
    medication_update,
    medication_verify,
    patient_fact_void,
    patient_record_death,
)
from pathways.views import task_action_context
from patients.forms import (
    BoneDensityForm,
    DeathForm,
    MedicationForm,
    MedicationStopForm,
    MedicationVerifyForm,
    PatientForm,
    apply_errors,
)
from patients.models import BoneDensity, Clinic, Medication, Patient
from patients.services import patient_create
from vcftrack.core import audit
from vcftrack.core.audit.selectors import recent_for_patient
from vcftrack.core.errors import DomainError
from vcftrack.core.labels import label as code_label
from vcftrack.core.web import get_scope

PATIENT_PAGE = 50


def _patient_or_404(request: HttpRequest, patient_id: uuid.UUID) -> Patient:
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


def _forbidden(message: str) -> HttpResponse:
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
        "patients/patient_list.html",
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


def _render_patient(
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
        "patients/patient_detail.html",
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
    patient = _patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.view")
    return _render_patient(request, patient, now)


@login_required
@require_POST
def record_fact(request: HttpRequest, patient_id: uuid.UUID, form_key: str) -> HttpResponse:
    """Record one fact, re-evaluate, and tell the person what changed."""
    now = timezone.now()
    patient = _patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.record")
    scope = get_scope(request)
    if not scope.can_write(patient.clinic_id):
        return _forbidden("Your role in this clinic can read but not record.")
    episodes = list(Episode.objects.active().filter(patient=patient).order_by("-identified_date"))
    ids = [e.id for e in episodes]
    form: Any
    description = ""
    before = episode_snapshot(ids)
    try:
        if form_key in EPISODE_FACT_FORMS:
            form_class, kind, label = EPISODE_FACT_FORMS[form_key]
            form = form_class(request.POST, episodes=episodes, prefix=form_key)
            form.is_valid()
            chosen = next(
                (e for e in episodes if str(e.id) == form.cleaned_data.get("episode")), None
            )
            if chosen is None:
                raise ValidationError({"episode": ["Choose an open episode of this patient."]})
            chosen.clinic = patient.clinic
            data = form.fact_data()
            created: Any = fact_record(
                episode=chosen, kind=kind, data=data, now=now, actor_id=request.user.pk
            )
            new_key = f"{kind}:{created.id}"
            description = label
        elif form_key == "medication":
            form = MedicationForm(request.POST, prefix=form_key)
            form.is_valid()
            created = medication_record(
                patient=patient, data=form.data_for_service(), now=now, actor_id=request.user.pk
            )
            new_key = f"medication:{created.id}"
            description = f"{code_label(created.drug)} start"
        elif form_key == "medication_stop":
            meds = list(Medication.objects.alive().filter(patient=patient))
            form = MedicationStopForm(request.POST, prefix=form_key, medications=meds)
            form.is_valid()
            med = next((m for m in meds if str(m.id) == form.cleaned_data.get("medication")), None)
            if med is None:
                raise ValidationError({"medication": ["Choose a medication that is still active."]})
            med.patient = patient
            medication_update(
                medication=med,
                data={"stop_date": form.cleaned_data.get("stop_date")},
                now=now,
                actor_id=request.user.pk,
            )
            new_key = ""
            description = f"{code_label(med.drug)} stop"
        elif form_key == "medication_verify":
            meds = list(Medication.objects.alive().filter(patient=patient, unverified=True))
            form = MedicationVerifyForm(request.POST, prefix=form_key, medications=meds)
            form.is_valid()
            med = next((m for m in meds if str(m.id) == form.cleaned_data.get("medication")), None)
            if med is None:
                raise ValidationError(
                    {"medication": ["Choose an imported medication that is not yet verified."]}
                )
            med.patient = patient
            medication_verify(medication=med, actor=request.user, now=now)
            new_key = ""
            description = f"Medication {med.drug.replace('_', ' ')} verified"
        elif form_key == "death":
            form = DeathForm(request.POST, prefix=form_key)
            form.is_valid()
            patient_record_death(
                patient=patient,
                deceased_date=form.cleaned_data.get("deceased_date"),
                actor=request.user,
                now=now,
            )
            new_key = ""
            description = "Date of death"
        elif form_key == "dxa":
            form = BoneDensityForm(request.POST, prefix=form_key)
            form.is_valid()
            created = bone_density_record(
                patient=patient, data=form.data_for_service(), now=now, actor_id=request.user.pk
            )
            new_key = f"dxa:{created.id}"
            description = "DXA"
        else:
            raise Http404("Unknown form")
    except ValidationError as exc:
        apply_errors(form, exc)
        return _render_patient(
            request, patient, now, bound={form_key: form}, open_form=form_key, status=422
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _render_patient(
            request, patient, now, bound={form_key: form}, open_form=form_key, status=409
        )
    # The services re-evaluated on commit (no request-wide transaction), so
    # the snapshot after is the new state.
    changes = describe_changes(before, episode_snapshot(ids))
    messages.success(request, f"{description} recorded.", extra_tags="recorded")
    for change in changes:
        messages.info(request, change, extra_tags="change")
    if not changes:
        messages.info(request, "No task or phase changed.", extra_tags="change")
    # Land at the top, where the change summary is; the new entry is marked.
    query = f"?{urlencode({'new': new_key})}" if new_key else ""
    return HttpResponseRedirect(reverse("patient_detail", args=[patient.id]) + query)


VOIDABLE: dict[str, Any] = {
    "observation": Observation,
    "imaging": Imaging,
    "procedure": Procedure,
    "medication": Medication,
    "dxa": BoneDensity,
}


@login_required
@require_POST
def void_fact(
    request: HttpRequest, patient_id: uuid.UUID, kind: str, fact_id: uuid.UUID
) -> HttpResponse:
    """Void an entry recorded by mistake, with the reason; the pathway is
    re-evaluated and the person is told what changed."""
    now = timezone.now()
    patient = _patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.void")
    if kind not in VOIDABLE:
        raise Http404("Unknown entry")
    if not get_scope(request).can_write(patient.clinic_id):
        return _forbidden("Your role in this clinic can read but not change the record.")
    model = VOIDABLE[kind]
    owner = Q(patient=patient) if kind in ("medication", "dxa") else Q(episode__patient=patient)
    record = model.objects.alive().filter(owner, pk=fact_id).first()
    if record is None:
        raise Http404("No such entry")
    ids = list(Episode.objects.active().filter(patient=patient).values_list("id", flat=True))
    before = episode_snapshot(ids)
    try:
        if kind in ("medication", "dxa"):
            record.patient = patient
            patient_fact_void(
                record=record, reason=request.POST.get("reason"), now=now, actor_id=request.user.pk
            )
        else:
            fact_void(
                fact=record, reason=request.POST.get("reason"), now=now, actor_id=request.user.pk
            )
    except ValidationError as exc:
        text = " ".join(t for texts in exc.message_dict.values() for t in texts)
        return _render_patient(
            request,
            patient,
            now,
            status=422,
            extra={"void_error": {"key": f"{kind}:{fact_id}", "text": f"Reason: {text}"}},
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("patient_detail", args=[patient.id]))
    messages.success(request, "Entry voided.", extra_tags="recorded")
    for change in describe_changes(before, episode_snapshot(ids)) or ["No task or phase changed."]:
        messages.info(request, change, extra_tags="change")
    return HttpResponseRedirect(reverse("patient_detail", args=[patient.id]))


@login_required
@require_http_methods(["GET", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope = get_scope(request)
    clinics = scope.writable_clinics or [c for c in scope.all_clinics if scope.can_write(c.id)]
    if not clinics:
        return _forbidden("Your role cannot create patients.")
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
            try:
                # The scope's clinics are patients.models.Clinic rows.
                patient = patient_create(clinic=cast(Clinic, clinic), now=now, **data)
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
    return render(request, "patients/patient_form.html", {"form": form}, status=status)


@login_required
@require_POST
def episode_new(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    now = timezone.now()
    patient = _patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="episode.create")
    if not get_scope(request).can_write(patient.clinic_id):
        return _forbidden("Your role in this clinic can read but not record.")
    form = EpisodeForm(request.POST, prefix="episode")
    form.is_valid()
    data = {
        k: v for k, v in form.data_for_service().items() if v not in ("", None) or k == "levels"
    }
    try:
        episode = episode_create(patient=patient, data=data, now=now, actor_id=request.user.pk)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _render_patient(
            request, patient, now, status=422, episode_form=form, open_form="episode"
        )
    raised = episode.tasks.filter(status="open").count()
    messages.success(
        request,
        f"Episode {'/'.join(episode.levels)} created in phase {episode.phase.replace('_', ' ')}; "
        f"{raised} open task(s) raised.",
    )
    return HttpResponseRedirect(reverse("patient_detail", args=[patient.id]))
