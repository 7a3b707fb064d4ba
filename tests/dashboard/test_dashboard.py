"""The physician dashboard: FLS indicators with numerator/denominator and
drill-down, phase distribution, overdue by rule, augmentation candidates,
month by month, CSV, and a query budget independent of the panel size."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from datetime import date

import pytest

from pathways.dashboard.board import dashboard
from pathways.dashboard.cohort import drilldown
from pathways.models import Episode
from tests.factories import dxa_values, fact_values, medication_values

pytestmark = pytest.mark.django_db


def make_old_episode(make_episode, patient, identified, **kw):
    return make_episode(patient=patient, onset_date=identified, identified_date=identified, **kw)


def test_treatment_within_16_weeks_numerator_and_denominator(clinic_a, now, make_episode, patient):
    from pathways.services.patient_facts import medication_record
    from patients.services import patient_create

    treated = make_old_episode(make_episode, patient, "2026-05-01")
    medication_record(
        patient=patient,
        **medication_values({"drug": "alendronate", "start_date": "2026-05-21"}),
        now=now,
    )
    late_patient = patient_create(
        clinic=clinic_a,
        mrn="A-2",
        given_name="L",
        family_name="Late",
        birth_date=dt.date(1940, 1, 1),
        now=now,
    )
    make_old_episode(make_episode, late_patient, "2026-05-01")
    medication_record(
        patient=late_patient,
        **medication_values({"drug": "denosumab", "start_date": "2026-10-01"}),
        now=now,
    )
    recent = patient_create(
        clinic=clinic_a,
        mrn="A-3",
        given_name="R",
        family_name="Recent",
        birth_date=dt.date(1940, 1, 1),
        now=now,
    )
    make_old_episode(make_episode, recent, "2026-11-01")  # < 16 weeks ago: not eligible
    board = dashboard([clinic_a.id], date(2025, 11, 22), date(2026, 11, 22), date(2026, 11, 22))
    value = next(v for v in board.values if v.indicator.code == "treatment_16w")
    assert (value.numerator, value.denominator, value.pct) == (1, 2, 50.0)
    assert value.band == "amber"
    # Median of 20 and 153 days.
    assert board.median_days_to_treatment == (20 + 153) / 2
    gap = drilldown(
        "treatment_16w",
        "gap",
        [clinic_a.id],
        date(2025, 11, 22),
        date(2026, 11, 22),
        date(2026, 11, 22),
    )
    assert [e.patient.family_name for e in gap] == ["Late"]
    assert treated.id not in {e.id for e in gap}


def test_dxa_and_pathologic_exclusion(clinic_a, now, make_episode, patient):
    from pathways.services.patient_facts import bone_density_record
    from patients.services import patient_create

    make_old_episode(make_episode, patient, "2026-06-01")
    bone_density_record(
        patient=patient,
        **dxa_values({"performed_date": "2026-07-01", "site": "total_hip", "bmd_g_cm2": "0.7"}),
        now=now,
    )
    other = patient_create(
        clinic=clinic_a,
        mrn="A-4",
        given_name="P",
        family_name="Path",
        birth_date=dt.date(1940, 1, 1),
        now=now,
    )
    make_old_episode(make_episode, other, "2026-06-01", etiology="pathologic_confirmed")
    board = dashboard([clinic_a.id], date(2026, 1, 1), date(2026, 11, 22), date(2026, 11, 22))
    dxa = next(v for v in board.values if v.indicator.code == "dxa_12w")
    assert (dxa.numerator, dxa.denominator) == (1, 1)
    assert board.cohort == 1


def test_dashboard_page_drilldown_and_csv(bob, clinic_a, now, make_episode, patient, login):
    make_old_episode(make_episode, patient, "2026-05-01")
    client = login(bob)
    html = client.get("/dashboard/").content.decode()
    for title in (
        "Treatment started within 16 weeks",
        "DXA within 12 weeks",
        "Falls assessment done",
        "3-month review done on time",
        "Follow-up at 16 weeks",
        "Still on treatment at 52 weeks",
    ):
        assert title in html
    assert "Overdue tasks by rule" in html
    assert "Active episodes by phase" in html
    assert "Augmentation candidates" in html
    monthly = json.loads(
        re.search(
            r'<script id="monthly-data" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    # Every month of the period, not only months with episodes (July 2026
    # used to be missing), and the target band.
    assert monthly["labels"][0] == "Nov 2025"
    assert monthly["labels"][-1] == "Nov 2026"
    assert len(monthly["labels"]) == 13
    assert "Jul 2026" in monthly["labels"]
    may = monthly["labels"].index("May 2026")
    assert monthly["series"][0]["data"][may] is not None
    assert monthly["series"][0]["data"][may + 2] is None
    assert monthly["target"] == 80
    link = re.search(r'href="(/dashboard/indicators/treatment_16w/\?[^"]*which=gap)"', html).group(
        1
    )
    drill = client.get(link.replace("&amp;", "&")).content.decode()
    assert "Hartmann, Greta" in drill
    assert "1 episode." in drill
    response = client.get(link.replace("&amp;", "&") + "&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["patient", "mrn"]
    assert rows[1][:2] == ["Hartmann, Greta", "A-0001"]
    assert rows[1][-1] == "no"


def test_augmentation_candidates_list_with_pain_trajectory(bob, patient, make_episode, login, now):
    from pathways.services import fact_record

    episode = make_old_episode(make_episode, patient, "2026-08-25")
    for day, value in (("2026-08-25", 8), ("2026-09-20", 7), ("2026-11-20", 7)):
        fact_record(
            episode=episode,
            values=fact_values(
                "observation", {"kind": "pain_nrs", "value": value, "effective_date": day}
            ),
            now=now,
        )
    from pathways.services import episode_evaluate

    episode_evaluate(episode_id=episode.id, now=now)
    html = login(bob).get("/dashboard/").content.decode()
    section = html[html.index('id="h-cand"') :]
    assert "Hartmann, Greta" in section
    assert "3-month review" in section
    assert '<svg class="spark"' in section
    assert "Pain NRS: 8 on 25 Aug 2026, 7 on 20 Sep 2026, 7 on 20 Nov 2026" in section


def test_outsider_drilldown_shows_nothing_of_another_clinic(charlie, make_episode, patient, login):
    make_old_episode(make_episode, patient, "2026-05-01")
    html = (
        login(charlie)
        .get("/dashboard/indicators/treatment_16w/?which=denominator")
        .content.decode()
    )
    assert "Hartmann" not in html
    assert "0 episodes." in html


@pytest.mark.parametrize("patients", [5, 50])
def test_dashboard_query_budget(
    bob, clinic_a, build_panel_for, login, patients, django_assert_max_num_queries
):
    build_panel_for(clinic_a, patients)
    assert Episode.objects.count() >= patients
    client = login(bob)
    with django_assert_max_num_queries(12):
        response = client.get("/dashboard/")
    assert response.status_code == 200
    with django_assert_max_num_queries(7):
        client.get("/dashboard/indicators/dxa_12w/?which=denominator")


def test_falls_assessment_and_three_month_review_on_time(clinic_a, bob, now, make_episode, patient):
    import datetime as dt

    from pathways.models import FollowUpTask
    from pathways.services import episode_evaluate, task_complete
    from patients.services import patient_create

    def at(day: str) -> dt.datetime:
        return dt.datetime.fromisoformat(f"{day}T09:00:00+00:00")

    # Greta: falls assessment done on day 9, 3-month review done two days after its due date.
    greta = make_episode(
        onset_date="2026-06-01", identified_date="2026-06-01", now=at("2026-06-01")
    )
    falls = FollowUpTask.objects.get(patient_id=greta.patient_id, rule="falls_prevention")
    task_complete(task=falls, actor=bob, now=at("2026-06-10"))
    episode_evaluate(episode_id=greta.id, now=at("2026-09-01"))
    review = FollowUpTask.objects.get(episode=greta, rule="augmentation_review_3m")
    task_complete(task=review, actor=bob, outcome="resolved", now=at("2026-09-03"))
    # Otto: nothing done; his review is overdue by today.
    otto = patient_create(
        clinic=clinic_a,
        mrn="A-5",
        given_name="O",
        family_name="Otto",
        birth_date=dt.date(1940, 1, 1),
        now=at("2026-06-01"),
    )
    make_episode(
        patient=otto, onset_date="2026-06-01", identified_date="2026-06-01", now=at("2026-06-01")
    )
    for episode in Episode.objects.all():
        episode_evaluate(episode_id=episode.id, now=now)
    board = dashboard([clinic_a.id], date(2026, 1, 1), date(2026, 11, 22), date(2026, 11, 22))
    by_code = {v.indicator.code: (v.numerator, v.denominator) for v in board.values}
    assert by_code["falls_12w"] == (1, 2)
    assert by_code["review_3m_on_time"] == (1, 2)
    gap = drilldown(
        "review_3m_on_time",
        "gap",
        [clinic_a.id],
        date(2026, 1, 1),
        date(2026, 11, 22),
        date(2026, 11, 22),
    )
    assert [e.patient.family_name for e in gap] == ["Otto"]


def test_indicators_are_kept_two_minutes_and_recomputed_on_request(
    bob, clinic_a, now, make_episode, patient, login
):
    from pathways.services.patient_facts import medication_record

    make_old_episode(make_episode, patient, "2026-05-01")
    client = login(bob)

    def treatment_card(html: str) -> str:
        start = html.index('id="i-treatment_16w"')
        return html[start : html.index("</article>", start)]

    assert "0.0 %" in treatment_card(client.get("/dashboard/").content.decode())
    medication_record(
        patient=patient,
        **medication_values({"drug": "alendronate", "start_date": "2026-05-10"}),
        now=now,
    )
    cached = client.get("/dashboard/").content.decode()
    assert "0.0 %" in treatment_card(cached)
    assert "Recompute now" in cached
    fresh = client.get("/dashboard/?fresh=1").content.decode()
    assert "100.0 %" in treatment_card(fresh)


def test_period_problems_are_said_not_silently_replaced(bob, make_episode, login):
    make_episode()
    client = login(bob)
    html = client.get("/dashboard/?from=2026-10-01&to=2026-03-01").content.decode()
    assert (
        "The start date (1 Oct 2026) is after the end date (1 Mar 2026); "
        "showing the 12 months up to the end date instead." in html
    )
    assert 'role="alert"' in html
    assert (
        "“yesterday” is not a date (from)."
        in client.get("/dashboard/?from=yesterday").content.decode()
    )
    assert 'class="message message-error"' not in client.get("/dashboard/").content.decode()


def test_small_denominators_are_not_judged_against_the_target(bob, make_episode, patient, login):
    make_old_episode(make_episode, patient, "2026-05-01")
    html = login(bob).get("/dashboard/").content.decode()
    card = html[html.index('id="i-treatment_16w"') :]
    card = card[: card.index("</article>")]
    assert "too few to judge" in card
    assert "on target" not in card
    assert "Only 1 eligible episode: fewer than 10" in card
    assert "including those identified less than 16 weeks ago" in html


def test_augmentation_candidates_lead_the_page_for_a_physician(alice, bob, make_episode, login):
    make_episode(onset_date="2026-08-01", identified_date="2026-08-03")
    physician = login(bob).get("/dashboard/").content.decode()
    assert physician.index('id="h-cand"') < physician.index('id="h-ind"')
    coordinator = login(alice).get("/dashboard/").content.decode()
    assert coordinator.index('id="h-cand"') > coordinator.index('id="h-ind"')
