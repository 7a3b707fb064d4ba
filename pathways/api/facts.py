"""Facts of an episode (observations, imaging, procedures): nested under an
episode (read and write), or flat across your clinics (read; bulk record).

One base (``FactViewSet``) holds the scoping and the writes; each fact kind
is two small explicit classes that name its model, serializers and filter.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db.models import F, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pathways.api.fact_inputs import (
    ImagingBulkResultSerializer,
    ImagingBulkSerializer,
    ImagingFilter,
    ImagingSerializer,
    ImagingWriteSerializer,
    ObservationBulkResultSerializer,
    ObservationBulkSerializer,
    ObservationFilter,
    ObservationSerializer,
    ObservationWriteSerializer,
    ProcedureBulkResultSerializer,
    ProcedureBulkSerializer,
    ProcedureFilter,
    ProcedureSerializer,
    ProcedureWriteSerializer,
)
from pathways.inputs.facts import parse_fact, parse_fact_change
from pathways.models import Episode, Imaging, Observation, Procedure
from pathways.services import fact_delete, fact_record, fact_update, fact_void
from pathways.services.locks import lock_rows
from vcftrack.core.api.errors import ApiError, not_found
from vcftrack.core.api.history import HistoryMixin
from vcftrack.core.api.inputs import Errors, check_object, parse_uuid
from vcftrack.core.api.serializers import (
    VoidSerializer,
    list_of,
    writable_fields,
)
from vcftrack.core.api.views import ApiViewSet
from vcftrack.core.errors import FieldErrors

Fact = Observation | Imaging | Procedure


class FactViewSet(HistoryMixin, ApiViewSet):
    """Observations, imaging and procedures: nested under an episode, or flat."""

    kind: ClassVar[str]
    model: ClassVar[type[Observation] | type[Imaging] | type[Procedure]]
    # The write body of one fact: its fields, and those a PUT must send.
    write_serializer: ClassVar[type[serializers.Serializer[Any]]]
    nested: ClassVar[bool] = False
    sync_filters = ("episode", "patient")
    episode: Episode

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        if self.nested:
            episode = (
                Episode.objects.alive()
                .select_related("clinic")
                .filter(pk=self.kwargs.get("episode_pk", ""), clinic_id__in=self.clinic_ids())
                .first()
            )
            if episode is None:
                raise not_found()
            self.episode = episode

    def scoped(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.model.objects.none()
        # The patient of each fact, for the access audit (the join is there
        # already: the clinic scope goes through the episode).
        qs = self.model.objects.filter(episode__clinic_id__in=self.clinic_ids()).annotate(
            audit_patient_id=F("episode__patient_id")
        )
        if self.nested:
            qs = qs.filter(episode_id=self.kwargs.get("episode_pk", ""))
        return qs

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped().filter(deleted_at__isnull=True, episode__deleted_at__isnull=True)

    def clinic_of(self, obj: Fact) -> uuid.UUID:
        return self.episode.clinic_id if self.nested else obj.episode.clinic_id

    def patient_id_of(self, row: Fact) -> uuid.UUID | None:
        annotated: uuid.UUID | None = getattr(row, "audit_patient_id", None)
        if annotated is not None:
            return annotated
        return self.episode.patient_id if self.nested else row.episode.patient_id

    def _record(self, episode: Episode, data: dict[str, Any], errors: Errors) -> Fact:
        self.require_writer(episode.clinic_id)
        found = FieldErrors()
        values = parse_fact(self.kind, data, found)
        fact: Fact = self.run_service(
            lambda: fact_record(
                episode=episode,
                values=values,
                now=self.now,
                actor_id=self.request.user.pk,
                errors=found,
            ),
            errors,
        )
        return fact

    def _episode_of_item(self, value: object, errors: Errors) -> Episode | None:
        """The episode a bulk item names; 404 for one that is not in your clinics."""
        episode_id = parse_uuid(value, "episode", errors)
        if episode_id is None:
            return None
        episode = (
            Episode.objects.alive()
            .select_related("clinic")
            .filter(pk=episode_id, clinic_id__in=self.clinic_ids())
            .first()
        )
        if episode is None:
            raise ApiError(
                "No such episode in your clinics.",
                status_code=404,
                code="not_found",
                errors={"episode": ["No such episode in your clinics."]},
            )
        return episode

    def _create_bulk_item(self, item: dict[str, Any]) -> Fact:
        data, errors = check_object(
            item,
            allowed=(*writable_fields(self.write_serializer), "episode"),
            required=("episode",),
        )
        episode = self._episode_of_item(data.pop("episode", None), errors)
        if episode is None:
            self.run_service(lambda: None, errors)
        assert episode is not None  # run_service raised: errors name the episode
        return self._record(episode, data, errors)

    def bulk_locks(self, items: list[object]) -> None:
        lock_rows(
            episode_ids=Episode.objects.filter(
                id__in=self.ids_in(items, "episode"), clinic_id__in=self.clinic_ids()
            ).values_list("id", flat=True)
        )

    def bulk_facts(self, request: Request) -> Response:
        return self.idempotent(
            request,
            lambda: self.bulk(
                request,
                create_one=self._create_bulk_item,
                serializer=self.get_serializer_class(),
            ),
        )


class FactWriteViewSet(FactViewSet):
    """Writes of one episode's facts (nested routes only)."""

    nested = True

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        def handler() -> Response:
            data, errors = self.body(request, allowed=writable_fields(self.write_serializer))
            return self.object_response(self._record(self.episode, data, errors), 201)

        return self.idempotent(request, handler)

    def update(
        self, request: Request, *args: object, partial: bool = False, **kwargs: object
    ) -> Response:
        def change(fact: Fact, data: dict[str, Any]) -> Fact:
            found = FieldErrors()
            values = parse_fact_change(fact, data, found)
            return fact_update(
                fact=fact, values=values, now=self.now, actor_id=self.request.user.pk, errors=found
            )

        return self.change(request, self.write_serializer, change, partial=partial)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.write(
            request,
            update=lambda f: fact_delete(fact=f, now=self.now, actor_id=self.request.user.pk),
        )

    @extend_schema(request=VoidSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def void(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Void a fact entered by mistake, with the reason (required); the
        pathway is re-evaluated without it. Answers 204."""
        return self.change(
            request,
            VoidSerializer,
            lambda fact, data: fact_void(
                fact=fact, reason=data.get("reason"), now=self.now, actor_id=request.user.pk
            ),
        )


# ------------------------------------------------------------ observations --
class ObservationFacts(FactViewSet):
    """Observation facts: the model, its serializers and filter, nested or flat."""

    kind = "observation"
    model = Observation
    write_serializer = ObservationWriteSerializer
    serializer_class = ObservationSerializer
    filterset_class = ObservationFilter
    ordering_fields = ["effective_date", "updated_at"]
    ordering = ("effective_date",)


@extend_schema_view(
    list=extend_schema(responses=list_of(ObservationSerializer, "Observation")),
    create=extend_schema(
        request=ObservationWriteSerializer, responses={201: ObservationSerializer}
    ),
    update=extend_schema(request=ObservationWriteSerializer),
    partial_update=extend_schema(request=ObservationWriteSerializer),
)
class EpisodeObservationViewSet(ObservationFacts, FactWriteViewSet):
    """Observation facts of one episode."""


@extend_schema_view(list=extend_schema(responses=list_of(ObservationSerializer, "Observation")))
class ObservationViewSet(ObservationFacts):
    """Observation facts of every episode of your clinics (read; bulk record)."""

    @extend_schema(
        request=ObservationBulkSerializer, responses={201: ObservationBulkResultSerializer}
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk_create(self, request: Request) -> Response:
        """Record up to 500 observation facts on any episodes of your clinics at once: all or nothing, with per-item errors."""  # noqa: E501
        return self.bulk_facts(request)


# ----------------------------------------------------------------- imaging --
class ImagingFacts(FactViewSet):
    """Imaging facts: the model, its serializers and filter, nested or flat."""

    kind = "imaging"
    model = Imaging
    write_serializer = ImagingWriteSerializer
    serializer_class = ImagingSerializer
    filterset_class = ImagingFilter
    ordering_fields = ["performed_date", "updated_at"]
    ordering = ("performed_date",)


@extend_schema_view(
    list=extend_schema(responses=list_of(ImagingSerializer, "Imaging")),
    create=extend_schema(request=ImagingWriteSerializer, responses={201: ImagingSerializer}),
    update=extend_schema(request=ImagingWriteSerializer),
    partial_update=extend_schema(request=ImagingWriteSerializer),
)
class EpisodeImagingViewSet(ImagingFacts, FactWriteViewSet):
    """Imaging facts of one episode."""


@extend_schema_view(list=extend_schema(responses=list_of(ImagingSerializer, "Imaging")))
class ImagingViewSet(ImagingFacts):
    """Imaging facts of every episode of your clinics (read; bulk record)."""

    @extend_schema(request=ImagingBulkSerializer, responses={201: ImagingBulkResultSerializer})
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk_create(self, request: Request) -> Response:
        """Record up to 500 imaging facts on any episodes of your clinics at once: all or nothing, with per-item errors."""  # noqa: E501
        return self.bulk_facts(request)


# -------------------------------------------------------------- procedures --
class ProcedureFacts(FactViewSet):
    """Procedure facts: the model, its serializers and filter, nested or flat."""

    kind = "procedure"
    model = Procedure
    write_serializer = ProcedureWriteSerializer
    serializer_class = ProcedureSerializer
    filterset_class = ProcedureFilter
    ordering_fields = ["performed_date", "updated_at"]
    ordering = ("performed_date",)


@extend_schema_view(
    list=extend_schema(responses=list_of(ProcedureSerializer, "Procedure")),
    create=extend_schema(request=ProcedureWriteSerializer, responses={201: ProcedureSerializer}),
    update=extend_schema(request=ProcedureWriteSerializer),
    partial_update=extend_schema(request=ProcedureWriteSerializer),
)
class EpisodeProcedureViewSet(ProcedureFacts, FactWriteViewSet):
    """Procedure facts of one episode."""


@extend_schema_view(list=extend_schema(responses=list_of(ProcedureSerializer, "Procedure")))
class ProcedureViewSet(ProcedureFacts):
    """Procedure facts of every episode of your clinics (read; bulk record)."""

    @extend_schema(request=ProcedureBulkSerializer, responses={201: ProcedureBulkResultSerializer})
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk_create(self, request: Request) -> Response:
        """Record up to 500 procedure facts on any episodes of your clinics at once: all or nothing, with per-item errors."""  # noqa: E501
        return self.bulk_facts(request)
