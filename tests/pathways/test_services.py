"""Services: creating episodes, recording facts, persisting evaluations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from pathways.models import Episode, FollowUpTask, PhaseTransition
from pathways.services import episode_evaluate, fact_record, task_complete
from pathways.services.patient_facts import medication_record
from tests.factories import dxa_values, fact_values, medication_values

pytestmark = pytest.mark.django_db


def statuses(episode: Episode) -> dict[str, str]:
    """The patient's tasks: the episode's and the bone-health programme's."""
    return {
        f"{t.rule}#{t.occurrence}" if t.occurrence > 1 else t.rule: t.status
        for t in FollowUpTask.objects.filter(patient_id=episode.patient_id)
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
            **medication_values({"drug": "alendronate", "start_date": "2026-11-21"}),
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
    assert outcome.evaluated == 2  # the episode and the patient's programme
    assert (outcome.raised, outcome.closed, outcome.updated, outcome.transitions) == (0, 0, 0, 0)
    assert before == after


def test_fact_out_of_range_is_refused(make_episode, now):
    episode = make_episode()
    with pytest.raises(ValidationError) as err:
        fact_record(
            episode=episode,
            values=fact_values(
                "observation", {"kind": "pain_nrs", "value": 11, "effective_date": "2026-11-21"}
            ),
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
    assert last.to_phase == "bone_health"
    assert last.actor_id == bob.pk
    assert last.cause == "3-month review closed: continue conservative"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("kyphosis_pct", -3, "Kyphosis goes from 0 to 100; -3 is outside that range."),
        ("height_loss_pct", 120, "goes from 0 to 100; 120 is outside"),
        ("pain_nrs", True, "Enter a number from 0 to 10."),
        ("instability", 1, "takes yes or no"),
        ("grip_strength", 3, "is not one of"),
    ],
)
def test_bad_observation_values_name_the_field(make_episode, now, kind, value, message):
    episode = make_episode()
    with pytest.raises(ValidationError) as err:
        fact_record(
            episode=episode,
            values=fact_values(
                "observation", {"kind": kind, "value": value, "effective_date": "2026-11-21"}
            ),
            now=now,
        )
    field = "kind" if kind == "grip_strength" else "value"
    assert message in " ".join(err.value.message_dict[field])


def test_t_score_of_plus_nine_is_refused(patient, now):
    from pathways.services.patient_facts import bone_density_record

    with pytest.raises(ValidationError) as err:
        bone_density_record(
            patient=patient,
            **dxa_values(
                {
                    "performed_date": "2026-11-01",
                    "site": "total_hip",
                    "bmd_g_cm2": 0.8,
                    "t_score": 9,
                }
            ),
            now=now,
        )
    assert list(err.value.message_dict) == ["t_score"]


def test_the_database_itself_refuses_what_the_services_refuse(make_episode):
    """Constraints back the invariants even for writes that bypass the services."""
    from django.db import IntegrityError, transaction

    from pathways.models import Observation

    episode = make_episode()
    bad_rows = [
        lambda: Episode.objects.filter(pk=episode.pk).update(levels_mask=0),
        lambda: Episode.objects.filter(pk=episode.pk).update(onset_date=dt.date(2026, 11, 21)),
        lambda: Episode.objects.filter(pk=episode.pk).update(identified_date=dt.date(2027, 1, 1)),
        lambda: Observation.objects.create(
            episode=episode,
            kind="pain_nrs",
            value_number=11,
            effective_date=dt.date(2026, 11, 21),
            recorded_on=dt.date(2026, 11, 22),
            created_at=episode.created_at,
            updated_at=episode.created_at,
        ),
        lambda: FollowUpTask.objects.filter(episode=episode, rule="mri_initial").update(
            status="done"  # closed without a closing time
        ),
    ]
    for write in bad_rows:
        with pytest.raises(IntegrityError), transaction.atomic():
            write()


def test_a_task_is_unique_per_episode_rule_and_occurrence(make_episode):
    from django.db import IntegrityError

    episode = make_episode()
    task = FollowUpTask.objects.get(episode=episode, rule="mri_initial")
    task.pk = None
    with pytest.raises(IntegrityError):
        FollowUpTask.objects.create(
            **{
                f.attname: getattr(task, f.attname)
                for f in FollowUpTask._meta.concrete_fields
                if f.attname != "id"
            }
        )
