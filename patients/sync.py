"""The change sequence: a monotonic number per write, in commit order.

``change_seq`` values come from one counter row, incremented with
``UPDATE ... RETURNING``. The row lock is held until the writing transaction
commits, so a transaction that takes a later number also commits later: a
client that has seen everything up to N can never later find a committed row
with a number below N. Writers take the counter last, just before their
writes, so the lock is held for milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from patients.models import SyncedModel


def allocate_change_seq(count: int = 1) -> int:
    """Reserve ``count`` numbers; returns the first. Must run inside a transaction."""
    if count < 1:
        raise ValueError("count must be >= 1")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocate_change_seq must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_changecounter SET value = value + %s WHERE id = 1 RETURNING value",
            [count],
        )
        row = cursor.fetchone()
    if row is None:  # the migration creates the row; recreate if someone deleted it
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO patients_changecounter (id, value) VALUES (1, %s)", [count])
        return 1
    return int(row[0]) - count + 1


def stamp(objs: Iterable[SyncedModel], *, now: datetime, new: bool = False) -> None:
    """Give each object a new version, updated_at and change_seq (in memory)."""
    items: list[Any] = list(objs)
    if not items:
        return
    first = allocate_change_seq(len(items))
    for offset, obj in enumerate(items):
        obj.change_seq = first + offset
        obj.updated_at = now
        if new:
            obj.version = 1
            obj.created_at = now
        else:
            obj.version = (obj.version or 0) + 1
