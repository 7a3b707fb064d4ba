"""Change history, read: who changed what, when, from which value to which.

The rows come from django-simple-history (one historical row per save of a
tracked model, with ``history_user`` taken from the request). This module
turns one object's historical rows into entries - created / changed /
deleted, each with its field changes - for the API (codes and raw values)
and the web (plain words). No app models are imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from vcftrack.core.labels import label
from vcftrack.core.pg import array_literal

# Columns that are how a row is filed, not what it says.
HIDDEN = frozenset({"id", "patient", "episode", "clinic", "programme", "recorded_on", "created_at"})
KINDS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass
class Entry:
    history_id: int
    at: datetime
    user_id: int | None
    user: str
    kind: str
    changes: list[Change] = field(default_factory=list)


def _who(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def _fields(record: Any) -> list[str]:
    return [
        f.attname if f.is_relation else f.name
        for f in record.instance_type._meta.fields
        if f.name not in HIDDEN and f.name in {h.name for h in record._meta.fields}
    ]


def entries(records: Sequence[Any]) -> list[Entry]:
    """One object's history, oldest first. ``records``: its historical rows
    in ``history_id`` order - the order they were written: a save's
    ``history_date`` is the wall clock at the save, an engine snapshot's the
    decision's ``now``, read a moment earlier (``history_user`` selected)."""
    out: list[Entry] = []
    previous: Any = None
    for record in records:
        names = _fields(record)
        kind = KINDS.get(record.history_type, "changed")
        if previous is None:
            changes = [
                Change(n, None, getattr(record, n))
                for n in names
                if getattr(record, n) not in (None, "", [], False)
            ]
            kind = "created" if kind == "changed" else kind
        else:
            changes = [
                Change(n, getattr(previous, n), getattr(record, n))
                for n in names
                if getattr(previous, n) != getattr(record, n)
            ]
            if not changes and kind != "deleted":
                previous = record
                continue
        out.append(
            Entry(
                history_id=record.history_id,
                at=record.history_date,
                user_id=record.history_user_id,
                user=_who(record.history_user),
                kind=kind,
                changes=changes,
            )
        )
        previous = record
    return out


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def as_json(items: Iterable[Entry]) -> list[dict[str, Any]]:
    """The API's form: field names and raw values."""
    return [
        {
            "at": json_value(e.at),
            "user": e.user or None,
            "type": e.kind,
            "changes": [
                {"field": c.field, "old": json_value(c.old), "new": json_value(c.new)}
                for c in e.changes
            ],
        }
        for e in items
    ]


# ------------------------------------------------------------------- web --
FIELD_WORDS = {
    "deleted_at": "Deleted or voided",
    "void_reason": "Reason for voiding",
    "levels_mask": "Levels",
    "value_number": "Value",
    "value_bool": "Value",
    "bmd_g_cm2": "BMD (g/cm²)",
    "t_score": "T-score",
    "mrn": "MRN",
    "assignee_id": "Assigned to",
    "closed_by_id": "Closed by",
    "deceased_date": "Date of death",
    "phone_alt": "Other phone",
    "contact_time": "Best time to call",
    "snoozed_until": "Snoozed until",
}


def field_words(name: str) -> str:
    return FIELD_WORDS.get(name) or name.removesuffix("_id").replace("_", " ").capitalize()


def plain_value(value: Any, *, users: dict[int, str], name: str = "") -> str:
    if value is None or value == "":
        return "—"
    if name in ("assignee_id", "closed_by_id"):
        return users.get(value, "a former user")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value:%-d %b %Y %H:%M} UTC"
    if isinstance(value, date):
        return f"{value:%-d %b %Y}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, str):
        return label(value) if value.islower() and " " not in value else value
    return str(value)


@dataclass(frozen=True)
class PlainChange:
    what: str
    old: str
    new: str


@dataclass(frozen=True)
class PlainEntry:
    at: datetime
    who: str
    said: str
    changes: list[PlainChange]


SAID = {"created": "recorded it", "changed": "changed", "deleted": "removed it"}
# What the section's title already says (a task's rule), or bookkeeping.
NOT_SHOWN = frozenset({"rule_set", "rule", "occurrence", "title", "pathway_version"})


def plain(
    items: Iterable[Entry],
    *,
    users: dict[int, str],
    formatters: dict[str, Callable[[Any], str]] | None = None,
) -> list[PlainEntry]:
    """The web's form, newest first: "Alice Coordinator changed Phone: — → 0301234"."""
    formatters = formatters or {}

    def show(name: str, value: Any) -> str:
        if name in formatters and value is not None:
            return formatters[name](value)
        return plain_value(value, users=users, name=name)

    return [
        PlainEntry(
            at=e.at,
            who=e.user or "The system (the pathway or an import)",
            said=SAID[e.kind],
            changes=[
                PlainChange(field_words(c.field), show(c.field, c.old), show(c.field, c.new))
                for c in e.changes
                if c.field not in NOT_SHOWN
            ],
        )
        for e in reversed(list(items))
    ]


# ----------------------------------------------------------------- write --
def record_snapshots(model: Any, ids: Sequence[Any], *, now: datetime, kind: str = "~") -> None:
    """Copy rows written in bulk (the pathway engine's task and phase changes,
    which bypass ``save()``) into their history table, as the system's change:
    one ``INSERT … SELECT`` (per 500 ids but on PostgreSQL), so a person's next change is not
    credited with what the engine did before it."""
    from django.db import connection

    if not ids:
        return
    history_model = model.history.model
    qn = connection.ops.quote_name
    copied = [
        str(f.column) for f in history_model._meta.fields if not f.name.startswith("history_")
    ]
    pk = model._meta.pk
    # Table and column names from the models' metadata, quoted; values are parameters.
    sql_head = (
        f"INSERT INTO {qn(history_model._meta.db_table)} "  # noqa: S608
        f"({', '.join(qn(c) for c in copied)}, {qn('history_date')}, {qn('history_type')}) "
        f"SELECT {', '.join(qn(c) for c in copied)}, %s, %s "
        f"FROM {qn(model._meta.db_table)} WHERE {qn(pk.column)}"
    )
    if connection.vendor == "postgresql":
        import psycopg

        # One statement, the ids as one array literal, bound server-side
        # (Django's cursor quotes every id into the statement text).
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as server_cursor:
            server_cursor.execute(
                f"{sql_head} = ANY(%s::{pk.db_type(connection)}[])",
                [now, kind, array_literal(ids)],
            )
        return
    at = model._meta.get_field("updated_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = [pk.get_db_prep_value(i, connection) for i in ids[start : start + 500]]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"{sql_head} IN ({marks})", [at, kind, *chunk])
