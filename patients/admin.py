from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from patients.models import AccessEvent, BoneDensity, Clinic, Medication, Membership, Patient
from patients.services import check_death_date, patient_update
from vcftrack.errors import FieldErrors


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


class BoneDensityInline(admin.TabularInline[BoneDensity, Patient]):
    model = BoneDensity
    extra = 0
    fields = ("performed_date", "site", "bmd_g_cm2", "t_score", "deleted_at")
    readonly_fields = fields
    can_delete = False


class PatientAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Patient
        fields = [
            *("clinic", "mrn", "given_name", "family_name", "birth_date", "sex"),
            *("deceased_date", "deleted_at"),
        ]

    def clean(self) -> dict[str, Any]:
        """The date of death is checked as the API checks it (not future, not before birth)."""
        data = super().clean() or {}
        clinic = data.get("clinic") or getattr(self.instance, "clinic", None)
        if clinic is not None and "deceased_date" in data:
            errors = FieldErrors()
            check_death_date(
                errors,
                data["deceased_date"],
                birth=data.get("birth_date"),
                today=clinic.today(timezone.now()),
            )
            for message in errors.errors.get("deceased_date", []):
                self.add_error("deceased_date", message)
        return data


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
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
    readonly_fields = ("version", "created_at", "updated_at", "change_seq", "recorded_on")
    inlines = [MedicationInline, BoneDensityInline]

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        # A changed date of death goes through the service, which re-evaluates
        # the patient's episodes (and moves recorded_on, which bounds the date).
        if not (change and "deceased_date" in form.changed_data):
            super().save_model(request, obj, form, change)
            return
        death = obj.deceased_date
        obj.deceased_date = form.initial.get("deceased_date")
        super().save_model(request, obj, form, change)
        patient_update(
            patient=obj, data={"deceased_date": death}, now=timezone.now(), actor_id=request.user.pk
        )


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin[AccessEvent]):
    list_display = ("at", "user", "patient", "action", "channel")
    list_filter = ("action", "channel")
    raw_id_fields = ("patient",)
