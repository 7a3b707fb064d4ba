"""Clearing the worklist: order, one-click actions, results recorded from the
row, snooze presets, calls, undo, reopen, send to physician, and failures
that answer in a sentence."""

from __future__ import annotations

import datetime as dt
import re
from datetime import timedelta

import pytest
import time_machine

from pathways.models import FollowUpTask, Imaging, TaskEvent
from tests.factories import NOW, medication_values

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PRIORITY_RANK = {"urgent": 0, "high": 1, "routine": 2}


def open_task(episode, rule):
    """The episode's open task, or its patient's for a programme rule."""
    return FollowUpTask.objects.get(patient_id=episode.patient_id, rule=rule, status="open")


def group(html: str, state: str) -> str:
    start = html.index(f'id="g-{state}"')
    end = html.find('<section class="group', start)
    return html[start : end if end > 0 else len(html)]


def row_ids(html: str) -> list[str]:
    return re.findall(r'<article class="task[^"]*" id="task-([0-9a-f-]+)"', html)


@pytest.fixture
def two_patients(patient, make_episode, now):
    """Greta: a fresh fracture with an urgent neuro exam overdue 10 days.
    Otto: a fracture from October, routine tasks overdue for weeks."""
    from patients.services import patient_create

    fresh = make_episode(
        onset_date="2026-11-10", identified_date="2026-11-12", neuro_status="unknown"
    )
    otto = patient_create(
        clinic=patient.clinic,
        mrn="A-0002",
        given_name="Otto",
        family_name="Roth",
        birth_date=dt.date(1939, 7, 1),
        sex="male",
        phone="+49 30 1234-567",
        contact_time="weekday mornings",
        now=now,
    )
    old = make_episode(patient=otto, onset_date="2026-09-28", identified_date="2026-10-01")
    return {"fresh": fresh, "old": old, "otto": otto}


def test_default_order_is_priority_then_days_overdue_and_is_explained(alice, two_patients, login):
    html = login(alice).get("/").content.decode()
    overdue = group(html, "overdue")
    tasks = {str(t.id): t for t in FollowUpTask.objects.filter(status="open")}
    ranks = [PRIORITY_RANK[tasks[i].priority] for i in row_ids(overdue)]
    assert ranks == sorted(ranks)
    assert ranks[0] == 0
    # The urgent neuro exam (overdue 9 days) comes before October's routine
    # tasks (overdue for weeks): the old default put them first.
    first = tasks[row_ids(overdue)[0]]
    assert first.rule == "neuro_exam"
    routine = [tasks[i] for i in row_ids(overdue) if tasks[i].priority == "routine"]
    assert [t.overdue_from for t in routine] == sorted(t.overdue_from for t in routine)
    assert "Order: urgent, then high, then routine; within each, the most overdue first." in html
    deadline = login(alice).get("/?sort=due").content.decode()
    # By deadline, Otto's October work (his fracture's and his programme's) leads.
    assert tasks[row_ids(group(deadline, "overdue"))[0]].patient_id == two_patients["otto"].id


def test_due_group_is_labelled_honestly(alice, make_episode, login):
    # MRI due 19 Nov with a week's grace, today 22 Nov: due, not "due today".
    make_episode(onset_date="2026-11-10", identified_date="2026-11-12")
    html = login(alice).get("/").content.decode()
    assert "Due today" not in html
    due = group(html, "due")
    assert "Due now (within grace)" in due
    assert "MRI spine without contrast" in due
    assert "due 3 days ago" in due


def test_one_row_per_patient(alice, two_patients, login):
    html = login(alice).get("/?group=patient").content.decode()
    assert html.count('class="patient-bundle card"') == 2
    otto = html[html.index("Roth, Otto</a>") :]
    assert 'href="tel:+49301234567"' in otto[:600]
    # Each patient once: their tasks listed inside their row.
    assert html.count("Hartmann, Greta</a>") == 1


