"""Signed webhooks for REST clients: subscriptions, deliveries, signatures, SSRF guard.

A delivery is a POST of JSON to the subscription's URL with the headers

    Vcftrack-Delivery:  <delivery id>      (the same on every retry: de-duplicate on it)
    Vcftrack-Event:     task.created | task.closed | ...
    Vcftrack-Signature: t=<unix time>,v1=<hex>[,v1=<hex>]

where each v1 is HMAC-SHA256(secret, "<t>." + body) with a valid secret (two
during a rotation). See docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from notifications.models import (
    DeliveryAttempt,
    OutboxStatus,
    WebhookAllowedUrl,
    WebhookDelivery,
    WebhookSubscription,
)
from notifications.outbox import kick_dispatch
from patients.models import Clinic
from vcftrack.core.errors import DomainError, FieldErrors
from vcftrack.core.events import PUBLIC_EVENT_TYPES, DomainEvent

SIGNATURE_HEADER = "Vcftrack-Signature"
DELIVERY_HEADER = "Vcftrack-Delivery"
EVENT_HEADER = "Vcftrack-Event"
# How long the previous secret keeps signing after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)


# ----------------------------------------------------------------- signatures --
def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets_: Sequence[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets_)])


def verify(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = 300
) -> bool:
    """What a receiver does (docs/webhooks.md): any v1 matches, and t is recent."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")


def valid_secrets(sub: WebhookSubscription, now: datetime) -> list[str]:
    keep_previous = (
        sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now
    )
    return [sub.secret, sub.previous_secret] if keep_previous else [sub.secret]


# ------------------------------------------------------------ URLs and SSRF --
def _address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return True
    return ip.is_global and not ip.is_multicast


def resolve_public(host: str, port: int) -> str:
    """The host's address if every address it resolves to is public; else a DomainError.

    The delivery connects to this very address (no second lookup), so a DNS
    answer that changes between the check and the connection cannot point the
    request at an internal service.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DomainError("The webhook URL's host cannot be resolved.", field="url") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or not all(_address_allowed(ip) for ip in addresses):
        raise DomainError(
            "The webhook URL points to a private or local network address.", field="url"
        )
    return str(addresses[0])


def check_url(*, clinic: Clinic, url: str, resolve: bool = True) -> str:
    errors = FieldErrors()
    try:
        parts = urlsplit(url or "")
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValidationError({"url": ["Enter a valid web address."]}) from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        errors.add("url", "Enter a full web address starting with https://.")
    elif parts.scheme == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        errors.add("url", "Webhook addresses must use https://.")
    elif parts.username or parts.password:
        errors.add("url", "A webhook address cannot carry a user name or password.")
    elif not any(
        url.startswith(prefix)
        for prefix in WebhookAllowedUrl.objects.filter(clinic=clinic).values_list(
            "url_prefix", flat=True
        )
    ):
        errors.add("url", "This address is not on the clinic's list of allowed webhook addresses.")
    errors.raise_if_any()
    if resolve:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            resolve_public(parts.hostname or "", port)
        except DomainError as exc:
            raise ValidationError({"url": [exc.message]}) from exc
    return url


# ------------------------------------------------------------- subscriptions --
def subscription_create(
    *, owner: Any, clinic: Clinic, url: Any, event_types: Any, now: datetime
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (returned here once, never shown again)."""
    types = _check_event_types(event_types)
    check_url(clinic=clinic, url=str(url or ""))
    secret = "whsec_" + secrets.token_hex(24)
    sub = WebhookSubscription.objects.create(
        clinic=clinic, owner=owner, url=url, event_types=types, secret=secret, created_at=now
    )
    return sub, secret


def _check_event_types(value: Any) -> list[str]:
    errors = FieldErrors()
    if not isinstance(value, list) or not value:
        errors.add("event_types", f"Pick at least one of: {', '.join(PUBLIC_EVENT_TYPES)}.")
    else:
        unknown = [str(v) for v in value if v not in PUBLIC_EVENT_TYPES]
        if unknown:
            errors.add(
                "event_types",
                f"Unknown event type {unknown[0]!r}; use: {', '.join(PUBLIC_EVENT_TYPES)}.",
            )
    errors.raise_if_any()
    return sorted(set(value))


def subscription_update(*, sub: WebhookSubscription, data: dict[str, Any]) -> WebhookSubscription:
    if "url" in data:
        sub.url = check_url(clinic=sub.clinic, url=str(data["url"] or ""))
    if "event_types" in data:
        sub.event_types = _check_event_types(data["event_types"])
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise ValidationError({"active": ["Must be true or false."]})
        sub.active = data["active"]
    sub.save()
    return sub


def subscription_rotate_secret(
    *, sub: WebhookSubscription, now: datetime
) -> tuple[WebhookSubscription, str]:
    """A new secret; the old one keeps signing for ROTATION_OVERLAP (both are sent)."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=sub.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_until = now + ROTATION_OVERLAP
        locked.secret = "whsec_" + secrets.token_hex(24)
        locked.save()
    return locked, locked.secret


def delivery_replay(*, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Send a delivery again (same delivery id), now and with a fresh retry window."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=OutboxStatus.PENDING, next_attempt_at=now, lease_until=None, created_at=now
    )
    kick_dispatch()
    delivery.refresh_from_db()
    return delivery


# ----------------------------------------------------------------- queueing --
def queue_deliveries(*, events: Sequence[DomainEvent]) -> int:
    """One delivery per public event and matching subscription, in the caller's transaction."""
    public = [e for e in events if e.type in PUBLIC_EVENT_TYPES]
    if not public:
        return 0
    subs = list(
        WebhookSubscription.objects.filter(
            active=True, clinic_id__in={e.clinic_id for e in public}
        ).select_related("clinic")
    )
    if not subs:
        return 0
    rows = []
    for event in public:
        for sub in subs:
            if sub.clinic_id != event.clinic_id or event.type not in sub.event_types:
                continue
            rows.append(
                WebhookDelivery(
                    id=uuid.uuid4(),
                    key=f"{sub.pk}:{event.key}",
                    subscription=sub,
                    event_type=event.type,
                    event_key=event.key,
                    payload={
                        "type": event.type,
                        "occurred_at": event.at.isoformat(),
                        "clinic": sub.clinic.code,
                        "data": event.data,
                    },
                    created_at=event.at,
                    next_attempt_at=event.at,
                )
            )
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        kick_dispatch()
    return len(rows)


# ----------------------------------------------------------------- delivery --
def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2 x base, 4 x base, ... capped at an hour."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 3600))


def deliver(
    *, delivery_id: Any, now: datetime, clock: Callable[[], datetime] | None = None
) -> bool:
    """POST one claimed delivery; log the attempt; schedule a retry or give up after 24 h.

    The payload gets the delivery id; the signature covers timestamp + body.
    """
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    sub = delivery.subscription
    body = json.dumps({"id": str(delivery.pk), **delivery.payload}, separators=(",", ":")).encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "vcftrack-webhooks/1",
        DELIVERY_HEADER: str(delivery.pk),
        EVENT_HEADER: delivery.event_type,
        SIGNATURE_HEADER: signature_header(valid_secrets(sub, now), timestamp, body),
    }
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    try:
        if not sub.active:
            raise DomainError("The subscription is paused.")
        status_code = post(sub.url, body, headers)
        if not 200 <= status_code < 300:
            error = f"The receiver answered {status_code}."
    except DomainError as exc:
        error = exc.message
    except (OSError, http.client.HTTPException) as exc:
        error = f"Could not reach the receiver: {exc.__class__.__name__}"
    latency = int((time.monotonic() - started) * 1000)
    done_at = (clock or (lambda: now))()
    ok = not error
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            at=done_at,
            status_code=status_code,
            latency_ms=latency,
            error=error[:300],
        )
        update: dict[str, Any] = {
            "last_status_code": status_code,
            "last_latency_ms": latency,
            "last_error": error,
            "lease_until": None,
        }
        if ok:
            update |= {"status": OutboxStatus.SENT, "sent_at": done_at}
        else:
            attempts = WebhookDelivery.objects.values_list("attempts", flat=True).get(
                pk=delivery.pk
            )
            next_at = now + retry_delay(attempts)
            window = timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
            if next_at - delivery.created_at > window:
                update |= {"status": OutboxStatus.FAILED}
            else:
                update |= {"status": OutboxStatus.PENDING, "next_attempt_at": next_at}
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**update)
    return ok


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the URL's host name for SNI and the certificate."""

    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        super().__init__(host, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST without following redirects, to the address the SSRF guard checked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_public(host, port)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = _PinnedHTTPSConnection(host, address, port=port, timeout=timeout)
    else:
        conn = _PinnedHTTPConnection(host, address, port=port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()
