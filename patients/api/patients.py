"""Patients of your clinics: list, read, create."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from patients.inputs import parse_patient
from patients.models import Clinic, Patient, Sex
from patients.services import patient_create
from vcftrack.core.api.errors import ApiError
from vcftrack.core.api.history import HistoryMixin
from vcftrack.core.api.inputs import Errors, parse_uuid
from vcftrack.core.api.serializers import (
    StrictModelSerializer,
    list_of,
    writable_fields,
)
from vcftrack.core.api.views import ApiViewSet
from vcftrack.core.errors import FieldErrors
from vcftrack.core.scoping import may_write, roles_for


class PatientSerializer(StrictModelSerializer):
    class Meta:
        model = Patient
        fields = [
            "id",
            "clinic",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "deceased_date",
            "phone",
            "phone_alt",
            "contact_time",
            "version",
            "created_at",
            "updated_at",
        ]


DECEASED_HELP = (
    "Date of death; null if the patient is not known to have died. Not in the future, "
    "not before birth_date. A deceased patient's pathway raises no further task."
)


class PatientUpdateSerializer(serializers.Serializer[Any]):
    mrn = serializers.CharField(max_length=64, help_text="Unique per clinic.")
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    birth_date = serializers.DateField(help_text="Not in the future.")
    sex = serializers.ChoiceField(choices=Sex.choices)
    deceased_date = serializers.DateField(required=False, allow_null=True, help_text=DECEASED_HELP)
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="As written: +49 30 1234-567."
    )
    phone_alt = serializers.CharField(max_length=32, required=False, allow_blank=True)
    contact_time = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="E.g. weekday mornings."
    )


class PatientCreateSerializer(PatientUpdateSerializer):
    clinic = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Required if you can write in more than one clinic (absent or null: "
        "the one clinic you can write in).",
    )
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, default="unknown")


class PatientFilter(django_filters.FilterSet):
    clinic = django_filters.UUIDFilter(field_name="clinic_id")
    mrn = django_filters.CharFilter(field_name="mrn")
    family_name = django_filters.CharFilter(field_name="family_name", lookup_expr="istartswith")
    birth_date = django_filters.DateFilter(field_name="birth_date")

    class Meta:
        model = Patient
        fields: list[str] = []


def resolve_clinic(view: ApiViewSet, value: object, errors: Errors) -> Clinic | None:
    """The clinic a new patient goes to; 404 for a clinic that is not yours."""
    user = view.request.user
    roles = roles_for(user)
    if value is None:
        writable = [cid for cid, role in roles.items() if may_write(role)]
        if len(roles) == 1 or len(writable) == 1:
            return Clinic.objects.get(pk=writable[0] if writable else next(iter(roles)))
        errors.setdefault("clinic", []).append(
            "This field is required (you can write in more than one clinic)."
            if writable
            else "This field is required."
        )
        return None
    clinic_id = parse_uuid(value, "clinic", errors)
    if clinic_id is None:
        return None
    if clinic_id not in roles:
        raise ApiError(
            "No such clinic among yours.",
            status_code=404,
            code="not_found",
            errors={"clinic": ["No such clinic among yours."]},
        )
    return Clinic.objects.get(pk=clinic_id)


@extend_schema_view(
    list=extend_schema(responses=list_of(PatientSerializer, "Patient")),
    create=extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer}),
)
class PatientViewSet(HistoryMixin, ApiViewSet):
    """Patients of your clinics. Deleting leaves a tombstone for syncing clients.

    Reads and creation; the changes that re-evaluate a pathway (update,
    delete) are added by the pathway app's subclass, which the API routes.
    """

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["family_name", "given_name", "birth_date", "mrn", "created_at", "updated_at"]
    ordering = ("family_name", "given_name")
    sync_filters = ("clinic",)

    def patient_id_of(self, row: Patient) -> uuid.UUID | None:
        return row.pk

    def scoped(self) -> QuerySet[Patient]:
        return Patient.objects.filter(clinic_id__in=self.clinic_ids())

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data, errors = self.body(request, allowed=writable_fields(PatientCreateSerializer))
        clinic = resolve_clinic(self, data.pop("clinic", None), errors)
        if clinic is not None:
            self.require_writer(clinic.id)
        target = clinic or Clinic.objects.filter(id__in=self.clinic_ids()).first()
        if target is None:
            self.run_service(lambda: None, errors)
        assert target is not None  # run_service raised: errors name the clinic
        found = FieldErrors()
        values = parse_patient(data, found)
        patient = self.run_service(
            lambda: patient_create(clinic=target, **values, now=self.now, errors=found),
            errors,
        )
        return self.object_response(patient, 201)
