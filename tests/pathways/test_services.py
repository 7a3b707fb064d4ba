"""Services: creating episodes, recording facts, persisting evaluations."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from pathways.models import Episode, FollowUpTask, PhaseTransition
from pathways.services import episode_evaluate, fact_record, task_complete
from patients.services import medication_record

pytestmark = pytest.mark.django_db


def statuses(episode: Episode) -> dict[str, str]:
    return {
        f"{t.rule}#{t.occurrence}" if t.occurrence > 1 else t.rule: t.status
        for t in FollowUpTask.objects.filter(episode=episode)
    }


def test_new_episode_raises_the_triage_and_day0_tasks(make_episode):
    episode = make_episode()
    assert statuses(episode) == {
        "neuro_exam": "done",  # neuro status "intact" was recorded with the episode
        "red_flag_screen": "open",
        "mri_initial": "open",
        "calcitonin_start": "open",  # presented on day 2 after onset
        "osteoporosis_rx_start": "open",
        "calcium_vitamin_d": "open",
        "mobilisation": "open",
        "falls_prevention": "open",
    }
    assert episode.phase == "triage"
    assert episode.version == 1
    transition = PhaseTransition.objects.get(episode=episode)
    assert (transition.from_phase, transition.to_phase, transition.actor_kind) == (
        "",
        "triage",
        "system",
    )


def test_bad_episode_names_every_bad_field_and_writes_nothing(make_episode):
    with pytest.raises(ValidationError) as err:
        make_episode(
            levels=["L6", "T1"],
            onset_date="2026-12-01",
            identified_date="2026-11-01",
            etiology="alien",
        )
    assert set(err.value.message_dict) == {"levels", "onset_date", "identified_date", "etiology"}
    assert "L6" in err.value.message_dict["levels"][0]
    assert "future" in err.value.message_dict["onset_date"][0]
    assert Episode.objects.count() == 0
    assert FollowUpTask.objects.count() == 0


def test_identified_before_onset_is_refused(make_episode):
    with pytest.raises(ValidationError) as err:
        make_episode(onset_date="2026-11-10", identified_date="2026-11-01")
    assert list(err.value.message_dict) == ["identified_date"]


def test_recording_a_fact_reevaluates_after_commit(
    make_episode, now, django_capture_on_commit_callbacks
):
    episode = make_episode()
    with django_capture_on_commit_callbacks(execute=True):
        medication_record(
            patient=episode.patient,
            data={"drug": "alendronate", "start_date": "2026-11-21"},
            now=now,
        )
    task = FollowUpTask.objects.get(episode=episode, rule="osteoporosis_rx_start")
    assert task.status == "done"
    assert "alendronate started on 2026-11-21" in task.reason


def test_evaluation_is_idempotent(make_episode, now):
    episode = make_episode()
    before = list(
        FollowUpTask.objects.order_by("rule").values_list("rule", "status", "version", "change_seq")
    )
    outcome = episode_evaluate(episode_id=episode.id, now=now)
    after = list(
        FollowUpTask.objects.order_by("rule").values_list("rule", "status", "version", "change_seq")
    )
    assert outcome.evaluated == 1
    assert (outcome.raised, outcome.closed, outcome.updated, outcome.transitions) == (0, 0, 0, 0)
    assert before == after


def test_fact_out_of_range_is_refused(make_episode, now):
    episode = make_episode()
    with pytest.raises(ValidationError) as err:
        fact_record(
            episode=episode,
            kind="observation",
            data={"kind": "pain_nrs", "value": 11, "effective_date": "2026-11-21"},
            now=now,
        )
    assert "value" in err.value.message_dict


def test_physician_decision_moves_episode_to_bone_health(
    make_episode, bob, now, django_capture_on_commit_callbacks
):
    episode = make_episode(onset_date="2026-07-01", identified_date="2026-07-02")
    episode.refresh_from_db()
    assert episode.phase == "augmentation_review"
    review = FollowUpTask.objects.get(episode=episode, rule="augmentation_review_3m")
    with django_capture_on_commit_callbacks(execute=True):
        task_complete(task=review, actor=bob, outcome="continue_conservative", now=now)
    episode.refresh_from_db()
    assert episode.phase == "bone_health"
    last = PhaseTransition.objects.filter(episode=episode).last()
    assert last.to_phase == "bone_health" and last.actor_id == bob.pk
    assert last.cause == "3-month review closed: continue_conservative"
