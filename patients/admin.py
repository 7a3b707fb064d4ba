from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from patients.inputs import parse_patient_changes
from patients.models import BoneDensity, Clinic, Medication, Membership, Patient
from patients.services import check_death_date, patient_change, patient_changes
from vcftrack.core.audit.admin import PatientDataAdmin
from vcftrack.core.errors import FieldErrors


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin[Clinic]):
    list_display = ("name", "code", "timezone")
    search_fields = ("name", "code")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "clinic", "role", "lead")
    list_filter = ("role", "clinic", "lead")


class MedicationInline(admin.TabularInline[Medication, Patient]):
    model = Medication
    extra = 0
    fields = ("drug", "start_date", "stop_date", "dose", "route", "unverified", "deleted_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BoneDensityInline(admin.TabularInline[BoneDensity, Patient]):
    model = BoneDensity
    extra = 0
    fields = ("performed_date", "site", "bmd_g_cm2", "t_score", "deleted_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PatientAdminForm(forms.ModelForm):
    """Only the date of death is edited here, and it is written by the service."""

    class Meta:
        model = Patient
        fields = ["deceased_date"]

    def clean(self) -> dict[str, Any]:
        """The date of death is checked as the API checks it (not future, not before birth)."""
        data = super().clean() or {}
        clinic = getattr(self.instance, "clinic", None)
        if clinic is not None and "deceased_date" in data:
            errors = FieldErrors()
            check_death_date(
                errors,
                data["deceased_date"],
                birth=self.instance.birth_date,
                today=clinic.today(timezone.now()),
            )
            for message in errors.errors.get("deceased_date", []):
                self.add_error("deceased_date", message)
        return data


@admin.register(Patient)
class PatientAdmin(PatientDataAdmin):
    """Read-only but for the date of death (through ``patient_update``). No
    deletes: a patient is tombstoned by the services, never removed, so
    nothing of theirs - audit, history, tasks - goes with them."""

    audit_patient_path = "pk"
    form = PatientAdminForm
    list_display = (
        "family_name",
        "given_name",
        "mrn",
        "clinic",
        "birth_date",
        "sex",
        "deceased_date",
        "deleted_at",
    )
    list_filter = ("clinic", "sex", ("deceased_date", admin.EmptyFieldListFilter))
    search_fields = ("mrn", "family_name", "given_name")
    list_select_related = ("clinic",)
    readonly_fields = (
        *("clinic", "mrn", "given_name", "family_name", "birth_date", "sex", "deleted_at"),
        *("phone", "phone_alt", "contact_time"),
        *("version", "created_at", "updated_at", "change_seq", "recorded_on"),
    )
    inlines = [MedicationInline, BoneDensityInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_staff and request.user.has_perm("patients.change_patient"))

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        # The service writes; the admin's own save would go past its checks
        # and its history. (The pathway app registers a subclass that also
        # re-evaluates the patient's episodes: a date of death ends them.)
        if change and "deceased_date" in form.changed_data:
            death = obj.deceased_date
            obj.refresh_from_db()
            self.write_death(request, obj, death)

    def write_death(self, request: HttpRequest, patient: Patient, death: Any) -> None:
        now = timezone.now()
        today = patient.clinic.today(now)
        found = FieldErrors()
        changes = parse_patient_changes({"deceased_date": death}, found)
        values = patient_changes(patient=patient, changes=changes, today=today, errors=found)
        patient_change(patient=patient, values=values, today=today, now=now)
