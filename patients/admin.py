from __future__ import annotations

from django.contrib import admin

from patients.models import AccessEvent, BoneDensity, Clinic, Medication, Membership, Patient


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
    fields = ("drug", "start_date", "stop_date", "dose", "route", "deleted_at")
    readonly_fields = fields
    can_delete = False


class BoneDensityInline(admin.TabularInline[BoneDensity, Patient]):
    model = BoneDensity
    extra = 0
    fields = ("performed_date", "site", "bmd_g_cm2", "t_score", "deleted_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    list_display = ("family_name", "given_name", "mrn", "clinic", "birth_date", "sex", "deleted_at")
    list_filter = ("clinic", "sex")
    search_fields = ("mrn", "family_name", "given_name")
    list_select_related = ("clinic",)
    readonly_fields = ("version", "created_at", "updated_at", "change_seq", "recorded_on")
    inlines = [MedicationInline, BoneDensityInline]


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin[AccessEvent]):
    list_display = ("at", "user", "patient", "action", "channel")
    list_filter = ("action", "channel")
    raw_id_fields = ("patient",)
