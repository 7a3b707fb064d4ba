"""The patient admin: the date of death is listed, filtered, and checked and
written as the API does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from pathways.models import Episode

pytestmark = pytest.mark.django_db


def change(admin_client: Any, patient: Any, deceased: str) -> Any:
    data = {
        "clinic": str(patient.clinic_id),
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "deceased_date": deceased,
        "deleted_at_0": "",
        "deleted_at_1": "",
    }
    for prefix in ("medications", "bone_density"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return admin_client.post(f"/admin/patients/patient/{patient.id}/change/", data)


def test_admin_checks_and_records_the_date_of_death(admin_client, patient, make_episode, now):
    episode = make_episode()
    Episode.objects.update(next_review_at=now + dt.timedelta(days=40))
    with time_machine.travel(now, tick=False):
        bad = change(admin_client, patient, "1946-03-01")
        assert bad.status_code == 200
        assert "Must not be before the date of birth (1946-03-02)." in bad.content.decode()
        future = change(admin_client, patient, "2026-11-23")
        assert "Must not be in the future" in future.content.decode()
        patient.refresh_from_db()
        assert patient.deceased_date is None
        good = change(admin_client, patient, "2026-11-21")
        assert good.status_code == 302
    patient.refresh_from_db()
    assert (patient.deceased_date, patient.version) == (dt.date(2026, 11, 21), 2)
    episode.refresh_from_db()
    assert episode.next_review_at == now  # marked for re-evaluation by the service
    listing = admin_client.get("/admin/patients/patient/", {"deceased_date__isempty": "0"})
    assert "Hartmann" in listing.content.decode()
    living = admin_client.get("/admin/patients/patient/", {"deceased_date__isempty": "1"})
    assert "Hartmann" not in living.content.decode()
