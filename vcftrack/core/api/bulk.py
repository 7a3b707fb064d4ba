"""Bulk creation for the API's viewsets: all items are tried, any error
rolls every one back, and the errors name each item by its index."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Model
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from vcftrack.core.api.errors import ApiError, as_api_error, invalid
from vcftrack.core.api.inputs import check_object

MAX_BULK = 500


class BulkMixin:
    """``bulk``: the shared body of every ``POST …/bulk/`` (mixed into ``ApiViewSet``)."""

    def bulk_locks(self, items: builtins.list[Any]) -> None:
        """Lock the rows ``items`` will write, in the lock order (see
        ``pathways.services.locks``); nothing by default."""

    @staticmethod
    def ids_in(items: builtins.list[Any], field: str) -> set[uuid.UUID]:
        """The well-formed ids that ``items`` name in ``field`` (others fail later)."""
        out: set[uuid.UUID] = set()
        for item in items:
            value = item.get(field) if isinstance(item, dict) else None
            if isinstance(value, str):
                try:
                    out.add(uuid.UUID(value))
                except ValueError:
                    continue
        return out

    def bulk(
        self: Any,
        request: Request,
        *,
        create_one: Callable[[dict[str, Any]], Model],
        serializer: type[serializers.BaseSerializer[Any]],
    ) -> Response:
        """All-or-nothing: every item is tried, any error rolls back all."""
        data = request.data
        if not isinstance(data, dict):
            raise invalid({"body": ["Expected a JSON object with `items`."]})
        _, errors = check_object(data, allowed=["items"], required=["items"])
        if errors:
            raise invalid(errors)
        items = data["items"]
        if not isinstance(items, list) or not items:
            raise invalid({"items": ["Must be a non-empty list."]})
        if len(items) > MAX_BULK:
            raise invalid({"items": [f"At most {MAX_BULK} items per request."]})
        created: builtins.list[Model] = []
        item_errors: list[dict[str, Any]] = []
        forbidden = False
        try:
            with transaction.atomic():
                # Every row the items will lock, in the lock order, before
                # the first item takes the change counter.
                self.bulk_locks(items)
                for index, item in enumerate(items):
                    try:
                        if not isinstance(item, dict):
                            raise invalid({"body": ["Each item must be a JSON object."]})
                        with transaction.atomic():
                            created.append(create_one(item))
                    except Exception as exc:
                        error = as_api_error(exc)
                        if error is None or error.status_code >= 500:
                            raise
                        messages = error.errors or {"non_field_errors": [error.message]}
                        item_errors.append({"index": index, "errors": messages})
                        forbidden = forbidden or error.status_code == 403
                if item_errors:
                    raise Discard
        except Discard:
            if forbidden:
                # A role that may not write there: the request is refused
                # (403), not merely malformed; the items say which.
                raise ApiError(
                    "Your role cannot change some of these records; nothing was written.",
                    status_code=403,
                    code="permission_denied",
                    items=item_errors,
                ) from None
            raise ApiError(
                f"{len(item_errors)} of {len(items)} items are invalid; nothing was written.",
                status_code=400,
                code="invalid",
                items=item_errors,
            ) from None
        fresh = {obj.pk: obj for obj in self.scoped().filter(pk__in=[o.pk for o in created])}
        rows = [fresh.get(obj.pk, obj) for obj in created]
        self.audit_rows(rows)
        results = serializer(rows, many=True, context=self.get_serializer_context()).data
        return Response({"results": results}, status=201)


class Discard(Exception):
    """Roll back a savepoint on purpose."""
