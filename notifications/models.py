"""Notifications, preferences, escalations, and the outbox (e-mails, webhook deliveries).

Every row here is written in the transaction of the change that caused it,
under a unique key, and sent by a worker after commit (notifications/outbox.py).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned to you"
    URGENT = "urgent", "Urgent task raised"
    OVERDUE = "overdue", "Your task is overdue"
    ESCALATED = "escalated", "Escalated to you"


# Urgent work cannot be muted (issue 11): a muted urgent task is a patient lost.
MUTABLE_KINDS = (NotificationKind.ASSIGNED, NotificationKind.OVERDUE, NotificationKind.ESCALATED)


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One in-app notification: a task that needs this person."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    task = models.ForeignKey(
        "pathways.FollowUpTask", on_delete=models.CASCADE, related_name="notifications"
    )
    # Denormalised from the task: the inbox groups by patient without a join.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    # "assigned:<task>:<version>", "overdue:<task>", "escalated:<task>:<rule>"...
    key = models.CharField(max_length=120)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The final guard: a retried or doubled job notifies once.
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_key")
        ]
        indexes = [
            models.Index(fields=["user", "read_at"]),
            models.Index(fields=["user", "patient", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: task {self.task_id}"


class Preference(models.Model):
    """A person's channels, muted kinds and digest hour (defaults when absent)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    in_app = models.BooleanField("In the app", default=True)
    email = models.BooleanField("By e-mail", default=False)
    muted_kinds = models.JSONField(default=list, blank=True)
    digest = models.BooleanField("Daily e-mail digest", default=True)
    # Local hour in the person's (first) clinic's zone.
    digest_hour = models.PositiveSmallIntegerField(default=7)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(digest_hour__gte=0, digest_hour__lte=23), name="pref_digest_hour_valid"
            )
        ]

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class EscalationTarget(models.TextChoices):
    PHYSICIANS = "physicians", "The clinic's physicians"
    LEAD_COORDINATOR = "lead_coordinator", "The clinic's lead coordinator"
    DIGEST = "digest", "The digest's escalated section"


class Escalation(models.Model):
    """A task escalated by a rule of notifications/escalation.py: once per task and rule."""

    task = models.ForeignKey(
        "pathways.FollowUpTask", on_delete=models.CASCADE, related_name="escalations"
    )
    clinic = models.ForeignKey("patients.Clinic", on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(max_length=48)
    level = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=20, choices=EscalationTarget.choices)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "level"], name="escalation_once_per_task_level")
        ]
        indexes = [models.Index(fields=["clinic", "target", "created_at"])]

    def __str__(self) -> str:
        return f"{self.rule} (level {self.level}) for task {self.task_id}"


class DigestLog(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    day = models.DateField()
    sent_at = models.DateTimeField()
    overdue = models.PositiveIntegerField(default=0)
    due = models.PositiveIntegerField(default=0)
    # Tasks listed (0: nothing open, no e-mail was queued).
    tasks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_user_day")
        ]

    def __str__(self) -> str:
        return f"digest {self.day} for {self.user_id}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxRow(models.Model):
    """Claim bookkeeping shared by e-mails and webhook deliveries.

    A worker claims a row with a conditional update (pending, or sending with
    an expired lease -> sending, lease = now + OUTBOX_LEASE_SECONDS); only the
    worker whose update returned 1 sends. A worker killed after the claim
    leaves the row to be claimed again when the lease ends.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        abstract = True


class OutgoingEmail(OutboxRow):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True
    )
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    text = models.TextField()
    html = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="email_outbox_due",
                condition=Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} to {self.to} ({self.status})"


class WebhookAllowedUrl(models.Model):
    """A URL prefix the clinic's admin allows webhook subscriptions to use."""

    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.CASCADE, related_name="webhook_allowed_urls"
    )
    url_prefix = models.URLField(
        max_length=500,
        help_text="e.g. https://ehr.example.org/hooks/ — subscriptions must start with it.",
    )
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = "allowed webhook URL"
        constraints = [
            models.UniqueConstraint(fields=["clinic", "url_prefix"], name="webhook_allowed_unique")
        ]

    def __str__(self) -> str:
        return f"{self.url_prefix} ({self.clinic})"


class WebhookSubscription(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("patients.Clinic", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    # The receiver verifies HMAC-SHA256 signatures with these; kept in clear
    # because signing needs them. After a rotation the previous secret stays
    # valid (signed with too) until previous_secret_until.
    secret = models.CharField(max_length=64, editable=False)
    previous_secret = models.CharField(max_length=64, blank=True, default="", editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["clinic", "active"])]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.event_types)})"


class WebhookDelivery(OutboxRow):
    """One event for one subscription. Its id is the delivery id receivers de-duplicate on."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=32)
    # The event's key: unique per subscription (with key = "<subscription>:<event key>").
    event_key = models.CharField(max_length=160)
    payload = models.JSONField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_outbox_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["subscription", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.subscription_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """The log of a delivery: each attempt's response code and latency."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at}: {self.status_code or self.error}"
