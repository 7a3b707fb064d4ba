"""Domain events of the patients app (ids and field names only, never values)."""

from __future__ import annotations

from datetime import datetime

from patients.models import Patient
from vcftrack.core.events import PATIENT_UPDATED, DomainEvent, publish


def publish_patient_updated(*, patient: Patient, fields: list[str], now: datetime) -> None:
    key = f"{PATIENT_UPDATED}:{patient.pk}:{patient.version}"
    data = {"patient": str(patient.pk), "fields": fields}
    publish([DomainEvent(PATIENT_UPDATED, patient.clinic_id, key, now, data)])
