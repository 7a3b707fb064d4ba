"""What a request noted about the patients it touched (no database here).

Views and API viewsets call ``note(request, patient_ids=..., action=...)``;
``AuditMiddleware`` writes everything noted, once, at the end of the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.http import HttpRequest

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Trail:
    request_id: uuid.UUID
    # (action, patient id or None), in the order first noted, without repeats.
    entries: dict[tuple[str, uuid.UUID | None], None] = field(default_factory=dict)
    # Set once the rows are written (a streamed response writes at its end).
    written: bool = False

    def add(self, action: str, patient_ids: Iterable[uuid.UUID | str | None]) -> None:
        added = False
        for pid in patient_ids:
            if pid is None:
                continue
            try:
                key = (action, pid if isinstance(pid, uuid.UUID) else uuid.UUID(str(pid)))
            except ValueError:
                continue
            self.entries.setdefault(key, None)
            added = True
        if not added:
            self.entries.setdefault((action, None), None)

    @property
    def noted(self) -> bool:
        return bool(self.entries)


def trail_of(request: Any) -> Trail | None:
    """The trail of a Django or DRF request (DRF's proxies attributes)."""
    raw: HttpRequest = getattr(request, "_request", request)
    return getattr(raw, "audit_trail", None)


def note(request: Any, *, patient_ids: Iterable[uuid.UUID | str | None] = (), action: str) -> None:
    """Record that this request touched these patients' data (none: the area).

    Cheap and repeatable: nothing is written until the request ends, and a
    patient noted twice under one action is one row.
    """
    trail = trail_of(request)
    if trail is not None:
        trail.add(action, patient_ids)


def exempt(view: F) -> F:
    """Mark a view that shows no patient data (sign-in, rule catalogue, ...)."""
    view.audit_exempt = True  # type: ignore[attr-defined]
    return view
