"""The patient resource as the API routes it: the patients app's reads and
creation, plus the changes that re-evaluate the patient's pathway (a date of
death ends it; a patient with episodes cannot be deleted)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from pathways.services.patient_facts import patient_delete, patient_update
from patients.api import patients as base
from patients.inputs import parse_patient_changes
from patients.models import Patient
from vcftrack.core.api.serializers import list_of
from vcftrack.core.errors import FieldErrors


@extend_schema_view(
    list=extend_schema(responses=list_of(base.PatientSerializer, "Patient")),
    create=extend_schema(
        request=base.PatientCreateSerializer, responses={201: base.PatientSerializer}
    ),
    update=extend_schema(request=base.PatientUpdateSerializer),
    partial_update=extend_schema(request=base.PatientUpdateSerializer),
)
class PatientViewSet(base.PatientViewSet):
    """Patients of your clinics. Deleting leaves a tombstone for syncing clients."""

    def update(
        self, request: Request, *args: object, partial: bool = False, **kwargs: object
    ) -> Response:
        def change(patient: Patient, data: dict[str, Any]) -> Patient:
            found = FieldErrors()
            changes = parse_patient_changes(data, found)
            return patient_update(
                patient=patient,
                now=self.now,
                actor_id=self.request.user.pk,
                errors=found,
                **changes,
            )

        return self.change(request, base.PatientUpdateSerializer, change, partial=partial)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        def delete(patient: Patient) -> None:
            patient_delete(patient=patient, now=self.now)

        return self.write(request, update=delete)
