from __future__ import annotations

from django.contrib import admin

from notifications.models import (
    DeliveryAttempt,
    DigestLog,
    Escalation,
    Notification,
    OutgoingEmail,
    Preference,
    WebhookAllowedUrl,
    WebhookDelivery,
    WebhookSubscription,
)
from vcftrack.core.audit.admin import PatientDataAdmin


@admin.register(Notification)
class NotificationAdmin(PatientDataAdmin):
    list_display = ("user", "task", "kind", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("task", "patient")


@admin.register(DigestLog)
class DigestLogAdmin(admin.ModelAdmin[DigestLog]):
    list_display = ("user", "day", "sent_at", "overdue", "due")


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin[Preference]):
    list_display = ("user", "in_app", "email", "digest", "digest_hour")


@admin.register(Escalation)
class EscalationAdmin(PatientDataAdmin):
    audit_patient_path = "task__patient_id"
    list_display = ("task", "rule", "level", "target", "created_at")
    list_filter = ("rule", "target")
    raw_id_fields = ("task",)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin[OutgoingEmail]):
    list_display = ("key", "to", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status",)


@admin.register(WebhookAllowedUrl)
class WebhookAllowedUrlAdmin(admin.ModelAdmin[WebhookAllowedUrl]):
    """The clinic admin's allow-list: subscriptions may only use these URL prefixes."""

    list_display = ("url_prefix", "clinic", "note")
    list_filter = ("clinic",)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin[WebhookSubscription]):
    list_display = ("url", "clinic", "owner", "active", "created_at")
    list_filter = ("clinic", "active")
    exclude = ("secret", "previous_secret")


class DeliveryAttemptInline(admin.TabularInline[DeliveryAttempt, WebhookDelivery]):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ("at", "status_code", "latency_ms", "error")
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ("id", "event_type", "subscription", "status", "attempts", "last_status_code")
    list_filter = ("status", "event_type")
    inlines = [DeliveryAttemptInline]
