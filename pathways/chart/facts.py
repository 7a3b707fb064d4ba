"""Facts recorded and voided from the patient chart (medications, DXA, pain,
imaging, procedures, date of death): the form beside its card, errors beside
the fields, the engine re-evaluating after the write."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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
from pathways.inputs.facts import parse_fact
from pathways.models import Episode, Imaging, Observation, Procedure
from pathways.services import fact_record, fact_void
from pathways.services.patient_facts import (
    bone_density_record,
    medication_record,
    medication_update,
    medication_verify,
    patient_fact_void,
    patient_record_death,
)
from patients.inputs import (
    parse_bone_density,
    parse_date,
    parse_medication,
    parse_medication_change,
)
from patients.models import BoneDensity, Medication, Patient
from vcftrack.core import audit
from vcftrack.core.errors import DomainError, FieldErrors
from vcftrack.core.forms import apply_errors
from vcftrack.core.labels import label as code_label
from vcftrack.core.web import get_scope


@dataclass
class _Entry:
    """One fact being recorded from the chart: its bound form and context."""

    request: HttpRequest
    patient: Patient
    episodes: list[Episode]
    form: Any
    now: datetime
    medications: list[Medication] = field(default_factory=list)

    @property
    def actor_id(self) -> int | None:
        return self.request.user.pk

    def chosen_medication(self, message: str) -> Medication:
        wanted = self.form.cleaned_data.get("medication")
        med = next((m for m in self.medications if str(m.id) == wanted), None)
        if med is None:
            raise ValidationError({"medication": [message]})
        med.patient = self.patient
        return med


def _bound_form(
    form_key: str, request: HttpRequest, patient: Patient, episodes: list[Episode]
) -> tuple[Any, list[Medication]]:
    """The form the chart posted, bound (404 for a form the chart has not)."""
    post = request.POST
    if form_key in EPISODE_FACT_FORMS:
        form_class = EPISODE_FACT_FORMS[form_key][0]
        return form_class(post, episodes=episodes, prefix=form_key), []
    simple = {"medication": MedicationForm, "death": DeathForm, "dxa": BoneDensityForm}
    if form_key in simple:
        return simple[form_key](post, prefix=form_key), []
    alive = Medication.objects.alive().filter(patient=patient)
    if form_key == "medication_stop":
        meds = list(alive)
        return MedicationStopForm(post, prefix=form_key, medications=meds), meds
    if form_key == "medication_verify":
        meds = list(alive.filter(unverified=True))
        return MedicationVerifyForm(post, prefix=form_key, medications=meds), meds
    raise Http404("Unknown form")


# Each saver records one kind of fact and answers (key of the new timeline
# entry or "", what the confirmation calls it).
def _save_episode_fact(entry: _Entry, form_key: str) -> tuple[str, str]:
    _form_class, kind, label = EPISODE_FACT_FORMS[form_key]
    wanted = entry.form.cleaned_data.get("episode")
    chosen = next((e for e in entry.episodes if str(e.id) == wanted), None)
    if chosen is None:
        raise ValidationError({"episode": ["Choose an open episode of this patient."]})
    chosen.clinic = entry.patient.clinic
    found = FieldErrors()
    values = parse_fact(kind, entry.form.fact_data(), found)
    created = fact_record(
        episode=chosen, values=values, now=entry.now, actor_id=entry.actor_id, errors=found
    )
    return f"{kind}:{created.id}", label


def _save_medication(entry: _Entry, _key: str) -> tuple[str, str]:
    found = FieldErrors()
    values = parse_medication(entry.form.data_for_service(), found)
    created = medication_record(
        patient=entry.patient, **values, now=entry.now, actor_id=entry.actor_id, errors=found
    )
    return f"medication:{created.id}", f"{code_label(created.drug)} start"


def _save_medication_stop(entry: _Entry, _key: str) -> tuple[str, str]:
    med = entry.chosen_medication("Choose a medication that is still active.")
    found = FieldErrors()
    values = parse_medication_change(
        med, {"stop_date": entry.form.cleaned_data.get("stop_date")}, found
    )
    medication_update(
        medication=med, **values, now=entry.now, actor_id=entry.actor_id, errors=found
    )
    return "", f"{code_label(med.drug)} stop"


def _save_medication_verify(entry: _Entry, _key: str) -> tuple[str, str]:
    med = entry.chosen_medication("Choose an imported medication that is not yet verified.")
    medication_verify(medication=med, actor=entry.request.user, now=entry.now)
    return "", f"Medication {med.drug.replace('_', ' ')} verified"


def _save_death(entry: _Entry, _key: str) -> tuple[str, str]:
    found = FieldErrors()
    death = parse_date(found, "deceased_date", entry.form.cleaned_data.get("deceased_date"))
    patient_record_death(
        patient=entry.patient,
        deceased_date=death,
        actor=entry.request.user,
        now=entry.now,
        errors=found,
    )
    return "", "Date of death"


def _save_dxa(entry: _Entry, _key: str) -> tuple[str, str]:
    found = FieldErrors()
    values = parse_bone_density(entry.form.data_for_service(), found)
    created = bone_density_record(
        patient=entry.patient, **values, now=entry.now, actor_id=entry.actor_id, errors=found
    )
    return f"dxa:{created.id}", "DXA"


SAVERS: dict[str, Callable[[_Entry, str], tuple[str, str]]] = {
    **dict.fromkeys(EPISODE_FACT_FORMS, _save_episode_fact),
    "medication": _save_medication,
    "medication_stop": _save_medication_stop,
    "medication_verify": _save_medication_verify,
    "death": _save_death,
    "dxa": _save_dxa,
}


@login_required
@require_POST
def record_fact(request: HttpRequest, patient_id: uuid.UUID, form_key: str) -> HttpResponse:
    """Record one fact, re-evaluate, and tell the person what changed."""
    now = timezone.now()
    patient = patient_or_404(request, patient_id)
    audit.note(request, patient_ids=[patient.id], action="patient.record")
    if not get_scope(request).can_write(patient.clinic_id):
        return forbidden("Your role in this clinic can read but not record.")
    episodes = list(Episode.objects.active().filter(patient=patient).order_by("-identified_date"))
    ids = [e.id for e in episodes]
    form, medications = _bound_form(form_key, request, patient, episodes)
    form.is_valid()
    before = episode_snapshot(ids)
    entry = _Entry(request, patient, episodes, form, now, medications)
    try:
        new_key, description = SAVERS[form_key](entry, form_key)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, ValidationError):
            apply_errors(form, exc)
        else:
            form.add_error(None, exc.message)
        status = 422 if isinstance(exc, ValidationError) else 409
        return render_patient(
            request, patient, now, bound={form_key: form}, open_form=form_key, status=status
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
