"""The base of every API viewset: scoping, listings, sync, ETags, writes.

Subclasses say which rows the caller may see (``scoped``), how to render
them, and which service each write calls. Everything else - the listing
envelope, the sync feed with tombstones, ETag / If-Match, Idempotency-Key,
the one error format, the role check, the access audit of every row read or
written (``patient_id_of``) - lives here, once.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, filters, serializers, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from vcftrack.core import audit
from vcftrack.core.api.bulk import BulkMixin, Discard
from vcftrack.core.api.concurrency import check_if_match, etag_for
from vcftrack.core.api.errors import ApiError, as_api_error, invalid, not_found
from vcftrack.core.api.idempotency import check_idempotency_key, idempotent
from vcftrack.core.api.inputs import Errors, body_object, check_query, merge
from vcftrack.core.api.pagination import (
    EnvelopePagination,
    check_listing_params,
    paginate_pages,
    paginate_sync,
    scope_key,
)
from vcftrack.core.api.pagination import is_sync as _is_sync
from vcftrack.core.api.parsers import SafeJSONParser
from vcftrack.core.api.serializers import required_fields, writable_fields
from vcftrack.core.scoping import can_write, clinic_ids_for, clinic_today

T = TypeVar("T")
# A write's input serializer: the one declaration of its body.
Contract = type[serializers.Serializer[Any]]
UUID_REGEX = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
# The audit's verb for each viewset action (anything else is "act").
AUDIT_VERBS = {
    "list": "list",
    "retrieve": "view",
    "create": "create",
    "bulk_create": "create",
    "update": "update",
    "partial_update": "update",
    "destroy": "delete",
    "void": "void",
    "fhir": "fhir",
    "history": "history",
}

# Query parameters that shape a normal listing; a sync feed ignores them.
LISTING_ONLY = ("page", "count", "ordering")


class ApiViewSet(BulkMixin, viewsets.GenericViewSet):
    parser_classes = [SafeJSONParser]
    renderer_classes = [JSONRenderer]
    pagination_class = EnvelopePagination
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    lookup_value_regex = UUID_REGEX
    # Filters on immutable columns: the only ones a sync feed accepts.
    sync_filters: ClassVar[tuple[str, ...]] = ()
    ordering: ClassVar[tuple[str, ...]] = ()
    # POST actions on one object that return it (get If-Match and ETag).
    object_actions: ClassVar[tuple[str, ...]] = ()
    now: datetime

    # ------------------------------------------------------------- audit --
    def patient_id_of(self, row: Any) -> uuid.UUID | None:
        """The patient whose data ``row`` is (for the access audit)."""
        return getattr(row, "patient_id", None)

    def audit_rows(self, rows: Iterable[Any]) -> None:
        verb = AUDIT_VERBS.get(self.action or "", "act")
        if verb == "list" and _is_sync(self.request):
            verb = "sync"
        audit.note(
            self.request,
            patient_ids=[self.patient_id_of(row) for row in rows],
            action=f"api.{self.basename}.{verb}",
        )

    # ------------------------------------------------------------- scope --
    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        # The one clock read of the request (house style).
        self.now = timezone.now()
        check_query(request)
        check_idempotency_key(request)
        self.check_empty_filters(request)

    def check_empty_filters(self, request: Request) -> None:
        """A typed filter (an id, a date, a choice) sent empty is refused: the
        filter would be skipped and the caller get every row instead."""
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is None:
            return
        empty = {
            name: ["Give a value, or leave the parameter out."]
            for name, flt in filterset_class.base_filters.items()
            if request.query_params.get(name, None) == ""
            and not isinstance(flt, django_filters.CharFilter)
        }
        if empty:
            raise invalid(empty)

    def clinic_ids(self) -> list[uuid.UUID]:
        return clinic_ids_for(self.request.user)

    def scoped(self) -> QuerySet[Any]:
        """Every row the caller may see, tombstones included."""
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped().filter(deleted_at__isnull=True)

    def todays(self) -> dict[uuid.UUID, date]:
        """The calendar date of each of the caller's clinics, now."""
        cached: dict[uuid.UUID, date] | None = getattr(self, "_todays", None)
        if cached is None:
            memberships = self.request.user.memberships  # type: ignore[union-attr]
            cached = {
                cid: clinic_today(tz, self.now)
                for cid, tz in memberships.values_list("clinic_id", "clinic__timezone")
            }
            self._todays = cached
        return cached

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["view"] = self
        return context

    def require_writer(self, clinic_id: uuid.UUID) -> None:
        if not can_write(self.request.user, clinic_id):
            raise ApiError(
                "Your role in this clinic can read but not change records.",
                status_code=403,
                code="permission_denied",
            )

    # ----------------------------------------------------------- listing --
    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        if _is_sync(request):
            return self.sync_list(request)
        queryset = self.filter_queryset(self.get_queryset())
        ordering: Sequence[Any] = tuple(queryset.query.order_by) or self.ordering
        queryset = queryset.order_by(*ordering, "pk")
        page = paginate_pages(request, queryset)
        return Response(page.envelope(self.render_many(page.rows)))

    def sync_list(self, request: Request) -> Response:
        """A page of the sync feed: rows in change order, tombstones included.

        Scope filters (``sync_filters``: immutable columns) narrow the feed.
        Any other filter is applied to each changed row: a row that matches
        comes whole, one that does not (any more) comes as a tombstone, so a
        filtered replica drops a task that was closed, say, instead of keeping
        it open for ever. ``page``, ``count`` and ``ordering`` shape normal
        listings only and are ignored here (a feed is in change order)."""
        check_listing_params(request)
        filter_values: dict[str, str] = {}
        for name in request.query_params:
            if name in ("updated_since", "cursor", "page_size", *LISTING_ONLY):
                continue
            filter_values[name] = str(request.query_params.get(name))
        scoped = self.scoped()
        if any(name in self.sync_filters for name in filter_values):
            scoped = self.filter_queryset_for_sync(scoped, only=self.sync_filters)
        scope = scope_key(
            self.basename or "",
            self.clinic_ids(),
            {**filter_values, **{k: str(v) for k, v in self.kwargs.items()}},
        )
        page = paginate_sync(request, scoped, scope)
        rows = page.rows
        if any(name not in self.sync_filters for name in filter_values):
            matching = set(
                self.filter_queryset_for_sync(
                    self.scoped().filter(pk__in=[r.pk for r in rows], deleted_at__isnull=True)
                ).values_list("pk", flat=True)
            )
            for row in rows:
                if row.pk not in matching and row.deleted_at is None:
                    # Outside the filter: a tombstone for this feed (a copy).
                    row.deleted_at = row.updated_at
        return Response(page.envelope(self.render_many(rows, tombstones=True)))

    def filter_queryset_for_sync(
        self, queryset: QuerySet[Any], *, only: Sequence[str] | None = None
    ) -> QuerySet[Any]:
        """The feed's rows through the view's filters (``only`` some of them)."""
        backend = DjangoFilterBackend()
        filterset_class = backend.get_filterset_class(self, queryset)
        if filterset_class is None:
            return queryset
        data: QueryDict = self.request.query_params
        if only is not None:
            subset = QueryDict(mutable=True)
            for name in only:
                if name in data:
                    subset.setlist(name, data.getlist(name))
            data = subset
        filterset = filterset_class(data=data, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        return filterset.qs

    def render_many(self, rows: Sequence[Any], *, tombstones: bool = False) -> builtins.list[Any]:
        self.audit_rows(rows)
        alive = [r for r in rows if r.deleted_at is None]
        rendered = dict(
            zip(
                (r.pk for r in alive),
                self.get_serializer(alive, many=True).data,
                strict=True,
            )
        )
        out: builtins.list[Any] = []
        for row in rows:
            if row.deleted_at is None:
                out.append(rendered[row.pk])
            elif tombstones:
                out.append(tombstone(row))
        return out

    # ------------------------------------------------------------ detail --
    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        return self.object_response(self.get_object())

    def get_object(self) -> Any:
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        obj = self.get_queryset().filter(pk=lookup).first()
        if obj is None:
            raise not_found()
        self.audit_rows([obj])
        return obj

    def object_response(self, obj: Any, status: int = 200) -> Response:
        self.audit_rows([obj])
        response = Response(self.get_serializer(obj).data, status=status)
        response["ETag"] = etag_for(obj)
        if status == 201:
            response["Location"] = self.request.build_absolute_uri(self.location_of(obj))
        return response

    def location_of(self, obj: Any) -> str:
        return f"{self.request.path.rstrip('/')}/{obj.pk}/"

    def reload(self, obj: Any) -> Any:
        """The object as listings show it, after the write's on-commit work ran."""
        fresh = self.scoped().filter(pk=obj.pk).first()
        return fresh if fresh is not None else obj

    # ------------------------------------------------------------ writes --
    def run_service(self, call: Callable[[], T], errors: Errors) -> T:
        """Call a service with the errors the API layer already found.

        The service validates everything it knows. If the API layer found
        errors too (unknown fields, bad references), the service still runs,
        so that one answer names every bad field - inside a savepoint that
        is rolled back, so nothing is written.
        """
        try:
            with transaction.atomic():
                result = call()
                if not errors:
                    return result
                raise Discard
        except Discard:
            pass
        except Exception as exc:
            error = as_api_error(exc)
            if error is None or error.status_code != 400 or not errors:
                raise
            errors = merge(errors, error.errors)
        raise invalid(errors)

    def write(
        self,
        request: Request,
        *,
        update: Callable[[Any], Any],
        status: int = 200,
    ) -> Response:
        """Lock the object, check role and If-Match, call the service, answer."""
        with transaction.atomic():
            current = self.get_object()
            locked = type(current).objects.select_for_update().get(pk=current.pk)
            self.require_writer(self.clinic_of(locked))
            stale = check_if_match(request, locked)
            # The service validates the body first (a 400 names the fields);
            # a stale version then rolls the whole write back with its 412.
            result = update(locked)
            if stale is not None:
                raise stale
        if result is None:
            return Response(status=204)
        return self.object_response(self.reload(result), status)

    def clinic_of(self, obj: Any) -> uuid.UUID:
        return obj.clinic_id

    def idempotent(self, request: Request, handler: Callable[[], Response]) -> Response:
        return idempotent(request, now=self.now, handler=handler)

    def body(
        self, request: Request, *, allowed: Iterable[str], required: Iterable[str] = ()
    ) -> tuple[dict[str, Any], Errors]:
        return body_object(request, allowed=allowed, required=required)

    def contract_body(
        self, request: Request, contract: Contract, *, partial: bool = False
    ) -> tuple[dict[str, Any], Errors]:
        """The body checked against a write's input serializer: its fields
        only, and (unless ``partial``) the ones it requires."""
        required = () if partial else required_fields(contract)
        return self.body(request, allowed=writable_fields(contract), required=required)

    def change(
        self,
        request: Request,
        contract: Contract,
        service: Callable[[Any, dict[str, Any]], T],
        *,
        partial: bool = False,
    ) -> Response:
        """A write to one object: check the body against ``contract``, then
        lock the object and call ``service(obj, data)`` (see ``write``)."""
        data, errors = self.contract_body(request, contract, partial=partial)
        return self.write(
            request, update=lambda obj: self.run_service(lambda: service(obj, data), errors)
        )


def tombstone(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.pk),
        "deleted": True,
        "deleted_at": row.deleted_at.isoformat().replace("+00:00", "Z"),
        "version": row.version,
        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z"),
    }
