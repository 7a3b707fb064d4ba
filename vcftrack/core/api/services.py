"""Writes of the API app: issuing and revoking client tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from vcftrack.core.api.models import ApiToken
from vcftrack.core.errors import DomainError, FieldErrors

KEY_PREFIX = "vcf_"
# last_used_at is a hint for the admin, not an audit log: write it at most
# once a minute so that a busy client does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown once; only its hash is stored


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def split_key(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    parts = key[len(KEY_PREFIX) :].split("_", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0]


def token_create(
    *, user: Any, name: str, now: datetime, lifetime_days: int | None = None
) -> IssuedToken:
    """Issue a token for ``user``, valid ``lifetime_days`` (API_TOKEN_LIFETIME_DAYS)."""
    errors = FieldErrors()
    name = (name or "").strip()
    if not name:
        errors.add("name", "This field is required.")
    elif len(name) > 100:
        errors.add("name", "At most 100 characters.")
    if user is None or not getattr(user, "is_active", False):
        errors.add("user", "The user must exist and be active.")
    days = settings.API_TOKEN_LIFETIME_DAYS if lifetime_days is None else lifetime_days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3660:
        errors.add("lifetime_days", "A token lasts from 1 day to 10 years (3660 days).")
    errors.raise_if_any()
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=hash_key(key),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    return IssuedToken(token=token, key=key)


def token_revoke(*, token_id: int, now: datetime) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise DomainError(f"No API token with id {token_id}.", field="id")
        if token.revoked_at is None:
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
    return token


class TokenExpired(Exception):
    """A well-formed, unrevoked token past its expiry."""


def token_authenticate(*, key: str, now: datetime) -> ApiToken | None:
    """The active token for ``key`` (with its user), or None; raises
    TokenExpired for the right key of an expired token (so the client can
    be told to get a new one rather than to check its key)."""
    prefix = split_key(key)
    if prefix is None:
        return None
    token = ApiToken.objects.active().select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, hash_key(key)):
        return None
    if token.expires_at <= now:
        raise TokenExpired
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
