"""Bulk updates the sweep writes with: one statement per batch, the same values."""

from __future__ import annotations

import datetime as dt
import uuid

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


def test_bulk_insert_values_fills_defaults_and_skips_a_conflicting_row(make_episode, now):
    from pathways.models import FollowUpTask, PhaseTransition
    from pathways.services.bulk import bulk_insert_values
    from pathways.services.persist import NEW_TASK_FIELDS, Transition

    episode = make_episode()
    existing = FollowUpTask.objects.filter(episode=episode).order_by("rule").first()
    assert existing is not None
    template = dict(FollowUpTask.objects.filter(pk=existing.pk).values(*NEW_TASK_FIELDS).get())
    fresh = {**template, "id": uuid.uuid4(), "rule": "made_up_rule", "triggers": ['ä "q"\n']}
    clash = {**template, "id": uuid.uuid4(), "title": "not written"}

    bulk_insert_values(
        FollowUpTask,
        NEW_TASK_FIELDS,
        [[row[name] for name in NEW_TASK_FIELDS] for row in (fresh, clash)],
        ignore_conflicts=True,
    )

    made = FollowUpTask.objects.get(pk=fresh["id"])
    assert (made.rule, made.triggers, made.note, made.closed_by_person, made.assignee_id) == (
        "made_up_rule",
        ['ä "q"\n'],
        "",
        False,
        None,
    )
    assert not FollowUpTask.objects.filter(pk=clash["id"]).exists()
    before = PhaseTransition.objects.count()
    move = Transition(episode.pk, now, now.date(), "a", "b", "why", "system", None)
    bulk_insert_values(PhaseTransition, Transition._fields, [move])
    assert PhaseTransition.objects.count() == before + 1
    assert PhaseTransition.objects.latest("id").cause == "why"


@pytest.mark.parametrize(
    "triggers", [["every fracture episode"], [], ['ä, ö: "quoted" \\ tab\t', "two"]]
)
def test_stored_triggers_compare_by_value_without_decoding_equal_text(make_episode, triggers):
    from pathways.loaders.rows import T_ID, T_STATUS, T_TRIGGERS, fetch_task_rows
    from pathways.models import FollowUpTask
    from pathways.services.persist import same_triggers

    episode = make_episode()
    FollowUpTask.objects.filter(episode=episode).update(triggers=triggers)
    rows = [r for r in fetch_task_rows("episode_id", [str(episode.pk)]) if r[T_STATUS] == "open"]
    assert rows
    for row in rows:
        assert FollowUpTask.objects.filter(pk=row[T_ID]).exists()
        assert same_triggers(row[T_TRIGGERS], tuple(triggers))
        assert not same_triggers(row[T_TRIGGERS], (*triggers, "another"))
