"""The patient as the unit of evaluation (pathway-spec V2.1) in the database:
programme tasks once per patient, the sweep claiming programmes, v1 and v2
side by side, and migrating a clinic's episodes on purpose."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from pathways.models import Episode, FollowUpTask, Programme
from pathways.services import episode_migrate_pathway, pathway_sweep, task_complete
from pathways.services.patient_facts import medication_record
from patients.services import patient_create
from tests.factories import medication_values

pytestmark = pytest.mark.django_db


def programme_tasks(patient) -> list[tuple[str, int, str]]:
    return sorted(
        FollowUpTask.objects.filter(patient=patient, episode__isnull=True).values_list(
            "rule", "occurrence", "status"
        )
    )


def keys(patient) -> list[tuple[str, int]]:
    rows = FollowUpTask.objects.filter(patient=patient, episode__isnull=True)
    return list(rows.values_list("rule", "occurrence"))


def test_a_second_fracture_joins_the_programme_without_duplicating_it(
    make_episode, patient, now, alice, django_capture_on_commit_callbacks
):
    first = make_episode(onset_date="2024-06-01", identified_date="2024-06-03")
    with django_capture_on_commit_callbacks(execute=True):
        medication_record(
            patient=patient,
            **medication_values({"drug": "alendronate", "start_date": "2024-06-05"}),
            now=now,
        )
    falls = FollowUpTask.objects.get(patient=patient, episode__isnull=True, rule="falls_prevention")
    with django_capture_on_commit_callbacks(execute=True):
        task_complete(task=falls, actor=alice, now=now)
    before = programme_tasks(patient)
    second = make_episode(onset_date="2026-11-18", identified_date="2026-11-20")

    assert Programme.objects.filter(patient=patient).count() == 1
    assert {first.programme_id, second.programme_id} == {patient.programme.id}
    after = programme_tasks(patient)
    assert len(keys(patient)) == len(set(keys(patient)))
    assert ("falls_prevention", 1, "done") in after  # a closed task stays closed
    assert [k for k in after if k[0] == "falls_prevention"] == [("falls_prevention", 1, "done")]
    # A fracture on alendronate: the therapy is reviewed (V2.1), once.
    assert ("treatment_failure_review", 1, "open") in after
    assert {r for r, _o, _s in after} >= {r for r, _o, _s in before}
    # The episode rules stay per fracture.
    assert FollowUpTask.objects.filter(episode=second, rule="mobilisation").count() == 1


def test_the_sweep_claims_due_programmes_and_a_second_sweep_finds_nothing(make_episode, now):
    make_episode()
    Programme.objects.update(next_review_at=now)
    first = pathway_sweep(now=now, as_of=dt.date(2027, 11, 10))
    second = pathway_sweep(now=now, as_of=dt.date(2027, 11, 10))
    assert first.outcome.evaluated == 2  # the episode and the programme
    assert second.outcome.evaluated == 0
    assert second.batches == 0
    screen = FollowUpTask.objects.filter(rule="new_fracture_screen").values_list("due_date")
    assert list(screen) == [(dt.date(2027, 11, 20),)]


def test_a_failing_programme_is_marked_and_pushed_back(make_episode, clinic_a, now):
    good = make_episode()
    other = patient_create(
        clinic=clinic_a, mrn="A-0002", given_name="Ida", family_name="Bauer",
        birth_date=dt.date(1950, 1, 1), sex="female", now=now,
    )  # fmt: skip
    make_episode(patient=other)
    Programme.objects.filter(patient=other).update(rule_set="v99")
    Programme.objects.update(next_review_at=now)

    report = pathway_sweep(now=now, as_of=dt.date(2027, 2, 20))

    bad = Programme.objects.get(patient=other)
    assert report.failed_ids == [bad.id]
    assert bad.sweep_failures == 1
    assert "v99" in bad.sweep_error
    assert bad.next_review_at >= dt.datetime(2027, 2, 21, tzinfo=dt.UTC)
    good.refresh_from_db()
    assert good.phase == "augmentation_review"


def test_v1_and_v2_side_by_side_and_a_migration_keeps_v1_history(
    make_episode, patient, clinic_a, now, django_capture_on_commit_callbacks
):
    old = make_episode(onset_date="2024-01-10", identified_date="2024-01-12", pathway_version="v1")
    with django_capture_on_commit_callbacks(execute=True):
        medication_record(
            patient=patient,
            **medication_values({"drug": "alendronate", "start_date": "2024-01-15"}),
            now=now,
        )
    other = patient_create(
        clinic=clinic_a, mrn="A-0003", given_name="Uta", family_name="Graf",
        birth_date=dt.date(1948, 5, 5), sex="female", now=now,
    )  # fmt: skip
    new = make_episode(patient=other)
    assert (old.pathway_version, new.pathway_version) == ("v1", "v2")
    v1_rows = dict(FollowUpTask.objects.filter(episode=old).values_list("id", "status"))
    v1_open_programme_kinds = set(
        FollowUpTask.objects.filter(
            episode=old, status="open", rule__in=["bmd_dxa", "renal_function"]
        ).values_list("id", flat=True)
    )
    assert v1_open_programme_kinds, "the v1 episode holds an open DXA or renal task"
    assert not Programme.objects.filter(patient=patient).exists()

    # A dry run prints what would change and writes nothing.
    call_command("migrate_pathway", "--clinic", clinic_a.code, "--dry-run")
    assert not Programme.objects.filter(patient=patient).exists()
    assert dict(FollowUpTask.objects.filter(episode=old).values_list("id", "status")) == v1_rows

    episode_migrate_pathway(episode=old, version="v2", now=now)
    after = dict(FollowUpTask.objects.filter(episode=old).values_list("id", "status"))
    for task_id, status in v1_rows.items():
        if task_id in v1_open_programme_kinds:
            assert after[task_id] == "cancelled"
        elif status != "open":
            assert after[task_id] == status  # closed history is untouched
    reasons = FollowUpTask.objects.filter(id__in=v1_open_programme_kinds).values_list(
        "reason", flat=True
    )
    assert set(reasons) == {"No longer applies: continued in the patient's programme"}
    # The programme continues each series once; nothing is open twice.
    open_rules = list(
        FollowUpTask.objects.filter(patient=patient, status="open").values_list("rule", flat=True)
    )
    assert len(open_rules) == len(set(open_rules))


def test_dry_run_prints_each_episode(make_episode, clinic_a, capsys):
    make_episode(pathway_version="v1")
    call_command("migrate_pathway", "--clinic", clinic_a.code, "--dry-run")
    out = capsys.readouterr().out
    assert "would move 1 episode(s) to v2" in out
    assert "v1 -> v2" in out
    assert "+ programme: Calcium and vitamin D (open, due 2026-11-20)" in out
    assert "~ episode: Calcium and vitamin D open -> cancelled: No longer applies: " in out
    assert "dry run: nothing was written" in out
    assert Episode.objects.get().pathway_version == "v1"


def test_a_deceased_patient_raises_nothing_more(
    make_episode, patient, alice, now, django_capture_on_commit_callbacks
):
    from pathways.services.patient_facts import patient_record_death

    make_episode()
    assert FollowUpTask.objects.filter(patient=patient, status="open").exists()
    with django_capture_on_commit_callbacks(execute=True):
        patient_record_death(
            patient=patient, deceased_date=dt.date(2026, 11, 21), actor=alice, now=now
        )
    assert not FollowUpTask.objects.filter(patient=patient, status="open").exists()
    reasons = set(
        FollowUpTask.objects.filter(patient=patient, status="cancelled").values_list(
            "reason", flat=True
        )
    )
    assert reasons == {"Patient deceased (2026-11-21)"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_programmes_evaluate_each_patient_once(clinic_a, now):
    from pathways.services import episode_create

    for n in range(24):
        p = patient_create(
            clinic=clinic_a, mrn=f"W-{n}", given_name="Eva", family_name=f"Koch{n}",
            birth_date=dt.date(1950, 1, 1), sex="female", now=now,
        )  # fmt: skip
        for ident in (dt.date(2025, 1, 10), dt.date(2026, 11, 10)):
            episode_create(
                patient=p,
                levels=["L1"], onset_date=ident, identified_date=ident,
                etiology="osteoporotic", neuro_status="intact",
                now=now,
            )  # fmt: skip
    Programme.objects.update(next_review_at=now)
    Episode.objects.update(next_review_at=now)
    reports = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            reports.append(pathway_sweep(now=now, as_of=dt.date(2027, 3, 1), batch_size=8))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.outcome.failed == 0 for r in reports)
    # 24 programmes + 48 episodes, each evaluated once in all.
    assert sum(r.outcome.evaluated for r in reports) == 72
    # The yearly new-fracture screen counts from the first fracture
    # (2025-01-10): two occurrences by 2027-03-01, once per patient each.
    screens = FollowUpTask.objects.filter(rule="new_fracture_screen", episode__isnull=True)
    assert screens.count() == 48
    assert set(screens.values_list("occurrence", flat=True)) == {1, 2}
    assert screens.values("patient_id").distinct().count() == 24
    # The 3-month review is each episode's own: 2025-04-10 and 2027-02-10.
    reviews = FollowUpTask.objects.filter(rule="augmentation_review_3m")
    assert reviews.count() == 48
    assert reviews.values("episode_id").distinct().count() == 48
