"""The dashboard's stored cohort facts: after a realistic series of writes
through the services (each re-evaluated after commit, as in production) and
the sweep, every stored row equals a full recomputation, and the board and
every drill-down read from the rows equal the live reference query."""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from pathways.dashboard.board import dashboard
from pathways.dashboard.cohort import drilldown
from pathways.dashboard.definitions import INDICATORS
from pathways.dashboard.facts_table import stale_rows
from pathways.models import CohortFacts, Episode, FollowUpTask, Observation
from patients.models import ANTI_OSTEOPOROSIS, BoneDensity, Medication
from tests.factories import NOW, fact_values, medication_change

TODAY = NOW.date()
PERIODS = (
    (TODAY - timedelta(days=365), TODAY),
    (TODAY - timedelta(days=500), TODAY - timedelta(days=120)),
)


def assert_board_equals_reference(clinic_ids: list[Any]) -> None:
    for start, end in PERIODS:
        board = dashboard(clinic_ids, start, end, TODAY)
        assert board == dashboard(clinic_ids, start, end, TODAY, stored=False)
        for ind in INDICATORS:
            for which in ("numerator", "denominator", "gap"):
                args = (ind.code, which, clinic_ids, start, end, TODAY)
                got = [(e.id, getattr(e, ind.numerator_field)) for e in drilldown(*args)]
                want = [
                    (e.id, getattr(e, ind.numerator_field)) for e in drilldown(*args, stored=False)
                ]
                assert got == want, (ind.code, which)


