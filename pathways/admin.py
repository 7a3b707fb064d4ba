"""The Django admin: usable before (and beside) the dedicated web UI.

Clinical rows are read-only here (``PatientDataAdmin``): they change only
through the services, in the web UI and the API, with their checks, the
re-evaluation and the change history. Every admin page notes what it showed
in the access audit.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from pathways.models import Episode, FollowUpTask, Imaging, Observation, PhaseTransition, Procedure
from pathways.services.patient_facts import patient_update
from patients.admin import PatientAdmin
from patients.inputs import parse_patient_changes
from patients.models import Patient
from vcftrack.core.audit.admin import PatientDataAdmin
from vcftrack.core.errors import FieldErrors


class TransitionInline(admin.TabularInline[PhaseTransition, Episode]):
    model = PhaseTransition
    extra = 0
    fields = ("at", "effective_date", "from_phase", "to_phase", "cause", "actor_kind", "actor")
    readonly_fields = fields
    can_delete = False


class TaskInline(admin.TabularInline[FollowUpTask, Episode]):
    model = FollowUpTask
    extra = 0
    fields = ("rule", "occurrence", "due_date", "priority", "status", "reason")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Episode)
class EpisodeAdmin(PatientDataAdmin):
    list_display = (
        "patient",
        "levels_display",
        "identified_date",
        "phase",
        "status",
        "next_review_at",
        "sweep_failures",
    )
    list_filter = ("phase", "status", "clinic", "etiology", "pathway_version")
    search_fields = ("patient__mrn", "patient__family_name")
    list_select_related = ("patient",)
    date_hierarchy = "identified_date"
    readonly_fields = (
        "phase",
        "next_review_at",
        "version",
        "change_seq",
        "created_at",
        "updated_at",
        "flags",
        "sweep_error",
    )
    inlines = [TransitionInline, TaskInline]

    @admin.display(description="levels")
    def levels_display(self, obj: Episode) -> str:
        return ", ".join(obj.levels)


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(PatientDataAdmin):
    list_display = (
        "rule",
        "occurrence",
        "episode",
        "due_date",
        "priority",
        "status",
        "assignee",
        "closed_at",
    )
    list_filter = ("rule", "status", "priority", "clinic", ("due_date", admin.DateFieldListFilter))
    search_fields = ("rule", "patient__mrn", "patient__family_name")
    list_select_related = ("patient", "episode", "assignee")
    date_hierarchy = "due_date"
    raw_id_fields = ("episode", "assignee", "closed_by")


@admin.register(PhaseTransition)
class PhaseTransitionAdmin(PatientDataAdmin):
    audit_patient_path = "episode__patient_id"
    list_display = (
        "episode",
        "from_phase",
        "to_phase",
        "at",
        "effective_date",
        "actor_kind",
        "cause",
    )
    list_filter = ("to_phase", "actor_kind")
    list_select_related = ("episode__patient",)
    raw_id_fields = ("episode", "actor")


class FactAdmin(PatientDataAdmin):
    audit_patient_path = "episode__patient_id"
    list_display = ("episode", "__str__", "recorded_on", "deleted_at")


for model in (Observation, Imaging, Procedure):
    admin.site.register(model, FactAdmin)


class PathwayPatientAdmin(PatientAdmin):
    """The patients app's admin; a date of death entered here re-evaluates the
    patient's episodes (the engine closes what a deceased patient no longer needs)."""

    def write_death(self, request: HttpRequest, patient: Patient, death: Any) -> None:
        found = FieldErrors()
        changes = parse_patient_changes({"deceased_date": death}, found)
        patient_update(
            patient=patient, now=timezone.now(), actor_id=request.user.pk, errors=found, **changes
        )


admin.site.unregister(Patient)
admin.site.register(Patient, PathwayPatientAdmin)
