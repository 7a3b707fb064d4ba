"""The patient page: demographics, episodes with phase history, the timeline
(facts, tasks, projected plan), fact forms that re-evaluate and say what
changed, charts' data, new patient / new episode forms."""

from __future__ import annotations

import json
import re

import pytest

from pathways.models import Episode, FollowUpTask, Observation
from patients.models import BoneDensity, Medication, Patient
from tests.factories import dxa_values, fact_values, medication_values

pytestmark = pytest.mark.django_db


def test_patient_page_shows_demographics_episode_history_and_timeline(
    alice, patient, make_episode, login
):
    make_episode()
    html = login(alice).get(f"/patients/{patient.id}/").content.decode()
    assert "<h1>Greta Hartmann</h1>" in html
    assert "A-0001" in html
    assert "2 Mar 1946" in html
    assert "(80 years)" in html
    assert "L1 fracture" in html
    assert "Phase: triage" in html
    assert "new → <strong>triage</strong>" in html
    # Timeline, newest first: the projected plan, a today marker, then the past.
    timeline = html[html.index('id="h-timeline"') :]
    today = timeline.index('class="today"')
    assert timeline.index("Document a complete neurological exam") > today
    future = timeline[:today]
    assert "3-month review: vertebral augmentation?" in future
    assert "badge-projected" in future
    # The toggle gives the old order back: past, today, plan.
    oldest = login(alice).get(f"/patients/{patient.id}/?timeline=oldest").content.decode()
    oldest = oldest[oldest.index('id="h-timeline"') :]
    assert oldest.index("Document a complete neurological exam") < oldest.index('class="today"')


# Real commits (transaction=True): the services re-evaluate on commit, and the
# page reports what that evaluation changed, as it does in production.
# Version 1's "pain rose by 2 points" trigger (v2 drops it: pathway-spec V2.3).
@pytest.mark.pathway_v1
@pytest.mark.django_db(transaction=True)
def test_recording_a_pain_score_that_worsens_raises_early_augmentation(
    alice, patient, make_episode, login, now
):
    from pathways.services import fact_record
    from pathways.services.patient_facts import medication_record

    episode = make_episode(onset_date="2026-11-01", identified_date="2026-11-02")
    medication_record(
        patient=patient, **medication_values({"drug": "nsaid", "start_date": "2026-11-02"}), now=now
    )
    fact_record(
        episode=episode,
        values=fact_values(
            "observation", {"kind": "pain_nrs", "value": 5, "effective_date": "2026-11-10"}
        ),
        now=now,
    )
    client = login(alice)
    response = client.post(
        f"/patients/{patient.id}/facts/pain/",
        {"pain-episode": str(episode.id), "pain-value": "8", "pain-effective_date": "2026-11-22"},
        follow=True,
    )
    html = response.content.decode()
    assert "Pain score recorded." in html
    assert "New task: Consider vertebral augmentation before 3 months." in html
    assert "Phase moved from triage to augmentation review." in html
    task = FollowUpTask.objects.get(episode=episode, rule="augmentation_consider_early")
    assert task.status == "open"
    assert any("pain rose from 5 to 8" in t for t in task.triggers)
    assert Observation.objects.filter(episode=episode, kind="pain_nrs").count() == 2


