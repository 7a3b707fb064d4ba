"""The demo panel: built by the real engine, re-running it is harmless."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from pathways.models import Episode, FollowUpTask, PhaseTransition
from patients.models import Membership, Patient

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_lived_in_panel_and_runs_once_with_if_empty(capsys):
    call_command("seed_demo", "--patients", "80", "--seed", "3")
    out = capsys.readouterr().out
    assert "demo panel: 80 patients" in out
    assert "password: vcftrack-demo" in out

    assert Patient.objects.count() == 80
    assert Membership.objects.filter(role="coordinator").count() == 3
    phases = set(Episode.objects.values_list("phase", flat=True))
    assert {"acute", "augmentation_review", "bone_health"} <= phases
    statuses = set(FollowUpTask.objects.values_list("status", flat=True))
    assert {"open", "done", "missed"} <= statuses
    # Replayed history: episodes moved through several phases, one transition each.
    assert PhaseTransition.objects.count() > Episode.objects.count()
    # Staff decisions were recorded by people, with outcomes.
    assert (
        FollowUpTask.objects.filter(rule="augmentation_review_3m", closed_by_person=True)
        .exclude(outcome="")
        .exists()
    )

    call_command("seed_demo", "--if-empty")
    assert "already present" in capsys.readouterr().out
    assert Patient.objects.count() == 80


def test_a_small_panel_grows_in_a_second_run_without_touching_the_first(capsys):
    from django.contrib.auth import get_user_model

    call_command("seed_demo", "--patients", "12", "--seed", "3")
    first = dict(FollowUpTask.objects.values_list("id", "updated_at"))
    call_command("seed_demo", "--grow-to", "30")
    out = capsys.readouterr().out
    assert "demo panel: 18 patients" in out
    assert Patient.objects.count() == 30
    assert Patient.objects.filter(mrn__startswith="S1-").count() == 18
    # the replay of the new panel decided its own tasks only
    assert dict(FollowUpTask.objects.filter(id__in=first).values_list("id", "updated_at")) == first
    call_command("seed_demo", "--grow-to", "30")
    assert "30 patients or more" in capsys.readouterr().out
    # every demo user signs in with the documented password
    for user in get_user_model().objects.filter(username__in=["admin", "viewer-east"]):
        assert user.check_password("vcftrack-demo")
