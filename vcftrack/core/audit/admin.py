"""The audit in the admin (read-only), and the base of every clinical admin.

``PatientDataAdmin`` notes the patients an admin page showed, like any other
view, and takes away add / change / delete: clinical rows change only through
the services (the web app and the API), so each change has its checks, its
re-evaluation and its history. A subclass may open single fields that it
writes through a service (the patient's date of death).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from vcftrack.core.audit.models import AccessRecord
from vcftrack.core.audit.trail import note


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PatientDataAdmin(ReadOnlyAdmin):
    # How a row reaches its patient: "pk" for the patient itself.
    audit_patient_path: ClassVar[str] = "patient_id"

    def audit_patients(self, pks: Sequence[Any]) -> list[Any]:
        if self.audit_patient_path == "pk":
            return list(pks)
        try:
            return list(
                self.model._default_manager.filter(pk__in=pks).values_list(
                    self.audit_patient_path, flat=True
                )
            )
        except (ValueError, ValidationError):  # a malformed id in the address
            return []

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        shown = [row.pk for row in changelist.result_list] if changelist is not None else []
        note(request, patient_ids=self.audit_patients(shown), action="admin.list")
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        note(request, patient_ids=self.audit_patients([object_id]), action="admin.view")
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        note(request, patient_ids=self.audit_patients([object_id]), action="admin.history")
        return super().history_view(request, object_id, extra_context)


@admin.register(AccessRecord)
class AccessRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "client", "action", "outcome", "patient_id", "ip")
    list_filter = ("outcome", ("at", admin.DateFieldListFilter))
    search_fields = ("=patient_id", "actor", "=request_id")
    date_hierarchy = "at"
    show_full_result_count = False
