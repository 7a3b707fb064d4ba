"""patient_record_death and medication_verify (pathways.services.patient_facts), called directly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from pathways.models import Episode
from pathways.services.patient_facts import (
    medication_record,
    medication_verify,
    patient_record_death,
)
from patients.inputs import parse_date
from tests.factories import medication_values
from vcftrack.core.errors import DomainError, FieldErrors

pytestmark = pytest.mark.django_db


def test_recording_a_death_marks_only_the_active_episodes_for_re_evaluation(
    patient, make_episode, alice, now, django_capture_on_commit_callbacks
):
    from pathways.services import episode_close

    active = make_episode()
    closed = make_episode(levels=["T12"])
    episode_close(episode=closed, reason="discharged", now=now)
    later = now + dt.timedelta(hours=2)
    Episode.objects.update(next_review_at=now + dt.timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        patient_record_death(
            patient=patient, deceased_date=dt.date(2026, 11, 21), actor=alice, now=later
        )
    reviews = dict(Episode.objects.values_list("id", "next_review_at"))
    assert reviews[active.id] == later
    assert reviews[closed.id] != later
    assert len(callbacks) == 1
    patient.refresh_from_db()
    assert (patient.deceased_date, patient.version, patient.updated_at) == (
        dt.date(2026, 11, 21),
        2,
        later,
    )
    # The same date again changes nothing and schedules nothing.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        patient_record_death(
            patient=patient, deceased_date=dt.date(2026, 11, 21), actor=alice, now=later
        )
    assert callbacks == []
    patient.refresh_from_db()
    assert patient.version == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "This field is required."),
        ("1946-03-01", "Must not be before the date of birth (1946-03-02)."),
        ("2026-11-23", "Must not be in the future (today is 2026-11-22)."),
        (dt.datetime(2024, 3, 3, 10, 0, tzinfo=dt.UTC), "Must be a date (YYYY-MM-DD)"),
    ],
)
def test_a_bad_date_of_death_is_refused_naming_the_field(patient, now, value, message):
    # Through the parser every door uses, then the service.
    found = FieldErrors()
    death = parse_date(found, "deceased_date", value)
    with pytest.raises(ValidationError) as refused:
        patient_record_death(
            patient=patient, deceased_date=death, actor=None, now=now, errors=found
        )
    (text,) = refused.value.message_dict["deceased_date"]
    assert text.startswith(message)
    patient.refresh_from_db()
    assert (patient.deceased_date, patient.version) == (None, 1)


def test_verifying_clears_the_flag_once(patient, alice, now):
    med = medication_record(
        patient=patient,
        **medication_values({"drug": "denosumab", "start_date": "2020-02-02"}),
        now=now,
        unverified=True,
    )
    medication_verify(medication=med, actor=alice, now=now)
    med.refresh_from_db()
    assert (med.unverified, med.version) == (False, 2)
    with pytest.raises(DomainError, match="already verified"):
        medication_verify(medication=med, actor=alice, now=now)
    typed = medication_record(
        patient=patient,
        **medication_values({"drug": "alendronate", "start_date": "2026-11-01"}),
        now=now,
    )
    assert typed.unverified is False  # entered by a person: nothing to verify
