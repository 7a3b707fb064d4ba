"""REST: webhook subscriptions and their delivery log (``/api/v1/webhooks/``).

Thin views: parse, call one service in notifications/webhooks.py, render. A
subscription belongs to the client (user) that created it, in one of its
clinics where it may write; another client's subscription is not found.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookSubscription
from patients.models import Clinic
from vcftrack.core import audit
from vcftrack.core.api.errors import field_error, flatten, invalid, not_found
from vcftrack.core.api.idempotency import check_idempotency_key
from vcftrack.core.api.parsers import SafeJSONParser
from vcftrack.core.errors import PermissionDenied
from vcftrack.core.events import PUBLIC_EVENT_TYPES
from vcftrack.core.scoping import can_write, clinic_ids_for, may_write, roles_for

DELIVERY_LOG_LIMIT = 100


class SubscriptionSerializer(serializers.ModelSerializer[WebhookSubscription]):
    clinic: serializers.SlugRelatedField[Clinic] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=PUBLIC_EVENT_TYPES), read_only=True
    )

    class Meta:
        model = WebhookSubscription
        fields = ("id", "clinic", "url", "event_types", "active", "created_at")
        read_only_fields = fields


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(SubscriptionSerializer.Meta):
        fields: tuple[str, ...] = (*SubscriptionSerializer.Meta.fields, "secret")  # type: ignore[assignment]
        read_only_fields = fields  # type: ignore[assignment]


class SubscriptionCreateSerializer(serializers.Serializer[Any]):
    clinic = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="The clinic's id or code. You may leave it out if you belong to one clinic, "
        "or can add webhooks in only one of your clinics: the subscription goes to that "
        "clinic. If you can add webhooks in more than one clinic, it is required.",
    )
    url = serializers.URLField()
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=PUBLIC_EVENT_TYPES), min_length=1
    )


class SubscriptionUpdateSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=PUBLIC_EVENT_TYPES), required=False, min_length=1
    )
    active = serializers.BooleanField(required=False)


class AttemptSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    error = serializers.CharField()


class DeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_type",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "sent_at",
            "last_status_code",
            "last_latency_ms",
            "last_error",
            "payload",
            "log",
        )
        read_only_fields = fields


def _patient_of(delivery: WebhookDelivery) -> str | None:
    data = delivery.payload.get("data")
    patient = data.get("patient") if isinstance(data, dict) else None
    return patient if isinstance(patient, str) else None


class _Base(APIView):
    parser_classes = [SafeJSONParser]
    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        check_idempotency_key(request)

    def subscriptions(self) -> QuerySet[WebhookSubscription]:
        return WebhookSubscription.objects.filter(
            owner_id=self.request.user.pk, clinic_id__in=clinic_ids_for(self.request.user)
        ).select_related("clinic")

    def subscription(self, id: uuid.UUID) -> WebhookSubscription:
        sub = self.subscriptions().filter(pk=id).first()
        if sub is None:
            raise not_found()
        return sub


def _body(request: Request, serializer: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    """The checked body; every unknown, missing or bad field is named in one answer."""
    data = request.data if isinstance(request.data, dict) else {}
    known = set(serializer().fields)
    errors = {name: ["Unknown field."] for name in sorted(set(data) - known)}
    checked = serializer(data={k: v for k, v in data.items() if k in known})
    if not checked.is_valid():
        errors.update(flatten(checked.errors))
    if errors:
        raise invalid(errors)
    return dict(checked.validated_data)


def _clinic_for(user: Any, value: str | None) -> Clinic:
    """The clinic a new subscription goes to: the one named (id or code), else the
    one clinic the user can add webhooks in (or belongs to)."""
    clinics = Clinic.objects.filter(id__in=clinic_ids_for(user))
    if value is None:
        roles = roles_for(user)
        writable = [cid for cid, role in roles.items() if may_write(role)]
        if len(roles) == 1 or len(writable) == 1:
            return clinics.get(pk=writable[0] if writable else next(iter(roles)))
        raise field_error(
            "clinic",
            "This field is required (you can add webhooks in more than one clinic)."
            if writable
            else "This field is required.",
        )
    try:
        clinic = clinics.filter(id=uuid.UUID(value)).first()
    except ValueError:
        clinic = clinics.filter(code=value).first()
    if clinic is None:
        # Like any other object of another clinic: not found.
        raise not_found("No such clinic among yours.")
    return clinic


class SubscriptionList(_Base):
    # Subscriptions name URLs and event types, no patient.
    audit_exempt = True

    @extend_schema(
        responses=inline_serializer(
            "WebhookSubscriptionList", {"results": SubscriptionSerializer(many=True)}
        ),
        summary="Your webhook subscriptions",
        operation_id="webhooks_list",
    )
    def get(self, request: Request) -> Response:
        return Response({"results": SubscriptionSerializer(self.subscriptions(), many=True).data})

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionWithSecretSerializer},
        summary="Subscribe a URL to events (the answer shows the signing secret once)",
    )
    def post(self, request: Request) -> Response:
        data = _body(request, SubscriptionCreateSerializer)
        clinic = _clinic_for(request.user, data.get("clinic"))
        if not can_write(request.user, clinic.id):
            raise PermissionDenied("Your role in this clinic cannot add webhooks.")
        sub, secret = webhooks.subscription_create(
            owner=request.user,
            clinic=clinic,
            url=data["url"],
            event_types=data["event_types"],
            now=timezone.now(),
        )
        body = SubscriptionSerializer(sub).data
        return Response({**body, "secret": secret}, status=201)


class SubscriptionDetail(_Base):
    audit_exempt = True

    @extend_schema(responses=SubscriptionSerializer, summary="A webhook subscription")
    def get(self, request: Request, id: uuid.UUID) -> Response:
        return Response(SubscriptionSerializer(self.subscription(id)).data)

    @extend_schema(
        request=SubscriptionUpdateSerializer,
        responses=SubscriptionSerializer,
        summary="Change the URL or event types, or pause (active: false)",
    )
    def patch(self, request: Request, id: uuid.UUID) -> Response:
        sub = self.subscription(id)
        data = _body(request, SubscriptionUpdateSerializer)
        return Response(
            SubscriptionSerializer(webhooks.subscription_update(sub=sub, data=data)).data
        )

    @extend_schema(responses={204: None}, summary="Delete a subscription and its log")
    def delete(self, request: Request, id: uuid.UUID) -> Response:
        self.subscription(id).delete()
        return Response(status=204)


class RotateSecret(_Base):
    audit_exempt = True

    @extend_schema(
        request=None,
        responses=SubscriptionWithSecretSerializer,
        summary="A new signing secret (shown once); the old one stays valid for 24 hours",
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        sub, secret = webhooks.subscription_rotate_secret(
            sub=self.subscription(id), now=timezone.now()
        )
        return Response({**SubscriptionSerializer(sub).data, "secret": secret})


class DeliveryList(_Base):
    @extend_schema(
        responses=inline_serializer(
            "WebhookDeliveryList", {"results": DeliverySerializer(many=True)}
        ),
        operation_id="webhooks_deliveries_list",
        summary="The delivery log: status, response code and latency of each attempt",
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        sub = self.subscription(id)
        deliveries = list(
            sub.deliveries.prefetch_related("log").order_by("-created_at")[:DELIVERY_LOG_LIMIT]
        )
        # A delivery's payload names the patient of its event.
        audit.note(
            request,
            patient_ids=[_patient_of(d) for d in deliveries],
            action="api.webhook-deliveries.list",
        )
        return Response({"results": DeliverySerializer(deliveries, many=True).data})


class DeliveryReplay(_Base):
    @extend_schema(request=None, responses=DeliverySerializer, summary="Send a delivery again")
    def post(self, request: Request, id: uuid.UUID, delivery_id: uuid.UUID) -> Response:
        sub = self.subscription(id)
        delivery = sub.deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise not_found()
        audit.note(request, patient_ids=[_patient_of(delivery)], action="api.webhook.act")
        delivery = webhooks.delivery_replay(delivery=delivery, now=timezone.now())
        return Response(DeliverySerializer(delivery).data)
