"""API tokens in the admin: create (the key is shown once), revoke."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from vcftrack.core.api.models import ApiToken
from vcftrack.core.api.services import token_create, token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = (
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ("user", "name")
        return ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ()
        return ("user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        issued = token_create(user=obj.user, name=obj.name, now=timezone.now())
        # The admin redirects to the saved object: hand it the new row.
        obj.pk = issued.token.pk
        obj.prefix = issued.token.prefix
        obj.key_hash = issued.token.key_hash
        obj.created_at = issued.token.created_at
        obj.expires_at = issued.token.expires_at
        messages.warning(
            request,
            f"The key of '{obj.name}' is {issued.key} - copy it now, it is not shown again.",
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # Revoke instead: the row keeps who had access, and when it last used it.
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        now = timezone.now()
        for token in queryset:
            token_revoke(token_id=token.pk, now=now)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")