def at(day: date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


def untreated_episode() -> Episode:
    treated = Medication.objects.filter(drug__in=list(ANTI_OSTEOPOROSIS)).values("patient_id")
    return (
        Episode.objects.active()
        .filter(identified_date__lte=TODAY - timedelta(days=130), programme__isnull=True)
        .exclude(patient_id__in=treated)
        .exclude(etiology__in=["traumatic", "pathologic_suspected", "pathologic_confirmed"])
        .order_by("identified_date", "id")
        .first()
    )


@pytest.mark.django_db(transaction=True)  # re-evaluation runs after commit, as in production
def test_stored_facts_equal_a_full_recompute_after_writes_and_the_sweep(
    clinic_a, bob, build_panel_for
):
    from pathways.services import (
        episode_close,
        episode_delete,
        episode_update,
        fact_delete,
        fact_record,
        pathway_sweep,
        task_complete,
        task_snooze,
    )
    from pathways.services.patient_facts import (
        bone_density_delete,
        bone_density_record,
        medication_delete,
        medication_record,
        medication_update,
        patient_fact_void,
    )

    build_panel_for(clinic_a, 80)
    alive = Episode.objects.alive()
    # The sweep's evaluation wrote a row for every episode.
    assert CohortFacts.objects.count() == alive.count() > 80
    assert stale_rows() == []
    clinic_ids = [clinic_a.id]
    before = dashboard(clinic_ids, *PERIODS[0], TODAY)
    assert_board_equals_reference(clinic_ids)

    # A drug started within 16 weeks for an untreated patient, then stopped
    # before week 52; another patient's drug deleted, a third's voided.
    ep = untreated_episode()
    med = medication_record(
        patient=ep.patient,
        drug="alendronate",
        start_date=ep.identified_date + timedelta(days=30),
        now=NOW,
    )
    assert CohortFacts.objects.get(episode=ep).first_rx == med.start_date
    medication_update(
        medication=med,
        **medication_change(med, {"stop_date": str(ep.identified_date + timedelta(days=200))}),
        now=NOW,
    )
    meds = Medication.objects.alive().filter(drug__in=list(ANTI_OSTEOPOROSIS)).order_by("id")
    medication_delete(medication=meds.exclude(id=med.id)[0], now=NOW)
    patient_fact_void(record=meds.exclude(id=med.id)[1], reason="Entered in error", now=NOW)

    # DXA: one recorded within 12 weeks of identification, one deleted.
    other = untreated_episode()
    bone_density_record(
        patient=other.patient,
        performed_date=other.identified_date + timedelta(days=20),
        site="total_hip",
        bmd_g_cm2=Decimal("0.7"),
        now=NOW,
    )
    bone_density_delete(scan=BoneDensity.objects.alive().order_by("id")[0], now=NOW)

    # Follow-up contacts: an observation in weeks 12-18 recorded, another deleted.
    followup_ep = (
        Episode.objects.active()
        .filter(identified_date__lte=TODAY - timedelta(days=100))
        .order_by("-identified_date", "id")
        .first()
    )
    fact_record(
        episode=followup_ep,
        values=fact_values(
            "observation",
            {
                "kind": "pain_nrs",
                "value": 3,
                "effective_date": str(followup_ep.identified_date + timedelta(days=90)),
            },
        ),
        now=NOW,
    )
    obs = (
        Observation.objects.alive()
        .filter(episode__status="active", episode__deleted_at__isnull=True)
        .order_by("id")
        .first()
    )
    fact_delete(fact=obs, now=NOW)

    # A task done by a person today, for an episode in its weeks 12-18.
    in_window = (
        FollowUpTask.objects.open()
        .filter(
            clinic=clinic_a,
            episode__identified_date__gte=TODAY - timedelta(days=126),
            episode__identified_date__lte=TODAY - timedelta(days=84),
            rule="falls_prevention",
        )
        .order_by("id")
        .first()
    )
    if in_window is not None:
        task_complete(task=in_window, actor=bob, now=NOW)

    # 3-month reviews: one done by the physician, one snoozed (a snooze
    # moves its overdue date without a re-evaluation).
    reviews = FollowUpTask.objects.open().filter(clinic=clinic_a, rule="augmentation_review_3m")
    first, second = reviews.order_by("overdue_from", "id")[:2]
    task_complete(task=first, actor=bob, outcome="resolved", now=NOW)
    task_snooze(task=second, actor=bob, until=TODAY + timedelta(days=20), reason="Away", now=NOW)

    # Episode-level changes: identification moved, one closed, one deleted.
    moved = untreated_episode()
    episode_update(
        episode=moved, identified_date=moved.identified_date + timedelta(days=10), now=NOW
    )
    to_close, to_delete = Episode.objects.active().exclude(id=moved.id).order_by("id")[:2]
    episode_close(episode=to_close, reason="discharged", now=NOW)
    episode_delete(episode=to_delete, now=NOW)

    assert stale_rows() == []
    assert_board_equals_reference(clinic_ids)
    # The series changed what the dashboard shows (the comparison was not vacuous).
    assert dashboard(clinic_ids, *PERIODS[0], TODAY) != before

    # Days pass: the sweep re-evaluates; the rows stay right.
    pathway_sweep(now=NOW + timedelta(days=30))
    assert stale_rows() == []
    assert_board_equals_reference(clinic_ids)
    # Every alive active episode has its row again (closed ones may be
    # computed live until `manage.py cohort_facts` writes them).
    active = Episode.objects.active()
    assert CohortFacts.objects.filter(episode__in=active).count() == active.count()


@pytest.mark.django_db
def test_a_write_forgets_the_rows_it_changes_in_its_own_transaction(
    clinic_a, now, make_episode, patient
):
    from pathways.services.patient_facts import medication_record

    ep = make_episode(onset_date="2026-05-01", identified_date="2026-05-01")
    assert CohortFacts.objects.filter(episode=ep).exists()
    # The re-evaluation is still to come (it runs after commit): the row is
    # gone, and the board computes the episode live meanwhile.
    medication_record(patient=patient, drug="denosumab", start_date=date(2026, 5, 20), now=now)
    assert not CohortFacts.objects.filter(episode=ep).exists()
    board = dashboard([clinic_a.id], *PERIODS[0], TODAY)
    treatment = next(v for v in board.values if v.indicator.code == "treatment_16w")
    assert (treatment.numerator, treatment.denominator) == (1, 1)
    assert board == dashboard([clinic_a.id], *PERIODS[0], TODAY, stored=False)


@pytest.mark.django_db
def test_the_board_reads_the_rows_and_the_check_finds_a_wrong_one(clinic_a, make_episode, capsys):
    ep = make_episode(onset_date="2026-05-01", identified_date="2026-05-01")
    call_command("cohort_facts", "--check")
    assert "equal a full recomputation" in capsys.readouterr().out
    CohortFacts.objects.filter(episode=ep).update(dxa_12w=True)
    board = dashboard([clinic_a.id], *PERIODS[0], TODAY)
    dxa = next(v for v in board.values if v.indicator.code == "dxa_12w")
    assert (dxa.numerator, dxa.denominator) == (1, 1)
    with pytest.raises(CommandError, match="1 cohort-facts rows differ"):
        call_command("cohort_facts", "--check")
    # A row computed for another identification date is not read.
    CohortFacts.objects.filter(episode=ep).update(identified_date=date(2026, 4, 1))
    assert dashboard([clinic_a.id], *PERIODS[0], TODAY) == dashboard(
        [clinic_a.id], *PERIODS[0], TODAY, stored=False
    )


@pytest.mark.django_db
def test_the_command_fills_missing_rows(clinic_a, build_panel_for):
    build_panel_for(clinic_a, 30)
    CohortFacts.objects.all().delete()
    call_command("cohort_facts", verbosity=0)
    assert CohortFacts.objects.count() == Episode.objects.alive().count()
    assert stale_rows() == []
    call_command("cohort_facts", verbosity=0)  # idempotent
    assert CohortFacts.objects.count() == Episode.objects.alive().count()
    assert_board_equals_reference([clinic_a.id])
