"""In-app notifications and the daily e-mail digest log."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class NotificationKind(models.TextChoices):
    TASK_DUE = "task_due"
    TASK_OVERDUE = "task_overdue"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    task = models.ForeignKey(
        "pathways.FollowUpTask", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The final guard: a retried or doubled job notifies once.
            models.UniqueConstraint(
                fields=["user", "task", "kind"], name="notification_once_per_task_kind"
            )
        ]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: task {self.task_id}"


class DigestLog(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    day = models.DateField()
    sent_at = models.DateTimeField()
    overdue = models.PositiveIntegerField(default=0)
    due = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_user_day")
        ]

    def __str__(self) -> str:
        return f"digest {self.day} for {self.user_id}"
