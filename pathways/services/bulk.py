"""Bulk updates without Django's CASE WHEN: one statement per batch.

``QuerySet.bulk_update`` builds a CASE expression per field and row, which
costs more Python time than the sweep's whole evaluation. On PostgreSQL this
writes ``UPDATE t SET ... FROM unnest(%s::type[], ...) v WHERE t.id = v.id``; elsewhere
(SQLite) an ``executemany`` of a plain keyed UPDATE.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection
from django.db.models import Field, JSONField, Model
from django.db.models.fields import AutoFieldMixin
from psycopg.types.json import Jsonb

from vcftrack.core.pg import array_literal

_AS_LITERAL = frozenset({"uuid", "integer", "bigint", "smallint"})


def _arrays(types: Sequence[str | None], rows: Sequence[Sequence[Any]]) -> list[Any]:
    """One array parameter per column of ``rows``. Ids and integers without
    NULLs go as one array literal (psycopg dumps a list element by element
    in Python, ~6 % of the sweep's CPU; a join is one C call); other values
    as a list: ids as text (they may come as text or as UUIDs, and an array
    holds one type), JSON wrapped (psycopg adapts other values itself)."""
    out: list[Any] = []
    for db_type, col in zip(types, zip(*rows, strict=True), strict=True):
        if db_type in _AS_LITERAL and None not in col:
            out.append(array_literal(col))
        elif db_type == "uuid":
            out.append([None if v is None else str(v) for v in col])
        elif db_type == "jsonb":
            out.append([None if v is None else Jsonb(v) for v in col])
        else:
            out.append(list(col))
    return out


def bulk_update_values(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *, chunk: int = 1000
) -> int:
    """Update ``fields`` of many rows; each row is (pk, value_for_field_1, ...)."""
    if not rows:
        return 0
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    pk = meta.pk
    assert pk is not None
    model_fields = [meta.get_field(name) for name in fields]
    columns: list[str] = [str(f.column) for f in model_fields]  # type: ignore[union-attr]
    pk_column = str(pk.column)

    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg adapts plain values itself; only JSON needs wrapping.
            # (Django's per-value get_db_prep_save cost more than the rules.)
            # One array parameter per column: the statement text is the same
            # whatever the batch, and no per-value placeholder is built.
            types = [pk.db_type(connection)] + [
                "jsonb" if isinstance(f, JSONField) else f.db_type(connection) for f in model_fields
            ]
            names = ["id"] + [f"c{i}" for i in range(len(columns))]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            sets = ", ".join(f"{qn(col)} = v.c{i}" for i, col in enumerate(columns))
            sql = (
                f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) "  # noqa: S608 - names come from the model
                f"AS v({', '.join(names)}) WHERE t.{qn(pk_column)} = v.id"
            )
            # Bound server-side (Django binds client-side, quoting every value
            # into the statement text).
            raw = connection.connection
            with psycopg.Cursor(raw) as server_cursor:
                for start in range(0, len(rows), chunk):
                    server_cursor.execute(sql, _arrays(types, rows[start : start + chunk]))
        else:
            prepared = [
                [
                    pk.get_db_prep_save(row[0], connection),
                    *(
                        f.get_db_prep_save(v, connection)  # type: ignore[union-attr]
                        for f, v in zip(model_fields, row[1:], strict=True)
                    ),
                ]
                for row in rows
            ]
            sets = ", ".join(f"{qn(col)} = %s" for col in columns)
            sql = f"UPDATE {table} SET {sets} WHERE {qn(pk_column)} = %s"  # noqa: S608
            cursor.executemany(sql, [[*row[1:], row[0]] for row in prepared])
    return len(rows)


def bulk_insert_values(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    chunk: int = 1000,
) -> int:
    """Insert many rows given as values in ``fields`` order (attnames); the
    model's other columns take their fields' defaults, an auto id the
    database's. No model instance on PostgreSQL: one ``INSERT … SELECT …
    FROM unnest(%s::type[], …)`` per chunk, bound server-side (``ON CONFLICT
    DO NOTHING`` with ``ignore_conflicts``); elsewhere (SQLite) ``bulk_create``."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return len(rows)
    sql, consts, types = _insert_statement(model, tuple(fields), ignore_conflicts)
    with psycopg.Cursor(connection.connection) as server_cursor:
        for start in range(0, len(rows), chunk):
            server_cursor.execute(sql, [*consts, *_arrays(types, rows[start : start + chunk])])
    return len(rows)


def _db_value(f: Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    return Jsonb(value) if isinstance(f, JSONField) else f.get_db_prep_save(value, connection)


@functools.cache
def _insert_statement(
    model: type[Model], fields: tuple[str, ...], ignore_conflicts: bool
) -> tuple[str, list[Any], list[str | None]]:
    """The INSERT's text, the other columns' values and the given columns'
    types (PostgreSQL), built once per process: the other columns' defaults
    are constants (a callable default would be frozen, so none is allowed)."""
    meta = model._meta
    qn = connection.ops.quote_name
    by_name = {f.attname: f for f in meta.concrete_fields}
    given = [by_name[name] for name in fields]
    rest = [
        f
        for f in meta.concrete_fields
        if f.attname not in fields and not isinstance(f, AutoFieldMixin)
    ]
    assert not any(f.has_default() and callable(f.default) for f in rest), "give those columns"
    consts = [_db_value(f, f.get_default()) for f in rest]
    types = ["jsonb" if isinstance(f, JSONField) else f.db_type(connection) for f in given]
    names = [f"c{i}" for i in range(len(given))]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in given)
    select = [f"v.{n}" for n in names] + [f"%s::{f.db_type(connection)}" for f in rest]
    sql = (
        f"INSERT INTO {qn(meta.db_table)} "  # noqa: S608 - names come from the model
        f"({', '.join(qn(str(f.column)) for f in [*given, *rest])}) "
        f"SELECT {', '.join(select)} FROM unnest({arrays}) AS v({', '.join(names)})"
    )
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    return sql, consts, types
