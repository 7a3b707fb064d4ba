"""REST resources of the pathways app: episodes, their facts, follow-up tasks."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import F, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pathways import catalogue
from pathways.levels import LEVELS
from pathways.models import (
    CloseReason,
    Episode,
    EpisodeStatus,
    Etiology,
    FollowUpTask,
    Imaging,
    Modality,
    NeuroStatus,
    Observation,
    ObservationKind,
    Phase,
    Procedure,
    ProcedureKind,
    TaskPriority,
    TaskState,
    TaskStatus,
)
from pathways.services import (
    episode_close,
    episode_create,
    episode_delete,
    episode_update,
    fact_delete,
    fact_record,
    fact_update,
    fact_void,
    task_assign,
    task_complete,
    task_not_applicable,
    task_reopen,
    task_snooze,
)
from pathways.services.episodes import EPISODE_FIELDS
from pathways.services.facts import FACT_FIELDS
from pathways.services.locks import lock_rows
from patients.api import VoidSerializer
from patients.models import Patient
from vcftrack.core.api.errors import ApiError, invalid, not_found
from vcftrack.core.api.inputs import MAX_SAFE_INT, Errors, check_object, check_query, parse_uuid
from vcftrack.core.api.serializers import StrictModelSerializer, list_of
from vcftrack.core.api.views import MAX_BULK, ApiViewSet, HistoryMixin

LEVEL_CHOICES = list(LEVELS)


# ---------------------------------------------------------------- episodes --
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


def resolve_patient(view: ApiViewSet, value: Any, errors: Errors) -> Any:
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

    def scoped(self) -> QuerySet[Any]:
        return Episode.objects.filter(clinic_id__in=self.clinic_ids())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.idempotent(
            request, lambda: self.object_response(self._create(request.data), 201)
        )

    def _create(self, body: Any) -> Episode:
        if not isinstance(body, dict):
            raise ApiError(
                "The request body must be a JSON object.",
                status_code=400,
                code="parse_error",
                errors={"body": ["Expected a JSON object."]},
            )
        data, errors = check_object(
            body, allowed=(*EPISODE_FIELDS, "patient"), required=("patient",)
        )
        patient = resolve_patient(self, data.pop("patient", None), errors)
        if patient is None:
            self.run_service(lambda: None, errors)
        self.require_writer(patient.clinic_id)
        episode: Episode = self.run_service(
            lambda: episode_create(
                patient=patient, data=data, now=self.now, actor_id=self.request.user.pk
            ),
            errors,
        )
        return episode

    def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        required = () if partial else ("levels", "onset_date")
        data, errors = self.body(request, allowed=EPISODE_FIELDS, required=required)
        return self.write(
            request,
            update=lambda e: self.run_service(
                lambda: episode_update(
                    episode=e, data=data, now=self.now, actor_id=self.request.user.pk
                ),
                errors,
            ),
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def delete(episode: Episode) -> None:
            episode_delete(episode=episode, now=self.now, actor_id=self.request.user.pk)

        return self.write(request, update=delete)

    @extend_schema(request=EpisodeCloseSerializer, responses=EpisodeSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close the episode with a reason; its open tasks are cancelled."""
        data, errors = self.body(request, allowed=("reason", "note"), required=("reason",))

        def close(episode: Episode) -> Episode:
            note = data.get("note") or ""
            if not isinstance(note, str) or len(note) > 200:
                errors.setdefault("note", []).append("Must be a string of at most 200 characters.")
            return self.run_service(  # type: ignore[no-any-return]
                lambda: episode_close(
                    episode=episode,
                    reason=data.get("reason"),
                    note=note if isinstance(note, str) else "",
                    now=self.now,
                    actor_id=self.request.user.pk,
                ),
                errors,
            )

        return self.idempotent(request, lambda: self.write(request, update=close))

    def bulk_locks(self, items: list[Any]) -> None:
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
        from pathways.interop.fhir.export import episode_bundle

        episode = self.get_object()
        return Response(episode_bundle(episode, now=self.now))


# ------------------------------------------------------------------- facts --
@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "boolean"}]})
class ObservationValueField(serializers.Field):  # type: ignore[type-arg]
    def to_representation(self, value: Any) -> Any:
        return value


