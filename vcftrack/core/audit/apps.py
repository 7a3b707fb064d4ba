from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "vcftrack.core.audit"
    label = "audit"
    verbose_name = "Access audit"
    default_auto_field = "django.db.models.BigAutoField"
