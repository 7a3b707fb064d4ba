"""patients 0004 (date of death, unverified prescriptions) on the suite's database.

The suite runs this on SQLite locally and on PostgreSQL in CI (DATABASE_URL).
"""

from __future__ import annotations

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.factories import NOW

BEFORE = ("patients", "0003_alive_covering_indexes")
AFTER = ("patients", "0004_patient_deceased_date_medication_unverified")


@pytest.mark.django_db
def test_the_models_and_the_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "patients", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_0004_applies_to_existing_rows_and_reverses(clinic_a):
    executor = migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    patient = old.get_model("patients", "Patient").objects.create(
        id=uuid.uuid4(),
        clinic_id=clinic_a.id,
        mrn="M-1",
        given_name="Ada",
        family_name="Old",
        birth_date=dt.date(1940, 1, 1),
        created_at=NOW,
        updated_at=NOW,
        recorded_on=NOW.date(),
    )
    old.get_model("patients", "Medication").objects.create(
        id=uuid.uuid4(),
        patient_id=patient.id,
        drug="alendronate",
        start_date=dt.date(2010, 1, 1),
        created_at=NOW,
        updated_at=NOW,
        recorded_on=NOW.date(),
    )
    # Every app's latest migration: going back to patients 0003 also unapplied
    # the migrations of other apps that depend on patients (notifications, pathways).
    leaves = executor.loader.graph.leaf_nodes()
    executor = migrate([AFTER])
    new = executor.loader.project_state([AFTER]).apps
    Patient = new.get_model("patients", "Patient")
    row = Patient.objects.get()
    assert row.deceased_date is None
    assert new.get_model("patients", "Medication").objects.get().unverified is False
    # The database itself refuses a death before birth or after the record date.
    for bad in (dt.date(1939, 12, 31), NOW.date() + dt.timedelta(days=1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Patient.objects.filter(pk=row.pk).update(deceased_date=bad)
    Patient.objects.filter(pk=row.pk).update(deceased_date=dt.date(2020, 1, 1))
    # Reversible, and back to the latest state for the rest of the suite.
    migrate([BEFORE])
    migrate(leaves)
