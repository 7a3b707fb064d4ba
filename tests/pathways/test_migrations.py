"""pathways 0005-0007 (the patient's programme, patient-scoped tasks) on the
suite's database: a v1 episode's tasks are unchanged by the upgrade."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import NOW

BEFORE = [("pathways", "0004_alive_covering_indexes"), ("patients", "0003_alive_covering_indexes")]
AFTER = [("pathways", "0007_task_patient_required")]


def migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return MigrationExecutor(connection)


TASK_FIELDS = ("id", "rule", "occurrence", "status", "due_date", "version", "change_seq", "reason")


@pytest.mark.django_db(transaction=True)
def test_v1_tasks_are_unchanged_by_the_upgrade_and_gain_their_patient(clinic_a):
    executor = migrate(BEFORE)
    leaves = executor.loader.graph.leaf_nodes()
    old = executor.loader.project_state(BEFORE).apps
    patient = old.get_model("patients", "Patient").objects.create(
        id=uuid.uuid4(), clinic_id=clinic_a.id, mrn="M-1", given_name="Ada", family_name="Old",
        birth_date=dt.date(1940, 1, 1), created_at=NOW, updated_at=NOW, recorded_on=NOW.date(),
    )  # fmt: skip
    episode = old.get_model("pathways", "Episode").objects.create(
        id=uuid.uuid4(), patient_id=patient.id, clinic_id=clinic_a.id, levels_mask=1,
        onset_date=dt.date(2025, 1, 1), identified_date=dt.date(2025, 1, 2), phase="bone_health",
        pathway_version="v1", created_at=NOW, updated_at=NOW, recorded_on=dt.date(2025, 1, 2),
    )  # fmt: skip
    Task = old.get_model("pathways", "FollowUpTask")
    for rule, status in (("bmd_dxa", "open"), ("neuro_exam", "done"), ("renal_function", "missed")):
        Task.objects.create(
            id=uuid.uuid4(), episode_id=episode.id, clinic_id=clinic_a.id, rule=rule,
            title=rule, guidance="", due_date=dt.date(2026, 1, 2),
            overdue_from=dt.date(2026, 1, 10),
            status=status, closed_at=None if status == "open" else NOW, created_at=NOW,
            updated_at=NOW, recorded_on=NOW.date(), version=3, change_seq=7,
        )  # fmt: skip
    before = sorted(Task.objects.values_list(*TASK_FIELDS))

    executor = migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    NewTask = new.get_model("pathways", "FollowUpTask")
    assert sorted(NewTask.objects.values_list(*TASK_FIELDS)) == before
    assert set(NewTask.objects.values_list("patient_id", "rule_set")) == {(patient.id, "v1")}
    assert not new.get_model("pathways", "Programme").objects.exists()
    assert new.get_model("pathways", "Episode").objects.get().programme_id is None
    migrate(leaves)
