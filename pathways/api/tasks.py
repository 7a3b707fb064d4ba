"""Follow-up tasks: list, read, history, and the acts of a person on one
(complete, not applicable, snooze, reopen, assign)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pathways.inputs.tasks import (
    parse_assign,
    parse_complete,
    parse_reason,
    parse_snooze,
)
from pathways.models import FollowUpTask, TaskPriority, TaskState, TaskStatus
from pathways.services import (
    task_assign,
    task_complete,
    task_not_applicable,
    task_reopen,
    task_snooze,
)
from vcftrack.core.api.history import HistoryMixin
from vcftrack.core.api.serializers import (
    StrictModelSerializer,
    list_of,
)
from vcftrack.core.api.views import ApiViewSet
from vcftrack.core.errors import FieldErrors

V = TypeVar("V")


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

    def filter_scope(
        self, queryset: QuerySet[FollowUpTask], name: str, value: str
    ) -> QuerySet[FollowUpTask]:
        return queryset.filter(episode__isnull=value == "programme")

    def filter_state(
        self, queryset: QuerySet[FollowUpTask], name: str, value: str
    ) -> QuerySet[FollowUpTask]:
        """Open tasks in a date state, each as of its own clinic's today."""
        view = self.request.parser_context["view"]
        by_day: dict[date, list[uuid.UUID]] = {}
        for clinic_id, today in view.todays().items():
            by_day.setdefault(today, []).append(clinic_id)
        if not by_day:
            return queryset.none()
        matching: QuerySet[FollowUpTask] | None = None
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

    def scoped(self) -> QuerySet[FollowUpTask]:
        return FollowUpTask.objects.filter(clinic_id__in=self.clinic_ids())

    def get_queryset(self) -> QuerySet[FollowUpTask]:
        # A deleted episode's tasks are cancelled with it; they stay readable.
        return self.scoped().filter(deleted_at__isnull=True)

    def _act(
        self,
        request: Request,
        contract: type[serializers.Serializer[Any]],
        parse: Callable[[dict[str, Any], FieldErrors], V],
        call: Callable[[FollowUpTask, V, FieldErrors], FollowUpTask],
    ) -> Response:
        """Check the body against the action's contract, parse it with the
        action's parser (the web's too), then call its service."""
        data, errors = self.contract_body(request, contract)
        found = FieldErrors()
        values = parse(data, found)
        return self.idempotent(
            request,
            lambda: self.write(
                request,
                update=lambda task: self.run_service(lambda: call(task, values, found), errors),
            ),
        )

    @extend_schema(request=TaskCompleteSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Done, with the outcome a decision task requires (physicians only for
        augmentation_review_3m) and an optional note."""
        return self._act(
            request,
            TaskCompleteSerializer,
            parse_complete,
            lambda task, values, found: task_complete(
                task=task, actor=request.user, **values, now=self.now, errors=found
            ),
        )

    @extend_schema(request=TaskNotApplicableSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"], url_path="not-applicable")
    def not_applicable(self, request: Request, pk: str | None = None) -> Response:
        """Not applicable to this patient, with the reason."""
        return self._act(
            request,
            TaskNotApplicableSerializer,
            parse_reason,
            lambda task, values, found: task_not_applicable(
                task=task, actor=request.user, **values, now=self.now, errors=found
            ),
        )

    @extend_schema(request=TaskSnoozeSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Upcoming again until a later date, with the reason."""
        return self._act(
            request,
            TaskSnoozeSerializer,
            parse_snooze,
            lambda task, values, found: task_snooze(
                task=task, actor=request.user, **values, now=self.now, errors=found
            ),
        )

    @extend_schema(request=TaskReopenSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """Open again a task a person closed (done or not applicable), with the
        reason; audited. A task the pathway closed follows its facts: void the fact."""
        return self._act(
            request,
            TaskReopenSerializer,
            parse_reason,
            lambda task, values, found: task_reopen(
                task=task, actor=request.user, **values, now=self.now, errors=found
            ),
        )

    @extend_schema(request=TaskAssignSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Assign to a member of the task's clinic (null: unassign)."""
        return self._act(
            request,
            TaskAssignSerializer,
            parse_assign,
            lambda task, values, found: task_assign(
                task=task, actor=request.user, **values, now=self.now, errors=found
            ),
        )
