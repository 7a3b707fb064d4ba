"""Page-number listings and the change-sequence sync feed, in one envelope.

Normal listings (``?page=&page_size=``) hide tombstones and may be filtered
and ordered. A sync listing (``?updated_since=`` or ``?cursor=``) returns every
row of the caller's scope whose ``change_seq`` lies after the cursor, in
``change_seq`` order, tombstones included. ``change_seq`` is handed out in
commit order (``patients/sync.py``), which is what makes the feed exact:

1. ``M`` = the highest ``change_seq`` visible in the scope now. Every number
   at or below ``M`` belongs to a committed (or rolled back) transaction,
   because a writer holds the counter lock until it commits.
2. The page is the rows with ``cursor < change_seq <= M``, ordered, limited.
3. ``next_cursor`` is the last row's number when more rows follow, else
   ``M``. A row written later gets a number above ``M``: the next sync sees
   it. A row updated while the client pages moves to a higher number: it is
   sent again later with its newer content, never lost.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Max, QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request

from vcftrack.core.api.errors import invalid
from vcftrack.core.api.inputs import parse_timestamp

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
SYNC_PARAMS = ("updated_since", "cursor")
CURSOR_VERSION = 1
MAX_PAGE = 10**9
# What encode_cursor hands out: unpadded URL-safe base64.
CURSOR = re.compile(r"[A-Za-z0-9_-]*")


def is_sync(request: Request) -> bool:
    return any(p in request.query_params for p in SYNC_PARAMS)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid({name: [f"Must be an integer from {low} to {high}."]}) from None
    if value < low or value > high:
        raise invalid({name: [f"Must be an integer from {low} to {high}."]})
    return value


def page_size(request: Request) -> int:
    return _int_param(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)


def _url(request: Request, **changes: Any) -> str:
    params = {k: v for k, v in request.query_params.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    base = request.build_absolute_uri(request.path)
    return f"{base}?{urlencode(params)}" if params else base


@dataclass
class Page:
    rows: list[Any]
    count: int | None
    next: str | None
    previous: str | None
    next_cursor: str | None

    def envelope(self, results: list[Any]) -> dict[str, Any]:
        return {
            "count": self.count,
            "next": self.next,
            "previous": self.previous,
            "next_cursor": self.next_cursor,
            "results": results,
        }


def wants_count(request: Request) -> bool:
    raw = request.query_params.get("count")
    if raw in (None, "", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise invalid({"count": ["Must be true or false."]})


def paginate_pages(request: Request, queryset: QuerySet[Any]) -> Page:
    """A page of rows; ``count`` only on request (it scans every matching row)."""
    size = page_size(request)
    number = _int_param(request, "page", 1, 1, MAX_PAGE)
    count = queryset.count() if wants_count(request) else None
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1]) if count is None or start < count else []
    has_next = len(rows) > size
    return Page(
        rows=rows[:size],
        count=count,
        next=_url(request, page=number + 1) if has_next else None,
        previous=_url(request, page=number - 1 if number > 1 else None) if number > 1 else None,
        next_cursor=None,
    )


# ----------------------------------------------------------------- cursor --
def scope_key(resource: str, clinic_ids: list[Any], filters: dict[str, str]) -> str:
    """A short hash of what the feed covers; a cursor only fits its own feed."""
    material = json.dumps(
        [resource, sorted(str(c) for c in clinic_ids), sorted(filters.items())]
    ).encode()
    return hashlib.sha256(material).hexdigest()[:12]


def encode_cursor(seq: int, scope: str) -> str:
    raw = json.dumps({"v": CURSOR_VERSION, "s": seq, "k": scope}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str, scope: str) -> int:
    try:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        seq = data["s"]
        if data.get("v") != CURSOR_VERSION or not isinstance(seq, int) or not 0 <= seq < 2**63:
            raise ValueError
        key = data.get("k")
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise invalid({"cursor": ["Not a cursor this API handed out."]}) from None
    if key != scope:
        raise invalid(
            {
                "cursor": [
                    "The cursor belongs to another feed (other resource or filters), or your "
                    "clinic memberships changed: start a full sync with updated_since."
                ]
            }
        )
    return seq


def check_listing_params(request: Request) -> None:
    """``page``, ``page_size`` and ``count`` well-formed, also where they
    change nothing (a sync feed, the short clinic list): a malformed value is
    a client bug worth telling."""
    page_size(request)
    _int_param(request, "page", 1, 1, MAX_PAGE)
    wants_count(request)
    cursor = request.query_params.get("cursor")
    if cursor and not CURSOR.fullmatch(cursor):
        raise invalid({"cursor": ["Not a cursor this API handed out."]})


def check_sync_since(request: Request) -> datetime | None:
    """``updated_since`` as an instant; present but empty is refused (a client
    bug, an unset variable, not "everything")."""
    raw_since = request.query_params.get("updated_since")
    if raw_since is None:
        return None
    if not raw_since.strip():
        raise invalid(
            {
                "updated_since": [
                    "Give an instant (e.g. 2026-01-01T00:00:00Z); "
                    "for a full sync use 1970-01-01T00:00:00Z."
                ]
            }
        )
    return parse_timestamp(raw_since, "updated_since")


def paginate_sync(request: Request, scoped: QuerySet[Any], scope: str) -> Page:
    size = page_size(request)
    after = 0
    raw_cursor = request.query_params.get("cursor")
    if raw_cursor:
        after = decode_cursor(raw_cursor, scope)
    since = check_sync_since(request)
    if since is not None:
        scoped = scoped.filter(updated_at__gte=since)
    high = scoped.aggregate(high=Max("change_seq"))["high"]
    if high is None or high <= after:
        return Page([], None, None, None, encode_cursor(after, scope))
    rows = list(
        scoped.filter(change_seq__gt=after, change_seq__lte=high).order_by("change_seq")[: size + 1]
    )
    has_more = len(rows) > size
    rows = rows[:size]
    last = rows[-1].change_seq if has_more else high
    cursor = encode_cursor(last, scope)
    return Page(
        rows=rows,
        count=None,
        next=_url(request, cursor=cursor) if has_more else None,
        previous=None,
        next_cursor=cursor,
    )


# ----------------------------------------------------------------- schema --
class EnvelopePagination(BasePagination):
    """Describes the list envelope and its query parameters for the schema."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["count", "next", "previous", "next_cursor", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "nullable": True,
                    "description": "Rows matching the filters, with `?count=true` "
                    "(null otherwise, and in sync mode).",
                },
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Sync mode: pass as `cursor` to continue; keep the last one "
                    "for the next incremental sync (null outside sync mode).",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
            return {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": schema,
            }

        return [
            query(
                "page",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                "Page number (normal listings; ignored in sync mode).",
            ),
            query(
                "count",
                {"type": "boolean"},
                "Normal listings: also return `count`, the number of matching rows "
                "(costs a scan of them all). Ignored in sync mode.",
            ),
            query(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                f"Rows per page (default {DEFAULT_PAGE_SIZE}).",
            ),
            query(
                "updated_since",
                {"type": "string", "format": "date-time"},
                "Sync mode: start a sync with the rows changed at or after this instant "
                "(tombstones included, ordered by change sequence; not empty: for a full "
                "sync send 1970-01-01T00:00:00Z). Other filters apply to each changed row: "
                "a row outside them comes as a tombstone. See docs/api.md.",
            ),
            query(
                "cursor",
                {"type": "string", "pattern": f"^{CURSOR.pattern}$"},
                "Sync mode: continue from a `next_cursor` this feed handed out.",
            ),
        ]
