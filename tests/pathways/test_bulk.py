"""Bulk updates the sweep writes with: one statement per batch, the same values."""

from __future__ import annotations

import datetime as dt

import pytest

from pathways.models import Episode
from pathways.services.bulk import bulk_update_values

pytestmark = pytest.mark.django_db


def test_bulk_update_writes_each_rows_own_values_json_and_nulls_included(make_episode, now):
    first, second, untouched = make_episode(), make_episode(), make_episode()
    before = Episode.objects.values_list("next_review_at", "flags").get(pk=untouched.pk)
    later = now + dt.timedelta(days=5)

    written = bulk_update_values(
        Episode,
        ("next_review_at", "flags", "sweep_error"),
        # The sweep hands ids as text; a UUID works the same.
        [[str(first.pk), later, ["surgical_candidate"], "it broke"], [second.pk, None, [], ""]],
    )

    assert written == 2
    rows = dict(
        (pk, rest)
        for pk, *rest in Episode.objects.values_list("pk", "next_review_at", "flags", "sweep_error")
    )
    assert rows[first.pk] == [later, ["surgical_candidate"], "it broke"]
    assert rows[second.pk] == [None, [], ""]
    assert tuple(rows[untouched.pk][:2]) == before
