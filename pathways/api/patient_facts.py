"""A patient's medications and DXA scans under ``/patients/{id}/``: every
write re-evaluates the patient's pathway (``pathways.services.patient_facts``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pathways.services.patient_facts import (
    bone_density_delete,
    bone_density_record,
    medication_delete,
    medication_record,
    medication_update,
    medication_verify,
    patient_fact_void,
)
from patients.api.facts import (
    BoneDensityFilter,
    BoneDensitySerializer,
    BoneDensityWriteSerializer,
    MedicationFilter,
    MedicationSerializer,
    MedicationWriteSerializer,
    PatientFactViewSet,
)
from patients.inputs import parse_bone_density, parse_medication, parse_medication_change
from patients.models import BoneDensity, Medication
from vcftrack.core.api.serializers import (
    VoidSerializer,
    list_of,
    writable_fields,
)
from vcftrack.core.errors import FieldErrors


class PatientFactWriteViewSet(PatientFactViewSet):
    """Medications or DXA scans of one patient, with ``POST …/{id}/void/``."""

    nested = True

    @extend_schema(request=VoidSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def void(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Void the entry with the reason (required); the pathway is
        re-evaluated without it. Answers 204."""
        return self.change(
            request,
            VoidSerializer,
            lambda record, data: patient_fact_void(
                record=record, reason=data.get("reason"), now=self.now, actor_id=request.user.pk
            ),
        )


@extend_schema_view(
    list=extend_schema(responses=list_of(MedicationSerializer, "Medication")),
    create=extend_schema(request=MedicationWriteSerializer, responses={201: MedicationSerializer}),
    update=extend_schema(request=MedicationWriteSerializer),
    partial_update=extend_schema(request=MedicationWriteSerializer),
)
class PatientMedicationViewSet(PatientFactWriteViewSet):
    """A patient's medications; every episode of the patient sees them."""

    model = Medication
    serializer_class = MedicationSerializer
    filterset_class = MedicationFilter
    ordering_fields = ["start_date", "updated_at"]
    ordering = ("start_date",)
    object_actions = ("verify",)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data, errors = self.body(request, allowed=writable_fields(MedicationWriteSerializer))
        self.require_writer(self.patient.clinic_id)
        found = FieldErrors()
        values = parse_medication(data, found)
        med = self.run_service(
            lambda: medication_record(
                patient=self.patient,
                **values,
                now=self.now,
                actor_id=self.request.user.pk,
                errors=found,
            ),
            errors,
        )
        return self.object_response(med, 201)

    def update(
        self, request: Request, *args: object, partial: bool = False, **kwargs: object
    ) -> Response:
        def change(medication: Medication, data: dict[str, Any]) -> Medication:
            found = FieldErrors()
            values = parse_medication_change(medication, data, found)
            return medication_update(
                medication=medication,
                **values,
                now=self.now,
                actor_id=self.request.user.pk,
                errors=found,
            )

        return self.change(request, MedicationWriteSerializer, change, partial=partial)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.write(
            request,
            update=lambda m: medication_delete(
                medication=m, now=self.now, actor_id=self.request.user.pk
            ),
        )

    @extend_schema(request=None, responses=MedicationSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Confirm an imported prescription that is marked unverified (the patient takes it)."""
        _, errors = self.body(request, allowed=())

        def verify(med: Medication) -> Medication:
            verified: Medication = self.run_service(
                lambda: medication_verify(medication=med, actor=self.request.user, now=self.now),
                errors,
            )
            return verified

        return self.idempotent(request, lambda: self.write(request, update=verify))


@extend_schema_view(
    list=extend_schema(responses=list_of(BoneDensitySerializer, "BoneDensity")),
    create=extend_schema(
        request=BoneDensityWriteSerializer, responses={201: BoneDensitySerializer}
    ),
)
class PatientBoneDensityViewSet(PatientFactWriteViewSet):
    """A patient's DXA scans (recorded or deleted; a wrong scan is deleted and re-recorded)."""

    model = BoneDensity
    serializer_class = BoneDensitySerializer
    filterset_class = BoneDensityFilter
    ordering_fields = ["performed_date", "updated_at"]
    ordering = ("performed_date",)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data, errors = self.body(request, allowed=writable_fields(BoneDensityWriteSerializer))
        self.require_writer(self.patient.clinic_id)
        found = FieldErrors()
        values = parse_bone_density(data, found)
        scan = self.run_service(
            lambda: bone_density_record(
                patient=self.patient,
                **values,
                now=self.now,
                actor_id=self.request.user.pk,
                errors=found,
            ),
            errors,
        )
        return self.object_response(scan, 201)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.write(
            request,
            update=lambda s: bone_density_delete(
                scan=s, now=self.now, actor_id=self.request.user.pk
            ),
        )
