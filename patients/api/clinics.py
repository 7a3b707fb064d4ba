"""The clinics you belong to, with your role and their members (read only)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from patients.models import Clinic, Membership
from vcftrack.core.api.errors import not_found
from vcftrack.core.api.pagination import Page, check_listing_params, check_sync_since
from vcftrack.core.api.serializers import StrictModelSerializer
from vcftrack.core.api.views import ApiViewSet
from vcftrack.core.scoping import Role, clinic_ids_for, roles_for


class MemberSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="user_id", help_text="User id (for task assignee).")
    username = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(choices=Role.choices)

    def get_name(self, obj: Membership) -> str:
        return obj.user.get_full_name() or obj.user.get_username()


class ClinicSerializer(StrictModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in this clinic.")
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Clinic
        fields = ["id", "code", "name", "timezone", "role", "members", "version", "updated_at"]

    def get_role(self, obj: Clinic) -> str | None:
        return roles_for(self.context["request"].user).get(obj.id)


class ClinicViewSet(ApiViewSet):
    """The clinics you belong to, with your role and their members (read only)."""

    audit_exempt = True  # clinics and colleagues, no patient
    serializer_class = ClinicSerializer
    filter_backends: list[Any] = []

    def scoped(self) -> QuerySet[Clinic]:
        return Clinic.objects.filter(id__in=clinic_ids_for(self.request.user)).prefetch_related(
            "memberships__user"
        )

    def get_queryset(self) -> QuerySet[Clinic]:
        return self.scoped()

    @extend_schema(responses=ClinicSerializer(many=True))
    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        # A handful of rows, always whole: the listing parameters are checked
        # (an empty updated_since is refused as everywhere) but change nothing.
        check_sync_since(request)
        check_listing_params(request)
        rows = list(self.get_queryset())
        page = Page(rows=rows, count=len(rows), next=None, previous=None, next_cursor=None)
        return Response(page.envelope(list(self.get_serializer(rows, many=True).data)))

    def get_object(self) -> Clinic:
        obj = self.get_queryset().filter(pk=self.kwargs.get("pk", "")).first()
        if obj is None:
            raise not_found()
        return obj
