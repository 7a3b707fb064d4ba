"""Episodes: list, read, create (one or in bulk), change, close, delete, FHIR."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pathways.inputs.episodes import parse_close, parse_episode, parse_episode_changes
from pathways.interop.fhir.export import episode_bundle
from pathways.levels import LEVELS
from pathways.models import CloseReason, Episode, EpisodeStatus, Etiology, NeuroStatus, Phase
from pathways.services import (
    episode_close,
    episode_create,
    episode_delete,
    episode_update,
)
from pathways.services.locks import lock_rows
from patients.models import Patient
from vcftrack.core.api.bulk import MAX_BULK
from vcftrack.core.api.errors import ApiError
from vcftrack.core.api.history import HistoryMixin
from vcftrack.core.api.inputs import Errors, check_object, parse_uuid
from vcftrack.core.api.serializers import (
    StrictModelSerializer,
    list_of,
    writable_fields,
)
from vcftrack.core.api.views import ApiViewSet
from vcftrack.core.errors import FieldErrors

LEVEL_CHOICES = list(LEVELS)


class EpisodeSerializer(StrictModelSerializer):
    levels = serializers.ListField(
        child=serializers.ChoiceField(choices=LEVEL_CHOICES), read_only=True
    )

    class Meta:
        model = Episode
        fields = [
            "id",
            "patient",
            "clinic",
            "levels",
            "onset_date",
            "identified_date",
            "etiology",
            "neuro_status",
            "phase",
            "pathway_version",
            "next_review_at",
            "status",
            "close_reason",
            "closed_at",
            "flags",
            "version",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "next_review_at": {
                "help_text": "Advisory: the earliest moment the evaluation can change. "
                "Changes of this field alone do not change version or the sync sequence."
            }
        }


class EpisodeUpdateSerializer(serializers.Serializer[Any]):
    levels = serializers.ListField(
        child=serializers.ChoiceField(choices=LEVEL_CHOICES),
        min_length=1,
        max_length=len(LEVEL_CHOICES),
        help_text='Fractured levels, T1-L5, e.g. ["T12", "L1"].',
    )
    onset_date = serializers.DateField(help_text="Not in the future.")
    identified_date = serializers.DateField(
        required=False, help_text="Not before onset_date, not in the future; default today."
    )
    etiology = serializers.ChoiceField(choices=Etiology.choices, required=False)
    neuro_status = serializers.ChoiceField(choices=NeuroStatus.choices, required=False)


class EpisodeCreateSerializer(EpisodeUpdateSerializer):
    patient = serializers.UUIDField(help_text="A patient of one of your clinics.")


class EpisodeBulkSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(
        child=EpisodeCreateSerializer(), min_length=1, max_length=MAX_BULK
    )


class EpisodeBulkResultSerializer(serializers.Serializer[Any]):
    results = EpisodeSerializer(many=True)


class EpisodeCloseSerializer(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=CloseReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class EpisodeFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id")
    clinic = django_filters.UUIDFilter(field_name="clinic_id")
    status = django_filters.ChoiceFilter(choices=EpisodeStatus.choices)
    phase = django_filters.ChoiceFilter(choices=Phase.choices)
    etiology = django_filters.ChoiceFilter(choices=Etiology.choices)
    identified_after = django_filters.DateFilter(field_name="identified_date", lookup_expr="gte")
    identified_before = django_filters.DateFilter(field_name="identified_date", lookup_expr="lte")

    class Meta:
        model = Episode
        fields: list[str] = []


def resolve_patient(view: ApiViewSet, value: object, errors: Errors) -> Patient | None:
    """The patient of a new episode; 404 for a patient that is not in your clinics."""
    patient_id = parse_uuid(value, "patient", errors)
    if patient_id is None:
        return None
    patient = (
        Patient.objects.alive()
        .select_related("clinic")
        .filter(pk=patient_id, clinic_id__in=view.clinic_ids())
        .first()
    )
    if patient is None:
        raise ApiError(
            "No such patient in your clinics.",
            status_code=404,
            code="not_found",
            errors={"patient": ["No such patient in your clinics."]},
        )
    return patient


@extend_schema_view(
    list=extend_schema(responses=list_of(EpisodeSerializer, "Episode")),
    create=extend_schema(request=EpisodeCreateSerializer, responses={201: EpisodeSerializer}),
    update=extend_schema(request=EpisodeUpdateSerializer),
    partial_update=extend_schema(request=EpisodeUpdateSerializer),
)
class EpisodeViewSet(HistoryMixin, ApiViewSet):
    """Fracture episodes. Creating or changing one evaluates its pathway at once."""

    serializer_class = EpisodeSerializer
    filterset_class = EpisodeFilter
    ordering_fields = ["identified_date", "onset_date", "created_at", "updated_at"]
    ordering = ("-identified_date",)
    sync_filters = ("clinic", "patient")
    object_actions = ("close",)

    def scoped(self) -> QuerySet[Episode]:
        return Episode.objects.filter(clinic_id__in=self.clinic_ids())

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.idempotent(
            request, lambda: self.object_response(self._create(request.data), 201)
        )

    def _create(self, body: object) -> Episode:
        if not isinstance(body, dict):
            raise ApiError(
                "The request body must be a JSON object.",
                status_code=400,
                code="parse_error",
                errors={"body": ["Expected a JSON object."]},
            )
        data, errors = check_object(
            body, allowed=writable_fields(EpisodeCreateSerializer), required=("patient",)
        )
        patient = resolve_patient(self, data.pop("patient", None), errors)
        if patient is None:
            self.run_service(lambda: None, errors)
        assert patient is not None  # run_service raised: errors name the patient
        self.require_writer(patient.clinic_id)
        found = FieldErrors()
        values = parse_episode(data, found)
        episode: Episode = self.run_service(
            lambda: episode_create(
                patient=patient,
                **values,
                now=self.now,
                actor_id=self.request.user.pk,
                errors=found,
            ),
            errors,
        )
        return episode

    def update(
        self, request: Request, *args: object, partial: bool = False, **kwargs: object
    ) -> Response:
        def change(episode: Episode, data: dict[str, Any]) -> Episode:
            found = FieldErrors()
            changes = parse_episode_changes(data, found)
            return episode_update(
                episode=episode,
                now=self.now,
                actor_id=self.request.user.pk,
                errors=found,
                **changes,
            )

        return self.change(request, EpisodeUpdateSerializer, change, partial=partial)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        def delete(episode: Episode) -> None:
            episode_delete(episode=episode, now=self.now, actor_id=self.request.user.pk)

        return self.write(request, update=delete)

    @extend_schema(request=EpisodeCloseSerializer, responses=EpisodeSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close the episode with a reason; its open tasks are cancelled."""
        data, errors = self.contract_body(request, EpisodeCloseSerializer)

        def close(episode: Episode) -> Episode:
            found = FieldErrors()
            values = parse_close(data, found)
            closed: Episode = self.run_service(
                lambda: episode_close(
                    episode=episode,
                    **values,
                    now=self.now,
                    actor_id=self.request.user.pk,
                    errors=found,
                ),
                errors,
            )
            return closed

        return self.idempotent(request, lambda: self.write(request, update=close))

    def bulk_locks(self, items: list[object]) -> None:
        lock_rows(
            patient_ids=Patient.objects.filter(
                id__in=self.ids_in(items, "patient"), clinic_id__in=self.clinic_ids()
            ).values_list("id", flat=True),
            lock_patients=True,
        )

    @extend_schema(request=EpisodeBulkSerializer, responses={201: EpisodeBulkResultSerializer})
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk_create(self, request: Request) -> Response:
        """Create up to 500 episodes at once: all or nothing, with per-item errors."""
        return self.idempotent(
            request,
            lambda: self.bulk(request, create_one=self._create, serializer=EpisodeSerializer),
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def fhir(self, request: Request, pk: str | None = None) -> Response:
        """The episode as a FHIR R4 Bundle (Patient, EpisodeOfCare, Condition, ...)."""
        episode = self.get_object()
        return Response(episode_bundle(episode, now=self.now))
