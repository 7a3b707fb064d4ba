"""``Idempotency-Key`` on POST: a retried request creates nothing twice.

1. No key: the request runs as usual.
2. A stored answer for (user, key): same method, path and body -> replay it
   (header ``Idempotent-Replayed: true``); anything else -> 422.
3. Otherwise insert the record, run the request and store its answer in the
   same transaction. A failed request rolls the record back with everything
   else, so its retry runs again. Two concurrent requests with one key
   serialise on the unique index; the second then replays the first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from vcftrack.core.api.errors import ApiError, invalid
from vcftrack.core.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("ETag", "Location")


class _Rollback(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=JSONEncoder, separators=(",", ":"))
    material = f"{request.method} {request.path}\n{body}".encode()
    return hashlib.sha256(material).hexdigest()


def check_idempotency_key(request: Request) -> None:
    """Every POST documents the header: a malformed key is refused on all of
    them, also on those that replay nothing (actions answering 204)."""
    if request.method == "POST":
        _key(request)


def _key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise invalid({HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."]})
    return key


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ApiError(
            "This Idempotency-Key was used for another request; use a new key.",
            status_code=422,
            code="idempotency_key_reused",
            errors={HEADER: ["Already used with another method, path or body."]},
        )
    response = Response(record.body, status=record.status_code)
    for name, value in (record.headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request: Request, *, now: datetime, handler: Callable[[], Response]) -> Response:
    key = _key(request)
    if key is None:
        return handler()
    user: Any = request.user
    fingerprint = _fingerprint(request)
    existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if existing is not None and existing.created_at >= now - RETENTION:
        return _replay(existing, fingerprint)
    try:
        with transaction.atomic():
            if existing is not None:  # expired: the key may be used afresh
                IdempotencyRecord.objects.filter(pk=existing.pk).delete()
            record = IdempotencyRecord.objects.create(
                user=user, key=key, fingerprint=fingerprint, created_at=now
            )
            response = handler()
            if not 200 <= response.status_code < 300:
                raise _Rollback(response)
            record.status_code = response.status_code
            record.body = json.loads(json.dumps(response.data, cls=JSONEncoder))
            record.headers = {h: response[h] for h in REPLAYED_HEADERS if h in response}
            record.save(update_fields=["status_code", "body", "headers"])
    except _Rollback as rollback:
        return rollback.response
    except IntegrityError:
        # A concurrent request with the same key committed first.
        winner = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if winner is None:
            raise
        return _replay(winner, fingerprint)
    return response