def test_routine_task_is_done_in_one_post_and_the_list_refreshes(alice, two_patients, login):
    client = login(alice)
    before = client.get("/").content.decode()
    count = int(re.search(r'Overdue <span class="count">(\d+)</span>', before).group(1))
    task = open_task(two_patients["old"], "mobilisation")
    response = client.post(f"/tasks/{task.id}/complete/", {"filters": ""}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "Done: Mobilise: avoid prolonged bed rest." in html
    assert f'hx-post="/tasks/{task.id}/undo/"' in html
    assert f'id="task-{task.id}"' not in html
    assert f'Overdue <span class="count">{count - 1}</span>' in html
    task.refresh_from_db()
    assert task.status == "done"
    assert task.events.get().action == "complete"


def test_a_task_a_result_closes_needs_the_result_or_a_done_elsewhere_note(
    alice, make_episode, login, django_capture_on_commit_callbacks
):
    episode = make_episode(onset_date="2026-11-10", identified_date="2026-11-12")
    mri = open_task(episode, "mri_initial")
    client = login(alice)
    html = client.get("/").content.decode()
    row = html[html.index(f'id="task-{mri.id}"') :]
    row = row[: row.index("</article>")]
    assert "Record the imaging" in row
    assert "Done elsewhere" in row
    assert f'hx-post="/tasks/{mri.id}/complete/"' in row
    assert '<button type="submit" class="btn btn-primary">Done</button>' not in row
    bare = client.post(f"/tasks/{mri.id}/complete/", {"filters": ""}, **HX)
    assert bare.status_code == 422
    assert bare["HX-Retarget"] == f"#task-{mri.id}"
    assert "say where it was done" in bare.content.decode()
    mri.refresh_from_db()
    assert mri.status == "open"
    with django_capture_on_commit_callbacks(execute=True):
        recorded = client.post(
            f"/tasks/{mri.id}/record/",
            {"filters": "", "modality": "mri", "performed_date": "2026-11-21", "edema": "true"},
            **HX,
        )
    assert recorded.status_code == 200
    assert "Imaging recorded: MRI spine without contrast." in recorded.content.decode()
    mri.refresh_from_db()
    assert mri.status == "done"
    assert not mri.closed_by_person
    assert Imaging.objects.get(episode=episode).edema is True


def test_a_dxa_task_records_the_scan(
    alice, patient, make_episode, login, now, django_capture_on_commit_callbacks
):
    """The yearly DXA used to close in two clicks with no result: the DXA table
    said "None recorded" while the timeline said done."""
    from pathways.services.patient_facts import medication_record
    from patients.models import BoneDensity

    with django_capture_on_commit_callbacks(execute=True):
        make_episode(onset_date="2025-09-28", identified_date="2025-10-01")
        medication_record(
            patient=patient,
            **medication_values({"drug": "alendronate", "start_date": "2025-10-15"}),
            now=now,
        )
    dxa = FollowUpTask.objects.get(rule="bmd_dxa", status="open")
    client = login(alice)
    bad = client.post(
        f"/tasks/{dxa.id}/record/",
        {"filters": "", "performed_date": "2026-11-20", "site": "lumbar_spine", "bmd_g_cm2": "9"},
        **HX,
    )
    assert bad.status_code == 422
    assert "BMD (g/cm²): Must be between 0.1 and 2.5." in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(
            f"/tasks/{dxa.id}/record/",
            {
                "filters": "",
                "performed_date": "2026-11-20",
                "site": "lumbar_spine",
                "bmd_g_cm2": "0.712",
                "t_score": "-2.6",
            },
            **HX,
        )
    assert "DXA recorded: Yearly bone density (DXA)." in ok.content.decode()
    dxa.refresh_from_db()
    assert dxa.status == "done"
    scan = BoneDensity.objects.get(patient=patient)
    assert (str(scan.bmd_g_cm2), str(scan.t_score)) == ("0.712", "-2.6")
    page = client.get(f"/patients/{patient.id}/").content.decode()
    assert "None recorded" not in page[page.index('id="h-dxa"') : page.index('id="h-episodes"')]


def test_snooze_preset_leaves_overdue(alice, two_patients, login):
    client = login(alice)
    task = open_task(two_patients["old"], "calcium_vitamin_d")
    response = client.post(f"/tasks/{task.id}/snooze/", {"filters": "", "preset": "1w"}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Snoozed to 29 Nov 2026: Calcium and vitamin D." in html
    assert f'id="task-{task.id}"' in group(html, "upcoming")
    task.refresh_from_db()
    assert task.snoozed_until == NOW.date() + timedelta(days=7)
    assert task.state_on(NOW.date()) == "upcoming"


def test_call_outcomes_with_a_retry_date(alice, two_patients, login):
    client = login(alice)
    task = open_task(two_patients["old"], "calcium_vitamin_d")
    missing = client.post(
        f"/tasks/{task.id}/call/", {"filters": "", "call_outcome": "no_answer"}, **HX
    )
    assert missing.status_code == 422
    assert "This field is required." in missing.content.decode()
    ok = client.post(
        f"/tasks/{task.id}/call/",
        {"filters": "", "call_outcome": "left_message", "retry_on": "2026-11-24"},
        **HX,
    )
    assert ok.status_code == 200
    assert "Call recorded (left message): Calcium and vitamin D." in ok.content.decode()
    task.refresh_from_db()
    assert (task.call_outcome, task.snoozed_until.isoformat()) == ("left_message", "2026-11-24")
    assert task.status == "open"
    assert "Left message, try again 24 Nov 2026" in task.note
    declined = open_task(two_patients["old"], "mobilisation")
    client.post(f"/tasks/{declined.id}/call/", {"call_outcome": "declined", "retry_on": ""}, **HX)
    declined.refresh_from_db()
    assert declined.call_outcome == "declined"
    assert declined.snoozed_until is None


def test_undo_restores_the_task_for_the_person_who_acted_only(alice, bob, two_patients, login):
    task = open_task(two_patients["old"], "mobilisation")
    alice_client = login(alice)
    alice_client.post(f"/tasks/{task.id}/complete/", {"filters": ""}, **HX)
    refused = login(bob).post(f"/tasks/{task.id}/undo/", {"filters": ""}, **HX)
    assert refused.status_code == 409
    undone = alice_client.post(f"/tasks/{task.id}/undo/", {"filters": ""}, **HX)
    assert undone.status_code == 200
    assert "Undone: Mobilise: avoid prolonged bed rest." in undone.content.decode()
    task.refresh_from_db()
    assert (task.status, task.closed_at, task.closed_by_id) == ("open", None, None)
    assert [e.action for e in TaskEvent.objects.filter(task=task).order_by("at", "id")] == [
        "complete",
        "undo",
    ]
    # Snooze, then undo: the snooze is gone and the task is overdue again.
    alice_client.post(f"/tasks/{task.id}/snooze/", {"preset": "2w"}, **HX)
    alice_client.post(f"/tasks/{task.id}/undo/", {}, **HX)
    task.refresh_from_db()
    assert task.snoozed_until is None
    assert task.state_on(NOW.date()) == "overdue"
    alice_client.post(f"/tasks/{task.id}/assign/", {"assignee": str(bob.pk)}, **HX)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        late = alice_client.post(f"/tasks/{task.id}/undo/", {}, **HX)
    assert late.status_code == 409
    task.refresh_from_db()
    assert task.assignee_id == bob.pk


def test_reopen_a_task_a_person_closed_with_a_reason(alice, two_patients, login):
    task = open_task(two_patients["old"], "mobilisation")
    client = login(alice)
    client.post(f"/tasks/{task.id}/not-applicable/", {"reason": "bedbound"}, **HX)
    page = client.get(f"/patients/{two_patients['otto'].id}/").content.decode()
    assert "Tasks closed by a person (1)" in page
    assert f'hx-post="/tasks/{task.id}/reopen/"' in page
    no_reason = client.post(f"/tasks/{task.id}/reopen/", {"reason": ""}, **HX)
    assert no_reason.status_code == 422
    ok = client.post(f"/tasks/{task.id}/reopen/", {"reason": "wrong patient"}, **HX)
    assert ok.status_code == 200
    assert "Reopened: Mobilise: avoid prolonged bed rest." in ok.content.decode()
    task.refresh_from_db()
    assert task.status == "open"
    assert task.note == "Reopened: wrong patient"
    event = task.events.get(action="reopen")
    assert (event.reason, event.actor_id, event.before["status"]) == (
        "wrong patient",
        alice.pk,
        "not_applicable",
    )


def test_a_task_the_pathway_closed_is_not_reopened_by_hand(alice, make_episode, login):
    episode = make_episode()  # neuro status given: the neuro exam is done by that fact
    done = FollowUpTask.objects.get(episode=episode, rule="neuro_exam")
    assert done.status == "done"
    assert not done.closed_by_person
    response = login(alice).post(f"/tasks/{done.id}/reopen/", {"reason": "x"}, **HX)
    assert response.status_code == 409
    assert "void" in response.content.decode()


def test_a_coordinator_sends_the_augmentation_decision_to_a_physician(
    alice, bob, make_episode, login
):
    episode = make_episode(onset_date="2026-08-01", identified_date="2026-08-03")
    review = FollowUpTask.objects.filter(episode=episode, rule="augmentation_review_3m").first()
    assert review is not None
    assert review.status == "open"
    coordinator = login(alice).get(f"/patients/{episode.patient_id}/").content.decode()
    row = coordinator[coordinator.index(f'id="task-{review.id}"') :]
    row = row[: row.index("</article>")]
    assert "Send to Bob Physician" in row
    assert 'name="outcome"' not in row
    assert "Not applicable" not in row
    sent = login(alice).post(
        f"/tasks/{review.id}/assign/", {"assignee": str(bob.pk), "send": "1"}, **HX
    )
    assert "Sent to Bob Physician" in sent.content.decode()
    physician = login(bob).get(f"/patients/{episode.patient_id}/").content.decode()
    prow = physician[physician.index(f'id="task-{review.id}"') :]
    prow = prow[: prow.index("</article>")]
    assert 'name="outcome" value="offer_augmentation"' in prow
    assert "Send to" not in prow


def test_htmx_requests_fail_in_a_sentence(alice, two_patients, login, client):
    task = open_task(two_patients["old"], "mobilisation")
    # Signed out: 401 and a sentence, never the sign-in page inside a row.
    signed_out = client.post(f"/tasks/{task.id}/complete/", {}, **HX)
    assert signed_out.status_code == 401
    assert signed_out["Content-Type"].startswith("text/plain")
    assert "<html" not in signed_out.content.decode()
    # Without htmx the sign-in redirect stays.
    assert client.post(f"/tasks/{task.id}/complete/", {}).status_code == 302
    # A stale security token: a sentence, not Django's debug page.
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    refused = strict.post(f"/tasks/{task.id}/complete/", {}, **HX)
    assert refused.status_code == 403
    assert refused.content.decode() == (
        "This page's security check has expired. Reload the page and try again."
    )
    page = strict.post(f"/tasks/{task.id}/complete/", {})
    assert page.status_code == 403
    assert "security check has expired" in page.content.decode()
    assert "CSRF verification failed" not in page.content.decode()


def test_an_action_answers_with_the_list_within_a_query_budget(
    alice, clinic_a, build_panel_for, login, django_assert_max_num_queries
):
    build_panel_for(clinic_a, 20)
    client = login(alice)
    task = FollowUpTask.objects.filter(status="open", rule="mobilisation").first()
    if task is None:
        task = FollowUpTask.objects.filter(status="open").exclude(rule__in=["bmd_dxa"]).first()
    with django_assert_max_num_queries(40):
        response = client.post(f"/tasks/{task.id}/snooze/", {"filters": "", "preset": "1m"}, **HX)
    assert response.status_code == 200
