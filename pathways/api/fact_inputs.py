"""Facts of an episode: what the API shows and what a write sends
(observations, imaging, procedures), and the listing filters."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pathways.api.episodes import LEVEL_CHOICES
from pathways.models import (
    Imaging,
    Modality,
    Observation,
    ObservationKind,
    Procedure,
    ProcedureKind,
)
from vcftrack.core.api.bulk import MAX_BULK
from vcftrack.core.api.serializers import StrictModelSerializer

EPISODE_REF_HELP = "An episode of one of your clinics."


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "boolean"}]})
class ObservationValueField(serializers.Field):
    def to_representation(self, value: float | bool | None) -> float | bool | None:
        return value


# ------------------------------------------------------------ observations --
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


class ObservationBulkItemSerializer(ObservationWriteSerializer):
    episode = serializers.UUIDField(help_text=EPISODE_REF_HELP)


class ObservationBulkSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(
        child=ObservationBulkItemSerializer(), min_length=1, max_length=MAX_BULK
    )


class ObservationBulkResultSerializer(serializers.Serializer[Any]):
    results = ObservationSerializer(many=True)


# ----------------------------------------------------------------- imaging --
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


class ImagingBulkItemSerializer(ImagingWriteSerializer):
    episode = serializers.UUIDField(help_text=EPISODE_REF_HELP)


class ImagingBulkSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(
        child=ImagingBulkItemSerializer(), min_length=1, max_length=MAX_BULK
    )


class ImagingBulkResultSerializer(serializers.Serializer[Any]):
    results = ImagingSerializer(many=True)


# -------------------------------------------------------------- procedures --
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


class ProcedureBulkItemSerializer(ProcedureWriteSerializer):
    episode = serializers.UUIDField(help_text=EPISODE_REF_HELP)


class ProcedureBulkSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(
        child=ProcedureBulkItemSerializer(), min_length=1, max_length=MAX_BULK
    )


class ProcedureBulkResultSerializer(serializers.Serializer[Any]):
    results = ProcedureSerializer(many=True)


# ----------------------------------------------------------------- filters --
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