class ObservationSerializer(StrictModelSerializer):
    value = ObservationValueField(
        read_only=True, help_text="A number (pain_nrs 0-10, odi and *_pct 0-100) or a boolean."
    )

    class Meta:
        model = Observation
        fields = [
            "id",
            "episode",
            "kind",
            "value",
            "effective_date",
            "version",
            "created_at",
            "updated_at",
        ]


class ObservationWriteSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ObservationKind.choices)
    value = ObservationValueField(
        help_text="pain_nrs: 0-10; odi and *_pct: 0-100; every other kind: true or false."
    )
    effective_date = serializers.DateField(help_text="Not before onset, not in the future.")


class ImagingSerializer(StrictModelSerializer):
    class Meta:
        model = Imaging
        fields = [
            "id",
            "episode",
            "modality",
            "contrast",
            "region",
            "performed_date",
            "edema",
            "version",
            "created_at",
            "updated_at",
        ]


class ImagingWriteSerializer(serializers.Serializer[Any]):
    modality = serializers.ChoiceField(choices=Modality.choices)
    contrast = serializers.BooleanField(required=False, default=False)
    region = serializers.CharField(required=False, max_length=64, default="spine")
    performed_date = serializers.DateField(help_text="Not in the future.")
    edema = serializers.BooleanField(required=False, allow_null=True, default=None)


class ProcedureSerializer(StrictModelSerializer):
    class Meta:
        model = Procedure
        fields = [
            "id",
            "episode",
            "kind",
            "level",
            "performed_date",
            "version",
            "created_at",
            "updated_at",
        ]


class ProcedureWriteSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ProcedureKind.choices)
    level = serializers.ChoiceField(choices=LEVEL_CHOICES, required=False, allow_blank=True)
    performed_date = serializers.DateField(help_text="Not before onset, not in the future.")


def _bulk_serializers(name: str, write: type[serializers.Serializer[Any]], out: Any) -> Any:
    item = type(
        f"{name}BulkItemSerializer",
        (write,),
        {"episode": serializers.UUIDField(help_text="An episode of one of your clinics.")},
    )
    request = type(
        f"{name}BulkSerializer",
        (serializers.Serializer,),
        {"items": serializers.ListField(child=item(), min_length=1, max_length=MAX_BULK)},
    )
    response = type(
        f"{name}BulkResultSerializer", (serializers.Serializer,), {"results": out(many=True)}
    )
    return request, response


class FactFilter(django_filters.FilterSet):
    episode = django_filters.UUIDFilter(field_name="episode_id")
    patient = django_filters.UUIDFilter(field_name="episode__patient_id")

    class Meta:
        fields: list[str] = []


class ObservationFilter(FactFilter):
    kind = django_filters.ChoiceFilter(choices=ObservationKind.choices)

    class Meta:
        model = Observation
        fields: list[str] = []


class ImagingFilter(FactFilter):
    modality = django_filters.ChoiceFilter(choices=Modality.choices)

    class Meta:
        model = Imaging
        fields: list[str] = []


class ProcedureFilter(FactFilter):
    kind = django_filters.ChoiceFilter(choices=ProcedureKind.choices)

    class Meta:
        model = Procedure
        fields: list[str] = []


class FactViewSet(HistoryMixin, ApiViewSet):
    """Observations, imaging and procedures: nested under an episode, or flat."""

    kind: str
    model: type[Observation] | type[Imaging] | type[Procedure]
    nested = False
    sync_filters = ("episode", "patient")
    required_fields: tuple[str, ...] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
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

    def clinic_of(self, obj: Any) -> uuid.UUID:
        return self.episode.clinic_id if self.nested else obj.episode.clinic_id

    def patient_id_of(self, row: Any) -> uuid.UUID | None:
        annotated = getattr(row, "audit_patient_id", None)
        if annotated is not None:
            return annotated  # type: ignore[no-any-return]
        return self.episode.patient_id if self.nested else row.episode.patient_id

    def _record(self, episode: Episode, data: dict[str, Any], errors: Errors) -> Any:
        self.require_writer(episode.clinic_id)
        return self.run_service(
            lambda: fact_record(
                episode=episode,
                kind=self.kind,
                data=data,
                now=self.now,
                actor_id=self.request.user.pk,
            ),
            errors,
        )

    def _create_bulk_item(self, item: dict[str, Any]) -> Any:
        data, errors = check_object(
            item, allowed=(*FACT_FIELDS[self.kind], "episode"), required=("episode",)
        )
        episode_id = parse_uuid(data.pop("episode", None), "episode", errors)
        episode = None
        if episode_id is not None:
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
        if episode is None:
            self.run_service(lambda: None, errors)
        return self._record(episode, data, errors)  # type: ignore[arg-type]

    def bulk_locks(self, items: list[Any]) -> None:
        lock_rows(
            episode_ids=Episode.objects.filter(
                id__in=self.ids_in(items, "episode"), clinic_id__in=self.clinic_ids()
            ).values_list("id", flat=True)
        )

    def bulk_create(self, request: Request) -> Response:
        return self.idempotent(
            request,
            lambda: self.bulk(
                request,
                create_one=self._create_bulk_item,
                serializer=self.get_serializer_class(),
            ),
        )


class FactWriteMixin(FactViewSet):
    """Writes of one episode's facts (nested routes only)."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            data, errors = self.body(request, allowed=FACT_FIELDS[self.kind])
            return self.object_response(self._record(self.episode, data, errors), 201)

        return self.idempotent(request, handler)

    def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        required = () if partial else self.required_fields
        data, errors = self.body(request, allowed=FACT_FIELDS[self.kind], required=required)
        return self.write(
            request,
            update=lambda f: self.run_service(
                lambda: fact_update(fact=f, data=data, now=self.now, actor_id=self.request.user.pk),
                errors,
            ),
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.write(
            request,
            update=lambda f: fact_delete(fact=f, now=self.now, actor_id=self.request.user.pk),
        )

    @extend_schema(request=VoidSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def void(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Void a fact entered by mistake, with the reason (required); the
        pathway is re-evaluated without it. Answers 204."""
        data, errors = self.body(request, allowed=("reason",), required=("reason",))
        return self.write(
            request,
            update=lambda f: self.run_service(
                lambda: fact_void(
                    fact=f, reason=data.get("reason"), now=self.now, actor_id=request.user.pk
                ),
                errors,
            ),
        )


def _fact_viewsets(
    kind: str,
    name: str,
    model: Any,
    out: Any,
    write: Any,
    filterset: Any,
    ordering_field: str,
    required: tuple[str, ...],
) -> tuple[type[FactViewSet], type[FactViewSet]]:
    bulk_request, bulk_response = _bulk_serializers(name, write, out)
    attrs = {
        "kind": kind,
        "model": model,
        "serializer_class": out,
        "filterset_class": filterset,
        "ordering_fields": [ordering_field, "updated_at"],
        "ordering": (ordering_field,),
        "required_fields": required,
    }
    nested = extend_schema_view(
        list=extend_schema(responses=list_of(out, name)),
        create=extend_schema(request=write, responses={201: out}),
        update=extend_schema(request=write),
        partial_update=extend_schema(request=write),
    )(
        type(
            f"Episode{name}ViewSet",
            (FactWriteMixin,),
            {**attrs, "nested": True, "__doc__": f"{name} facts of one episode."},
        )
    )

    @extend_schema(request=bulk_request, responses={201: bulk_response})
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk_create(self: FactViewSet, request: Request) -> Response:
        return FactViewSet.bulk_create(self, request)

    bulk_create.__doc__ = (
        f"Record up to {MAX_BULK} {kind} facts on any episodes of your clinics at once: "
        "all or nothing, with per-item errors."
    )
    flat = extend_schema_view(list=extend_schema(responses=list_of(out, name)))(
        type(
            f"{name}ViewSet",
            (FactViewSet,),
            {
                **attrs,
                "bulk_create": bulk_create,
                "__doc__": f"{name} facts of every episode of your clinics (read; bulk record).",
            },
        )
    )
    return nested, flat


EpisodeObservationViewSet, ObservationViewSet = _fact_viewsets(
    "observation",
    "Observation",
    Observation,
    ObservationSerializer,
    ObservationWriteSerializer,
    ObservationFilter,
    "effective_date",
    ("kind", "value", "effective_date"),
)
EpisodeImagingViewSet, ImagingViewSet = _fact_viewsets(
    "imaging",
    "Imaging",
    Imaging,
    ImagingSerializer,
    ImagingWriteSerializer,
    ImagingFilter,
    "performed_date",
    ("modality", "performed_date"),
)
EpisodeProcedureViewSet, ProcedureViewSet = _fact_viewsets(
    "procedure",
    "Procedure",
    Procedure,
    ProcedureSerializer,
    ProcedureWriteSerializer,
    ProcedureFilter,
    "performed_date",
    ("kind", "performed_date"),
)


# ------------------------------------------------------------------- tasks --
class TaskSerializer(StrictModelSerializer):
    patient = serializers.UUIDField(source="patient_id", read_only=True)
    scope = serializers.ChoiceField(
        choices=["episode", "programme"],
        read_only=True,
        help_text="programme: a task of the patient's bone-health programme (episode is null); "
        "episode: a task of one fracture episode.",
    )
    state = serializers.SerializerMethodField(
        help_text="While open: upcoming, due or overdue as of the clinic's today; else null."
    )

    class Meta:
        model = FollowUpTask
        fields = [
            "id",
            "episode",
            "patient",
            "scope",
            "clinic",
            "rule_set",
            "rule",
            "occurrence",
            "title",
            "guidance",
            "seed_refs",
            "due_date",
            "grace_days",
            "overdue_from",
            "priority",
            "status",
            "state",
            "snoozed_until",
            "assignee",
            "outcome",
            "note",
            "reason",
            "triggers",
            "closed_at",
            "closed_by",
            "version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field({"type": "string", "enum": list(TaskState.values), "nullable": True})
    def get_state(self, obj: FollowUpTask) -> str | None:
        today = self.context["view"].todays().get(obj.clinic_id)
        return obj.state_on(today) if today is not None else None


class TaskCompleteSerializer(serializers.Serializer[Any]):
    outcome = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=48,
        help_text="Required for decision tasks (e.g. augmentation_review_3m: one of its outcomes).",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TaskNotApplicableSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class TaskSnoozeSerializer(serializers.Serializer[Any]):
    until = serializers.DateField(help_text="After today, at most a year ahead.")
    reason = serializers.CharField(max_length=2000)


class TaskReopenSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class TaskAssignSerializer(serializers.Serializer[Any]):
    assignee = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        max_value=2**31 - 1,
        help_text="A user id of a member of the task's clinic (see /clinics/), or null.",
    )


