"""``GET …/{id}/history/`` for the API's resources."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from vcftrack.core import history
from vcftrack.core.api.errors import not_found


class HistoryEntrySerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True, help_text="Who changed it; null: the system.")
    type = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    changes = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each changed field: {field, old, new} (old is null on creation).",
    )


class HistoryListSerializer(serializers.Serializer[Any]):
    results = HistoryEntrySerializer(many=True)


class HistoryMixin:
    """``GET …/{id}/history/``: who changed the object, when, old → new (oldest first)."""

    @extend_schema(responses=HistoryListSerializer)
    @action(detail=True, methods=["get"])
    def history(self: Any, request: Request, *args: object, **kwargs: object) -> Response:
        """The object's change history: who, when, and each field's old and new value."""
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        # A deleted object keeps its history (tombstones included).
        obj = self.scoped().filter(pk=lookup).first()
        if obj is None:
            raise not_found()
        self.audit_rows([obj])
        records = list(obj.history.select_related("history_user").order_by("history_id"))
        return Response({"results": history.as_json(history.entries(records))})
