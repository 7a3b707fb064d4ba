from __future__ import annotations

from django.contrib import admin

from notifications.models import DigestLog, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("user", "task", "kind", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("task",)


@admin.register(DigestLog)
class DigestLogAdmin(admin.ModelAdmin[DigestLog]):
    list_display = ("user", "day", "sent_at", "overdue", "due")
