"""The patient's bone-health programme on the patient page: shown once, and
labelled as the patient's, not repeated under each fracture (pathway-spec V2.1)."""

from __future__ import annotations

import pytest

from pathways.models import FollowUpTask

pytestmark = pytest.mark.django_db


def test_patient_page_shows_the_programme_once_for_two_fractures(
    alice, patient, make_episode, login
):
    make_episode(onset_date="2025-06-01", identified_date="2025-06-02")
    make_episode()
    html = login(alice).get(f"/patients/{patient.id}/").content.decode()
    assert html.count('id="h-programme"') == 1
    programme = html[html.index('id="h-programme"') : html.index('id="h-episodes"')]
    assert "Falls risk assessment and prevention" in programme
    # Counted from the first fracture, not from the day the record was made.
    assert "Active since the fracture of 2 Jun 2025" in programme
    episodes = html[html.index('id="h-episodes"') :]
    # Programme work is not repeated under each fracture.
    assert "Falls risk assessment and prevention" not in episodes.split("<h2")[1]
    assert FollowUpTask.objects.filter(patient=patient, rule="falls_prevention").count() == 1
