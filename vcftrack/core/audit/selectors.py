"""Reading the access audit: who looked at a patient, an export for a period."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from vcftrack.core.audit.models import AccessRecord

# What an action's last word means, for people ("Dr Grey opened the record").
VERBS = {
    "view": "opened the record",
    "list": "saw them in a list",
    "search": "found them in a search",
    "export": "exported their data",
    "history": "read the change history",
    "fhir": "exported the episode as FHIR",
    "sync": "synchronised their records",
    "create": "added to the record",
    "record": "recorded a finding",
    "void": "voided an entry",
    "update": "changed the record",
    "delete": "deleted an entry",
    "act": "acted on a task",
}


# Where a list showed them, by the action's first word.
LISTS = {
    "worklist": "saw them on the worklist",
    "patient": "saw them in the patient list",
    "dashboard": "saw them on the dashboard",
    "drilldown": "saw them in an indicator list",
    "inbox": "saw a notification about them",
    "admin": "saw them in an admin list",
}


def describe(record: AccessRecord) -> str:
    """Plain English: what the person did (or tried to do)."""
    verb = record.action.rsplit(".", 1)[-1]
    what = VERBS.get(verb, "used the record")
    if verb == "list":
        what = LISTS.get(record.action.split(".", 1)[0], what)
    if record.outcome in (401, 403):
        return "was refused: their role does not allow it"
    if record.outcome == 404:
        return "asked for the record but was not allowed to see it"
    if record.outcome >= 400:
        return "tried, but the request was not accepted"
    return what


@dataclass(frozen=True)
class AccessLine:
    at: datetime
    who: str
    what: str
    how: str
    denied: bool


def _how(record: AccessRecord) -> str:
    if record.client:
        return f"through the API ({record.client})"
    if record.action.startswith("api."):
        return "through the API"
    if record.action.startswith("admin."):
        return "in the admin"
    return "in the web app"


def recent_for_patient(patient_id: uuid.UUID, *, limit: int = 8) -> list[AccessLine]:
    """The most recent accesses to one patient's data, newest first (one query)."""
    rows = AccessRecord.objects.filter(patient_id=patient_id).order_by("-at", "-id")[:limit]
    return [
        AccessLine(
            at=r.at,
            who=r.actor or "someone not signed in",
            what=describe(r),
            how=_how(r),
            denied=r.denied,
        )
        for r in rows
    ]


def period_bounds(start: date, end: date, tz: Any) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the zone ``tz``."""
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def records_between(
    *, since: datetime, until: datetime, patient_ids: QuerySet[Any] | None = None
) -> QuerySet[AccessRecord]:
    """The audit rows of a period, oldest first; only these patients' rows if given
    (``None``: every row, including attempts that named no patient)."""
    qs = AccessRecord.objects.filter(at__gte=since, at__lt=until)
    if patient_ids is not None:
        qs = qs.filter(Q(patient_id__in=patient_ids))
    return qs.order_by("at", "id")


EXPORT_HEADER = [
    "time (UTC)",
    "request id",
    "user",
    "API client",
    "patient id",
    "action",
    "what happened",
    "HTTP status",
    "IP address",
    "address requested",
]


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts like a formula (a crafted path).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_rows(records: Iterable[AccessRecord]) -> Iterator[list[str]]:
    yield EXPORT_HEADER
    for r in records:
        yield [
            _cell(v)
            for v in [
                r.at.strftime("%Y-%m-%d %H:%M:%S"),
                str(r.request_id),
                r.actor,
                r.client,
                str(r.patient_id or ""),
                r.action,
                describe(r),
                str(r.outcome),
                r.ip or "",
                r.path,
            ]
        ]
