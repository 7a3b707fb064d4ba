"""Serializers shared by the resource modules: tombstones, list schemas, the
void body, and the input contract of a write.

A write's input serializer is its one declaration: its fields are the body
properties the OpenAPI schema shows, and ``writable_fields`` /
``required_fields`` read the same fields for the API's edge check (unknown
fields refused, required ones present). The values themselves are checked
once by the write's parser (``pathways.inputs``, ``patients.inputs``), which
the web forms and the FHIR importer call too, so a value is judged by the
same code and the same message whatever the door; the parser gives the typed
keyword arguments of the service (``tests/api/test_contract.py`` proves the
schema and each parser agree). A create checks at the edge only the
references it resolves itself (the patient, the episode); a missing value is
named by the parser, in the words the API has always used.
"""

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


class VoidSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, help_text="Why the entry is voided.")


def writable_fields(serializer: type[serializers.Serializer[Any]]) -> tuple[str, ...]:
    """The body properties a write accepts: its input serializer's writable fields."""
    fields = serializer().fields
    return tuple(name for name, field in fields.items() if not field.read_only)


def required_fields(serializer: type[serializers.Serializer[Any]]) -> tuple[str, ...]:
    """The body properties a full write (POST action, PUT) must send."""
    fields = serializer().fields
    return tuple(name for name, field in fields.items() if field.required and not field.read_only)


class StrictModelSerializer(serializers.ModelSerializer[Any]):
    """Output serializer; every field read-only (writes go through services)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields
