"""Writing the access audit: one bulk INSERT per request."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from vcftrack.core.audit.models import AccessRecord
from vcftrack.core.audit.trail import Trail

# PostgreSQL takes at most 65,535 parameters in one statement (10 a row).
BATCH_ROWS = 5000


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None


def client_of(auth: Any) -> str:
    """The API client of a token-authenticated request ("" for a session)."""
    name = getattr(auth, "name", None)
    prefix = getattr(auth, "prefix", None)
    if name is None or prefix is None:
        return ""
    return f"{name} (vcf_{prefix}_…)"[:140]


def access_record_many(
    *,
    trail: Trail,
    entries: Iterable[tuple[str, uuid.UUID | None]],
    user: Any,
    client: str,
    outcome: int,
    ip: str | None,
    path: str,
    now: datetime,
) -> int:
    """Write one row per (action, patient) of the request, in one INSERT."""
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    actor = user.get_username()[:150] if user_id is not None else ""
    rows = [
        AccessRecord(
            at=now,
            request_id=trail.request_id,
            user_id=user_id,
            actor=actor,
            client=client,
            patient_id=patient_id,
            action=action[:64],
            outcome=outcome,
            ip=_ip(ip),
            path=path[:300],
        )
        for action, patient_id in entries
    ]
    AccessRecord.objects.bulk_create(rows, batch_size=BATCH_ROWS)
    trail.written = True
    return len(rows)
