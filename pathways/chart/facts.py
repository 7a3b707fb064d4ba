"""Facts recorded and voided from the patient chart (medications, DXA, pain,
imaging, procedures, date of death): the form beside its card, errors beside
the fields, the engine re-evaluating after the write."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pathways.chart.episode_forms import EPISODE_FACT_FORMS
from pathways.chart.forms import (
    BoneDensityForm,
    DeathForm,
    MedicationForm,
    MedicationStopForm,
    MedicationVerifyForm,
)
from pathways.chart.selectors import describe_changes, episode_snapshot
from pathways.chart.views import forbidden, patient_or_404, render_patient
from pathways.models import Episode, Imaging, Observation, Procedure
from pathways.services import fact_record, fact_void
from patients.models import BoneDensity, Medication
from patients.services import (
    bone_density_record,
    medication_record,
    medication_update,
    medication_verify,
    patient_fact_void,
    patient_record_death,
)
from vcftrack.core import audit
from vcftrack.core.errors import DomainError
from vcftrack.core.forms import apply_errors
from vcftrack.core.labels import label as code_label
from vcftrack.core.web import get_scope


@login_required
@require_POST
def record_fact(request: HttpRequest, patient_id: uuid.UUID, form_key: str) -> HttpResponse:
    """Record one fact, re-evaluate, and tell the person what changed."""
    now = timezone.now()
    patient = patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.record")
    scope = get_scope(request)
    if not scope.can_write(patient.clinic_id):
        return forbidden("Your role in this clinic can read but not record.")
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
        return render_patient(
            request, patient, now, bound={form_key: form}, open_form=form_key, status=422
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return render_patient(
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
    patient = patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.void")
    if kind not in VOIDABLE:
        raise Http404("Unknown entry")
    if not get_scope(request).can_write(patient.clinic_id):
        return forbidden("Your role in this clinic can read but not change the record.")
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
        return render_patient(
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
