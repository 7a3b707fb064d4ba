"""Serializers shared by the resource modules: tombstones and list schemas."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers


class TombstoneSerializer(serializers.Serializer[Any]):
    """A deleted row in a sync feed: drop it from your replica."""

    id = serializers.UUIDField()
    deleted = serializers.ChoiceField(choices=[True], help_text="Always true.")
    deleted_at = serializers.DateTimeField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


def list_of(serializer: type[serializers.Serializer[Any]], name: str) -> Any:
    """The schema of a listing: live rows, or tombstones in a sync feed."""
    return PolymorphicProxySerializer(
        component_name=f"{name}OrTombstone",
        serializers=[serializer, TombstoneSerializer],
        resource_type_field_name=None,
        many=True,
    )


class StrictModelSerializer(serializers.ModelSerializer[Any]):
    """Output serializer; every field read-only (writes go through services)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields
