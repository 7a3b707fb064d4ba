"""The access audit as people meet it: one row per patient shown, denied
attempts kept, nothing changed or removed afterwards, "who looked" on the
patient page for physicians, and the export for a period."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from patients.models import Patient
from patients.services import patient_create
from vcftrack.core.audit.models import AccessRecord

pytestmark = pytest.mark.django_db


def _more_patients(clinic: Any, now: Any, n: int) -> list[Any]:
    return [
        patient_create(
            clinic=clinic,
            mrn=f"L-{i}",
            given_name="Lena",
            family_name=f"Listed{i}",
            birth_date=dt.date(1950, 1, 1),
            now=now,
        )
        for i in range(n)
    ]


def test_a_list_writes_one_row_per_patient_shown_in_one_insert(as_alice, patient, now, frozen):
    _more_patients(patient.clinic, now, 3)
    with CaptureQueriesContext(connection) as queries:
        response = as_alice.get("/api/v1/patients/", page_size=3)
    assert response.status_code == 200
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "audit_accessrecord"')]
    assert len(inserts) == 1
    rows = AccessRecord.objects.filter(request_id=response["X-Request-ID"])
    shown = {uuid.UUID(p["id"]) for p in response.json()["results"]}
    assert {r.patient_id for r in rows} == shown
    assert len(shown) == 3
    assert {(r.actor, r.action, r.outcome) for r in rows} == {("alice", "api.patient.list", 200)}


def test_a_refused_write_is_kept_as_denied(as_vera, patient, frozen):
    response = as_vera.post(
        f"/api/v1/patients/{patient.id}/medications/",
        {"drug": "calcium", "start_date": "2026-11-20"},
    )
    assert response.status_code == 403
    row = AccessRecord.objects.get(request_id=response["X-Request-ID"])
    assert (row.actor, row.patient_id, row.outcome) == ("vera", patient.id, 403)


def test_another_clinics_patient_is_an_attempt_on_record(as_bob, charlie, clinic_b, now, frozen):
    theirs = _more_patients(clinic_b, now, 1)[0]
    response = as_bob.get(f"/api/v1/patients/{theirs.id}/")
    assert response.status_code == 404
    row = AccessRecord.objects.get(request_id=response["X-Request-ID"])
    assert (row.actor, row.outcome, row.patient_id) == ("bob", 404, None)
    assert str(theirs.id) in row.path


def test_the_callers_request_id_is_kept(login, alice, patient):
    rid = "5b0c7a7e-4c39-4d55-8c0a-3f0cbb0e6a11"
    response = login(alice).get(f"/patients/{patient.id}/", HTTP_X_REQUEST_ID=rid)
    assert response["X-Request-ID"] == rid
    assert AccessRecord.objects.get(patient_id=patient.id).request_id == uuid.UUID(rid)


def test_physicians_see_who_looked_at_the_patient(login, alice, bob, patient):
    login(alice).get(f"/patients/{patient.id}/")
    login(alice).get(f"/patients/{patient.id}/history/")
    page = login(bob).get(f"/patients/{patient.id}/").content.decode()
    assert "Who looked at this record" in page
    assert "<strong>alice</strong> read the change history in the web app" in page
    assert "<strong>alice</strong> opened the record in the web app" in page
    # A coordinator does not get the card.
    assert (
        "Who looked at this record"
        not in login(alice).get(f"/patients/{patient.id}/").content.decode()
    )


def test_the_admin_cannot_add_change_or_delete_audit_rows(login, alice, patient, django_user_model):
    login(alice).get(f"/patients/{patient.id}/")
    row = AccessRecord.objects.get()
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    admin = Client()
    admin.force_login(root)
    assert admin.get("/admin/audit/accessrecord/").status_code == 200
    assert admin.get("/admin/audit/accessrecord/add/").status_code == 403
    change = admin.post(f"/admin/audit/accessrecord/{row.pk}/change/", {"action": "forged"})
    assert change.status_code == 403
    assert (
        admin.post(f"/admin/audit/accessrecord/{row.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    # Nor can a patient be deleted there (they are tombstoned by the services).
    assert (
        admin.post(f"/admin/patients/patient/{patient.id}/delete/", {"post": "yes"}).status_code
        == 403
    )
    row.refresh_from_db()
    assert row.action == "patient.view"
    assert Patient.objects.filter(pk=patient.pk).exists()


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_audit_rows(login, alice, patient):
    login(alice).get(f"/patients/{patient.id}/")
    for attempt in (
        lambda: AccessRecord.objects.update(action="forged"),
        lambda: AccessRecord.objects.all().delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert AccessRecord.objects.get().action == "patient.view"


def _csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_physician_exports_their_clinics_audit_and_the_export_is_audited(
    login, alice, bob, charlie, patient, clinic_b, now
):
    login(alice).get(f"/patients/{patient.id}/")
    theirs = _more_patients(clinic_b, now, 1)[0]
    login(charlie).get(f"/patients/{theirs.id}/")
    form = login(bob).get("/patients/access-audit/")
    assert form.status_code == 200
    assert "Download CSV" in form.content.decode()
    response = login(bob).get(
        "/patients/access-audit/", {"from": "2026-11-01", "to": "2026-11-30", "format": "csv"}
    )
    assert response.status_code == 200
    rows = _csv(response)
    assert rows[0][:3] == ["time (UTC)", "request id", "user"]
    assert [(r[2], r[4], r[6]) for r in rows[1:]] == [
        ("alice", str(patient.id), "opened the record")
    ]
    exported = AccessRecord.objects.filter(actor="bob", action="audit.export")
    assert {r.patient_id for r in exported} == {patient.id, None}
    # A coordinator may not export; a bad period is said plainly.
    assert login(alice).get("/patients/access-audit/").status_code == 403
    bad = login(bob).get("/patients/access-audit/", {"from": "2026-11-30", "to": "2026-11-01"})
    assert bad.status_code == 400
    assert "before its start" in bad.content.decode()


def test_the_export_command_writes_every_row_and_is_audited(login, alice, patient, tmp_path):
    login(alice).get(f"/patients/{patient.id}/")
    out = tmp_path / "audit.csv"
    call_command("audit_export", "--from", "2026-11-01", "--to", "2026-11-30", "--output", str(out))
    rows = list(csv.reader(out.open()))
    assert [(r[2], r[5]) for r in rows[1:]] == [("alice", "patient.view")]
    own = AccessRecord.objects.filter(client="manage.py audit_export")
    assert {r.patient_id for r in own} == {patient.id, None}