def test_bad_fact_input_is_shown_beside_the_field(alice, patient, make_episode, login):
    episode = make_episode()
    response = login(alice).post(
        f"/patients/{patient.id}/facts/pain/",
        {"pain-episode": str(episode.id), "pain-value": "12", "pain-effective_date": "2027-01-01"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "A pain score goes from 0 to 10; 12 is outside that range." in html
    assert "Must not be in the future" in html
    # The form with the errors is open; the error sits inside that field's group.
    assert re.search(r'<details class="fact-form" id="form-pain" open>', html)
    assert 'aria-invalid="true"' in html
    assert not Observation.objects.filter(episode=episode, kind="pain_nrs").exists()


@pytest.mark.django_db(transaction=True)
def test_medication_start_and_stop_and_dxa(alice, patient, make_episode, login):
    make_episode()
    client = login(alice)
    client.post(
        f"/patients/{patient.id}/facts/medication/",
        {
            "medication-drug": "alendronate",
            "medication-start_date": "2026-11-21",
            "medication-dose": "70 mg weekly",
            "medication-route": "oral",
        },
        follow=True,
    )
    med = Medication.objects.get(patient=patient)
    assert FollowUpTask.objects.get(rule="osteoporosis_rx_start").status == "done"
    response = client.post(
        f"/patients/{patient.id}/facts/medication_stop/",
        {"medication_stop-medication": str(med.id), "medication_stop-stop_date": "2026-11-22"},
        follow=True,
    )
    assert "Alendronate stop recorded." in response.content.decode()
    med.refresh_from_db()
    assert med.stop_date.isoformat() == "2026-11-22"
    for day, bmd in (("2025-11-01", "0.800"), ("2026-11-20", "0.760")):
        client.post(
            f"/patients/{patient.id}/facts/dxa/",
            {
                "dxa-performed_date": day,
                "dxa-site": "lumbar_spine",
                "dxa-bmd_g_cm2": bmd,
                "dxa-t_score": "-2.6",
            },
        )
    assert BoneDensity.objects.filter(patient=patient).count() == 2
    html = client.get(f"/patients/{patient.id}/").content.decode()
    # Annual % change from the engine's derived facts, flagged past a 4 % loss.
    assert "-4.8 % (loss &gt; 4 %)" in html  # (0.760/0.800 - 1) over 384 days
    data = json.loads(
        re.search(r'<script id="bmd-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert data[0]["points"] == [{"x": "2025-11-01", "y": 0.8}, {"x": "2026-11-20", "y": 0.76}]


def test_viewer_reads_the_patient_page_but_cannot_record(vera, patient, make_episode, login):
    episode = make_episode()
    client = login(vera)
    html = client.get(f"/patients/{patient.id}/").content.decode()
    assert "Greta Hartmann" in html
    assert "Record a fact" not in html
    assert "/facts/" not in html
    response = client.post(
        f"/patients/{patient.id}/facts/pain/",
        {"pain-episode": str(episode.id), "pain-value": "3", "pain-effective_date": "2026-11-22"},
    )
    assert response.status_code == 403
    assert client.post(f"/patients/{patient.id}/episodes/", {}).status_code == 403


def test_new_patient_form_uses_the_service_validation(alice, clinic_a, login):
    client = login(alice)
    response = client.post(
        "/patients/new/",
        {
            "clinic": str(clinic_a.id),
            "mrn": "",
            "given_name": "Eva",
            "family_name": "",
            "birth_date": "2030-01-01",
            "sex": "female",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.count("This field is required.") == 2  # mrn, family_name
    assert "Must not be in the future" in html
    assert not Patient.objects.exists()
    ok = client.post(
        "/patients/new/",
        {
            "clinic": str(clinic_a.id),
            "mrn": "A-9",
            "given_name": "Eva",
            "family_name": "Engel",
            "birth_date": "1944-05-06",
            "sex": "female",
        },
    )
    patient = Patient.objects.get(mrn="A-9")
    assert ok["Location"] == f"/patients/{patient.id}/#new-episode"
    dup = client.post(
        "/patients/new/",
        {
            "clinic": str(clinic_a.id),
            "mrn": "A-9",
            "given_name": "X",
            "family_name": "Y",
            "birth_date": "1944-05-06",
        },
    )
    assert "already exists in this clinic" in dup.content.decode()


def test_new_episode_form(alice, patient, login):
    client = login(alice)
    bad = client.post(
        f"/patients/{patient.id}/episodes/",
        {"episode-onset_date": "2026-11-20", "episode-identified_date": "2026-11-10"},
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "At least one vertebral level (T1-L5) is required." in html
    assert "Must not be before onset_date." in html
    assert not Episode.objects.exists()
    good = client.post(
        f"/patients/{patient.id}/episodes/",
        {
            "episode-levels": ["T12", "L1"],
            "episode-onset_date": "2026-11-20",
            "episode-etiology": "osteoporotic",
            "episode-neuro_status": "intact",
        },
        follow=True,
    )
    episode = Episode.objects.get()
    assert episode.levels == ["T12", "L1"]
    assert episode.identified_date.isoformat() == "2026-11-22"
    assert "Episode T12/L1 created in phase triage" in good.content.decode()


@pytest.mark.parametrize("episodes", [1, 3])
def test_patient_page_query_budget(
    alice, patient, make_episode, login, episodes, now, django_assert_max_num_queries
):
    from pathways.services import fact_record

    for i in range(episodes):
        ep = make_episode(levels=[["L1"], ["T12"], ["L3"]][i])
        for day in ("2026-11-20", "2026-11-21"):
            fact_record(
                episode=ep,
                values=fact_values(
                    "observation", {"kind": "pain_nrs", "value": 6, "effective_date": day}
                ),
                now=now,
            )
    client = login(alice)
    with django_assert_max_num_queries(28):
        response = client.get(f"/patients/{patient.id}/")
    assert response.status_code == 200


# ---------------------------------------------------- V2.4 additions --
def test_date_of_death_recorded_on_the_page_and_shown_plainly(alice, patient, login):
    client = login(alice)
    html = client.get(f"/patients/{patient.id}/").content.decode()
    assert "Died" not in html
    assert "(80 years)" in html
    assert 'id="form-death"' in html  # a patient-level form: no episode needed
    response = client.post(
        f"/patients/{patient.id}/facts/death/", {"death-deceased_date": "2024-03-03"}, follow=True
    )
    html = response.content.decode()
    assert "Date of death recorded." in html
    assert "Died <strong>3 March 2024</strong> (aged 78)" in html
    assert "(80 years)" not in html  # no age that keeps growing
    patient.refresh_from_db()
    assert patient.deceased_date.isoformat() == "2024-03-03"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1946-03-01", "Must not be before the date of birth (1946-03-02)."),
        ("2026-11-23", "Must not be in the future (today is 2026-11-22)."),
        ("", "This field is required."),
    ],
)
def test_a_bad_date_of_death_is_shown_beside_the_field(alice, patient, login, value, message):
    response = login(alice).post(
        f"/patients/{patient.id}/facts/death/", {"death-deceased_date": value}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert '<details class="fact-form" id="form-death" open>' in html
    group = html[html.index('id="form-death"') :]
    group = group[: group.index("</details>")]
    assert message in group
    assert 'aria-invalid="true"' in group
    patient.refresh_from_db()
    assert patient.deceased_date is None


def test_an_imported_prescription_is_marked_until_verified(alice, vera, patient, login, now):
    from pathways.services.patient_facts import medication_record

    med = medication_record(
        patient=patient,
        **medication_values({"drug": "alendronate", "start_date": "2006-01-22"}),
        now=now,
        unverified=True,
    )
    html = login(vera).get(f"/patients/{patient.id}/").content.decode()
    assert "imported, not verified" in html
    assert (
        login(vera)
        .post(
            f"/patients/{patient.id}/facts/medication_verify/",
            {"medication_verify-medication": str(med.id)},
        )
        .status_code
        == 403
    )
    client = login(alice)
    html = client.get(f"/patients/{patient.id}/").content.decode()
    assert 'id="form-medication_verify"' in html
    assert "alendronate since 22 Jan 2006" in html
    response = client.post(
        f"/patients/{patient.id}/facts/medication_verify/",
        {"medication_verify-medication": str(med.id)},
        follow=True,
    )
    html = response.content.decode()
    assert "Medication alendronate verified recorded." in html
    assert "imported, not verified" not in html
    assert 'id="form-medication_verify"' not in html  # nothing left to verify
    med.refresh_from_db()
    assert med.unverified is False
    # Verifying it again (a second tab) names the field, writes nothing.
    again = client.post(
        f"/patients/{patient.id}/facts/medication_verify/",
        {"medication_verify-medication": str(med.id)},
    )
    assert again.status_code == 422
    assert "Choose an imported medication that is not yet verified." in again.content.decode()


def test_bmd_change_table_keeps_the_newest_scan(
    alice, patient, make_episode, login, now, django_capture_on_commit_callbacks
):
    from pathways.services.patient_facts import bone_density_record

    make_episode()
    for day, bmd in (("2025-06-01", "0.750"), ("2026-06-01", "0.700"), ("2026-10-01", "0.690")):
        bone_density_record(
            patient=patient,
            **dxa_values(
                {
                    "performed_date": day,
                    "site": "lumbar_spine",
                    "bmd_g_cm2": bmd,
                    "t_score": "-2.6",
                }
            ),
            now=now,
        )
    html = login(alice).get(f"/patients/{patient.id}/").content.decode()
    table = html[html.index("Annual change in BMD") :]
    table = table[: table.index("</table>")]
    assert "0.750 → 0.700" in table
    assert "-6.7 %" in table
    # The October scan came 4 months after June's: no yearly rate, but shown.
    assert "0.700 → 0.690" in table
    assert "less than 6 months apart" in table
    assert '"T-score, lumbar spine"' in html