class TaskFilter(django_filters.FilterSet):
    episode = django_filters.UUIDFilter(field_name="episode_id")
    patient = django_filters.UUIDFilter(field_name="patient_id")
    scope = django_filters.ChoiceFilter(
        choices=[("episode", "episode"), ("programme", "programme")],
        method="filter_scope",
        help_text="programme: the patient's bone-health programme; episode: one fracture.",
    )
    clinic = django_filters.UUIDFilter(field_name="clinic_id")
    rule = django_filters.CharFilter(field_name="rule")
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    priority = django_filters.ChoiceFilter(choices=TaskPriority.choices)
    state = django_filters.ChoiceFilter(choices=TaskState.choices, method="filter_state")
    assignee = django_filters.NumberFilter(
        field_name="assignee_id", min_value=1, max_value=2**31 - 1
    )
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")

    class Meta:
        model = FollowUpTask
        fields: list[str] = []

    def filter_scope(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(episode__isnull=value == "programme")

    def filter_state(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        """Open tasks in a date state, each as of its own clinic's today."""
        view = self.request.parser_context["view"]  # type: ignore[union-attr]
        by_day: dict[Any, list[uuid.UUID]] = {}
        for clinic_id, today in view.todays().items():
            by_day.setdefault(today, []).append(clinic_id)
        if not by_day:
            return queryset.none()
        matching: QuerySet[Any] | None = None
        for today, clinic_ids in by_day.items():
            part = FollowUpTask.objects.in_state(value, today).filter(clinic_id__in=clinic_ids)
            matching = part if matching is None else matching | part
        assert matching is not None
        return queryset & matching


@extend_schema_view(list=extend_schema(responses=list_of(TaskSerializer, "Task")))
class TaskViewSet(HistoryMixin, ApiViewSet):
    """Follow-up tasks the pathway raised. People act on them; the engine owns the rest."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["due_date", "overdue_from", "rule", "created_at", "updated_at"]
    ordering = ("due_date", "rule")
    sync_filters = ("clinic", "episode", "patient")
    object_actions = ("complete", "not_applicable", "snooze", "assign", "reopen")

    def scoped(self) -> QuerySet[Any]:
        return FollowUpTask.objects.filter(clinic_id__in=self.clinic_ids())

    def get_queryset(self) -> QuerySet[Any]:
        # A deleted episode's tasks are cancelled with it; they stay readable.
        return self.scoped().filter(deleted_at__isnull=True)

    def _act(
        self, request: Request, allowed: tuple[str, ...], required: tuple[str, ...], call: Any
    ) -> Response:
        data, errors = self.body(request, allowed=allowed, required=required)

        def update(task: FollowUpTask) -> FollowUpTask:
            return self.run_service(lambda: call(task, data), errors)  # type: ignore[no-any-return]

        return self.idempotent(request, lambda: self.write(request, update=update))

    @extend_schema(request=TaskCompleteSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Done, with the outcome a decision task requires (physicians only for
        augmentation_review_3m) and an optional note."""
        return self._act(
            request,
            ("outcome", "note"),
            (),
            lambda task, data: task_complete(
                task=task,
                actor=request.user,
                outcome=data.get("outcome", ""),
                note=data.get("note", ""),
                now=self.now,
            ),
        )

    @extend_schema(request=TaskNotApplicableSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"], url_path="not-applicable")
    def not_applicable(self, request: Request, pk: str | None = None) -> Response:
        """Not applicable to this patient, with the reason."""
        return self._act(
            request,
            ("reason",),
            ("reason",),
            lambda task, data: task_not_applicable(
                task=task, actor=request.user, reason=data.get("reason"), now=self.now
            ),
        )

    @extend_schema(request=TaskSnoozeSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Upcoming again until a later date, with the reason."""
        return self._act(
            request,
            ("until", "reason"),
            ("until", "reason"),
            lambda task, data: task_snooze(
                task=task,
                actor=request.user,
                until=data.get("until"),
                reason=data.get("reason"),
                now=self.now,
            ),
        )

    @extend_schema(request=TaskReopenSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """Open again a task a person closed (done or not applicable), with the
        reason; audited. A task the pathway closed follows its facts: void the fact."""
        return self._act(
            request,
            ("reason",),
            ("reason",),
            lambda task, data: task_reopen(
                task=task, actor=request.user, reason=data.get("reason"), now=self.now
            ),
        )

    @extend_schema(request=TaskAssignSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Assign to a member of the task's clinic (null: unassign)."""

        def call(task: FollowUpTask, data: dict[str, Any]) -> FollowUpTask:
            assignee = data.get("assignee")
            if assignee is not None and (
                isinstance(assignee, bool)
                or not isinstance(assignee, int)
                or not 1 <= assignee <= min(MAX_SAFE_INT, 2**31 - 1)
            ):
                from django.core.exceptions import ValidationError

                raise ValidationError({"assignee": ["Must be a user id (integer) or null."]})
            return task_assign(task=task, actor=request.user, assignee=assignee, now=self.now)

        return self._act(request, ("assignee",), ("assignee",), call)


# ---------------------------------------------------------- rule catalogue --
class SeedLineSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(help_text="Line number in the guideline (from 1).")
    text = serializers.CharField()


class CitationSerializer(serializers.Serializer[Any]):
    ref = serializers.CharField(help_text="As the rule cites it: `004`, `004:85`, `004:64-68`.")
    seed = serializers.CharField(help_text="The guideline's number (`docs/seeds/<seed>_*.txt`).")
    guideline = serializers.CharField(help_text="The guideline's name (its first line).")
    lines = SeedLineSerializer(many=True, help_text="The cited lines (empty: the whole guideline).")
    line_label = serializers.CharField(help_text="The lines as cited: `lines 64–68` (or empty).")
    problem = serializers.CharField(help_text="Why the reference does not resolve (or empty).")


class RuleSerializer(serializers.Serializer[Any]):
    """One rule of one pathway version: its declared numbers, and the same in words."""

    id = serializers.CharField(
        source="anchor", help_text="`<version>-<code>`; also its id on the web catalogue page."
    )
    version = serializers.CharField()
    code = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="Its entry in the web catalogue.")
    newest = serializers.BooleanField(
        help_text="This is the newest version that has the rule (the web page's `#<code>`)."
    )
    title = serializers.CharField()
    scope = serializers.ChoiceField(
        choices=["episode", "programme"],
        help_text="Where its tasks live: each fracture's episode, or the patient's programme.",
    )
    patient_level = serializers.BooleanField(
        help_text="One series per patient (v1: kept on the patient's newest open episode)."
    )
    scope_text = serializers.CharField()
    group = serializers.CharField()
    group_text = serializers.CharField()
    phases = serializers.ListField(child=serializers.CharField())
    phases_text = serializers.CharField()
    trigger = serializers.CharField(help_text="When the rule raises a task.")
    anchor_from = serializers.CharField(help_text="What the due date is counted from.")
    offset_days = serializers.IntegerField()
    offset_months = serializers.IntegerField()
    due_text = serializers.CharField()
    recurs_months = serializers.IntegerField(help_text="0: not on a schedule.")
    recurrence_text = serializers.CharField()
    window = serializers.CharField(help_text="Until when an open task can be done (or empty).")
    window_text = serializers.CharField()
    priority = serializers.ChoiceField(choices=TaskPriority.choices)
    priority_text = serializers.CharField()
    grace_days = serializers.IntegerField(help_text="Days after the due date until overdue.")
    grace_text = serializers.CharField()
    lead_days = serializers.IntegerField(help_text="Days before the due date it is raised.")
    lead_text = serializers.CharField()
    expires_at_12_months = serializers.BooleanField()
    completes_by = serializers.CharField(help_text="The fact that closes it by itself (or empty).")
    completion_text = serializers.CharField()
    outcomes = serializers.ListField(child=serializers.CharField())
    outcome_texts = serializers.ListField(child=serializers.CharField())
    guidance = serializers.CharField()
    seed_refs = serializers.ListField(child=serializers.CharField())
    citations = CitationSerializer(many=True)

    def get_url(self, entry: catalogue.RuleEntry) -> str:
        request = self.context["request"]
        return request.build_absolute_uri(catalogue.rule_url(entry.version, entry.code))


class RuleListSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="Always null: one page.")
    previous = serializers.URLField(allow_null=True, help_text="Always null: one page.")
    next_cursor = serializers.CharField(allow_null=True, help_text="Always null (no sync feed).")
    results = RuleSerializer(many=True)


class RuleCatalogueView(APIView):
    """The rule catalogue: every rule of every pathway version, newest version first.

    Generated from the rule definitions (the same build as the web page
    `/rules/`); the same for every caller, whatever their clinics.
    """

    audit_exempt = True  # rules, no patient

    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        check_query(request)

    @extend_schema(
        operation_id="rules_list",
        parameters=[
            OpenApiParameter(
                "version",
                str,
                enum=catalogue.versions(),
                description="Only this pathway version's rules.",
            )
        ],
        responses=RuleListSerializer,
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("version", "") or None
        try:
            versions = catalogue.build_catalogue(wanted)
        except KeyError:
            known = ", ".join(catalogue.versions())
            raise invalid(
                {"version": [f"{str(wanted)[:20]!r} is not a pathway version (one of {known})."]}
            ) from None
        rules = [entry for version in versions for entry in version.rules]
        return Response(
            {
                "count": len(rules),
                "next": None,
                "previous": None,
                "next_cursor": None,
                "results": RuleSerializer(rules, many=True, context={"request": request}).data,
            }
        )
