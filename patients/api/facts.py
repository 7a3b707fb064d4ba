"""Patient-level facts: medications and DXA scans, what the API shows and
what a write sends, and the read-only listings across your clinics.

The nested routes that write them (``/patients/{id}/medications/`` ...)
re-evaluate the patient's pathway, so the pathway app builds them on
``PatientFactViewSet``.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request

from patients.models import BoneDensity, Drug, DxaSite, Medication, Patient, Route
from vcftrack.core.api.errors import not_found
from vcftrack.core.api.history import HistoryMixin
from vcftrack.core.api.serializers import StrictModelSerializer, list_of
from vcftrack.core.api.views import ApiViewSet


class MedicationSerializer(StrictModelSerializer):
    drug_class = serializers.CharField(read_only=True)
    unverified = serializers.BooleanField(
        read_only=True,
        help_text="An imported prescription with no evidence in the 12 months before the "
        "import; it counts as on treatment until someone confirms it (POST …/verify/) or "
        "stops it.",
    )

    class Meta:
        model = Medication
        fields = [
            "id",
            "patient",
            "drug",
            "drug_class",
            "start_date",
            "stop_date",
            "dose",
            "route",
            "unverified",
            "version",
            "created_at",
            "updated_at",
        ]


class MedicationWriteSerializer(serializers.Serializer[Any]):
    drug = serializers.ChoiceField(choices=Drug.choices)
    start_date = serializers.DateField(help_text="Not in the future.")
    stop_date = serializers.DateField(
        required=False, allow_null=True, help_text="Not before start_date, not in the future."
    )
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(choices=Route.choices, required=False, allow_blank=True)


class BoneDensitySerializer(StrictModelSerializer):
    bmd_g_cm2 = serializers.DecimalField(max_digits=5, decimal_places=3, coerce_to_string=False)
    t_score = serializers.DecimalField(
        max_digits=3, decimal_places=1, coerce_to_string=False, allow_null=True
    )

    class Meta:
        model = BoneDensity
        fields = [
            "id",
            "patient",
            "performed_date",
            "site",
            "bmd_g_cm2",
            "t_score",
            "version",
            "created_at",
            "updated_at",
        ]


class BoneDensityWriteSerializer(serializers.Serializer[Any]):
    performed_date = serializers.DateField(help_text="Not in the future.")
    site = serializers.ChoiceField(choices=DxaSite.choices)
    bmd_g_cm2 = serializers.FloatField(min_value=0.1, max_value=2.5, help_text="g/cm².")
    t_score = serializers.FloatField(min_value=-7, max_value=5, required=False, allow_null=True)


class PatientFactFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id")

    class Meta:
        fields: list[str] = []


class MedicationFilter(PatientFactFilter):
    drug = django_filters.ChoiceFilter(choices=Drug.choices)

    class Meta:
        model = Medication
        fields: list[str] = []


class BoneDensityFilter(PatientFactFilter):
    site = django_filters.ChoiceFilter(choices=DxaSite.choices)

    class Meta:
        model = BoneDensity
        fields: list[str] = []


class PatientFactViewSet(HistoryMixin, ApiViewSet):
    """Shared by medications and bone density, nested or flat."""

    model: ClassVar[type[Medication] | type[BoneDensity]]
    nested: ClassVar[bool] = False
    patient: Patient
    sync_filters = ("patient",)

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        if self.nested:
            self.patient = self.parent_patient()

    def parent_patient(self) -> Patient:
        patient_id = self.kwargs.get("patient_pk")
        patient = (
            Patient.objects.alive()
            .select_related("clinic")
            .filter(pk=patient_id, clinic_id__in=self.clinic_ids())
            .first()
        )
        if patient is None:
            raise not_found()
        return patient

    def scoped(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.model.objects.none()
        qs = self.model.objects.filter(patient__clinic_id__in=self.clinic_ids())
        if self.nested:
            qs = qs.filter(patient_id=self.kwargs.get("patient_pk", ""))
        return qs

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped().filter(deleted_at__isnull=True, patient__deleted_at__isnull=True)

    def clinic_of(self, obj: Medication | BoneDensity) -> uuid.UUID:
        return self.patient.clinic_id if self.nested else obj.patient.clinic_id


@extend_schema_view(list=extend_schema(responses=list_of(MedicationSerializer, "Medication")))
class MedicationViewSet(PatientFactViewSet):
    """Medications of every patient of your clinics (read only; for sync)."""

    model = Medication
    serializer_class = MedicationSerializer
    filterset_class = MedicationFilter
    ordering_fields = ["start_date", "updated_at"]
    ordering = ("start_date",)


@extend_schema_view(list=extend_schema(responses=list_of(BoneDensitySerializer, "BoneDensity")))
class BoneDensityViewSet(PatientFactViewSet):
    """DXA scans of every patient of your clinics (read only; for sync)."""

    model = BoneDensity
    serializer_class = BoneDensitySerializer
    filterset_class = BoneDensityFilter
    ordering_fields = ["performed_date", "updated_at"]
    ordering = ("performed_date",)
