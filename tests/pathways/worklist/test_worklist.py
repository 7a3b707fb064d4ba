"""The coordinator's worklist: groups, filters, search, sort, paging, inline
actions, bulk assign, CSV, and a query budget that does not grow with the panel."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from pathways.models import FollowUpTask
from tests.factories import fact_values

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def titles(html: str) -> list[str]:
    """The task titles of the rows on the page, in order."""
    return re.findall(r'<span class="cell cell-title" id="t-[^"]+">([^<]+)</span>', html)


def open_task(episode, rule):
    """The episode's open task, or its patient's for a programme rule."""
    return FollowUpTask.objects.get(patient_id=episode.patient_id, rule=rule, status="open")


def test_worklist_groups_overdue_due_and_upcoming(alice, make_episode, login):
    # Identified 10 days ago: the day-0 tasks are overdue (grace 7 days).
    make_episode(onset_date="2026-11-10", identified_date="2026-11-12")
    html = login(alice).get("/").content.decode()
    overdue = html.index('id="g-overdue"')
    due = html.index('id="g-due"')
    upcoming = html.index('id="g-upcoming"')
    assert overdue < due < upcoming
    # Each row: patient, levels, title, due date, days overdue, priority, assignee.
    assert "Hartmann, Greta" in html
    assert "A-0001" in html
    assert "Start anti-osteoporosis pharmacotherapy now" in html
    assert "10 days overdue" in html
    # MRI due on day 7 (19 Nov), within its 7-day grace: due, not overdue.
    assert "MRI spine without contrast" in html[due:upcoming]
    # The 3-week review is due on day 21 (3 Dec): upcoming.
    assert "3-week pain and function review" in html[upcoming:]
    assert "unassigned" in html


def test_filters_search_and_sort(alice, bob, patient, make_episode, login, now):
    from patients.services import patient_create

    make_episode()
    other = patient_create(
        clinic=patient.clinic,
        mrn="A-0002",
        given_name="Anna",
        family_name="Zimmermann",
        birth_date=dt.date(1940, 1, 1),
        now=now,
    )
    make_episode(patient=other)
    client = login(alice)
    by_rule = client.get("/?rule=falls_prevention").content.decode()
    assert titles(by_rule) == ["Falls risk assessment and prevention"] * 2
    by_name = client.get("/?q=zimmer").content.decode()
    assert "Zimmermann, Anna" in by_name
    assert "Hartmann, Greta" not in by_name
    by_mrn = client.get("/?q=A-0001").content.decode()
    assert "Hartmann, Greta" in by_mrn
    assert "Zimmermann" not in by_mrn
    urgent = client.get("/?priority=urgent").content.decode()
    assert "No open tasks match" in urgent  # neuro exam was completed by "intact"
    by_patient = client.get("/?sort=patient").content.decode()
    assert by_patient.index("Hartmann, Greta") < by_patient.index("Zimmermann, Anna")
    task = open_task(other.episodes.get(), "falls_prevention")
    client.post(f"/tasks/{task.id}/assign/", {"assignee": str(alice.pk)}, **HX)
    mine = client.get("/?mine=1").content.decode()
    assert titles(mine) == ["Falls risk assessment and prevention"]
    assert "Zimmermann" in mine
    unassigned = client.get("/?assignee=none").content.decode()
    assert len(titles(unassigned)) == len(titles(by_patient)) - 1


def test_htmx_filter_request_returns_only_the_results(alice, make_episode, login):
    make_episode()
    response = login(alice).get(
        "/?rule=mobilisation", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html


def test_complete_with_outcome_inline(bob, make_episode, login):
    episode = make_episode()
    task = open_task(episode, "red_flag_screen")
    client = login(bob)
    missing = client.post(f"/tasks/{task.id}/complete/", {"outcome": ""}, **HX)
    assert missing.status_code == 422
    assert "Outcome: This field is required." in missing.content.decode()
    done = client.post(
        f"/tasks/{task.id}/complete/", {"outcome": "clear", "note": "no red flags"}, **HX
    )
    assert done.status_code == 200
    assert "Done: Screen red flags (Clear)" in done.content.decode()
    task.refresh_from_db()
    assert (task.status, task.outcome, task.note, task.closed_by) == (
        "done",
        "clear",
        "no red flags",
        bob,
    )


def test_not_applicable_and_snooze_need_a_reason(alice, make_episode, login):
    episode = make_episode()
    client = login(alice)
    na = open_task(episode, "mobilisation")
    assert client.post(f"/tasks/{na.id}/not-applicable/", {"reason": ""}, **HX).status_code == 422
    assert (
        client.post(f"/tasks/{na.id}/not-applicable/", {"reason": "bedbound"}, **HX).status_code
        == 200
    )
    na.refresh_from_db()
    assert (na.status, na.reason) == ("not_applicable", "bedbound")
    snooze = open_task(episode, "calcium_vitamin_d")
    bad = client.post(f"/tasks/{snooze.id}/snooze/", {"until": "2026-11-01", "reason": ""}, **HX)
    assert bad.status_code == 422
    body = bad.content.decode()
    assert "Choose a date after today (22 Nov 2026)" in body
    assert "This field is required." in body
    good = client.post(
        f"/tasks/{snooze.id}/snooze/", {"until": "2026-12-01", "reason": "pharmacy"}, **HX
    )
    assert "Snoozed to 1 Dec 2026" in good.content.decode()
    snooze.refresh_from_db()
    assert snooze.snoozed_until.isoformat() == "2026-12-01"
    assert snooze.status == "open"


def test_only_a_physician_records_the_augmentation_decision(
    alice, bob, make_episode, login, now, django_capture_on_commit_callbacks
):
    from pathways.services import fact_record

    episode = make_episode(onset_date="2026-11-01", identified_date="2026-11-02")
    with django_capture_on_commit_callbacks(execute=True):
        fact_record(
            episode=episode,
            values=fact_values(
                "observation",
                {"kind": "hospital_admission", "value": True, "effective_date": "2026-11-20"},
            ),
            now=now,
        )
    task = open_task(episode, "augmentation_consider_early")
    refused = login(alice).post(
        f"/tasks/{task.id}/complete/", {"outcome": "continue_conservative"}, **HX
    )
    assert refused.status_code == 403
    assert "Only a physician records the augmentation decision." in refused.content.decode()
    ok = login(bob).post(f"/tasks/{task.id}/complete/", {"outcome": "continue_conservative"}, **HX)
    assert ok.status_code == 200
    task.refresh_from_db()
    assert task.status == "done"


def test_viewer_sees_no_actions_and_cannot_write(vera, make_episode, login):
    episode = make_episode()
    task = open_task(episode, "mobilisation")
    client = login(vera)
    html = client.get("/").content.decode()
    assert "Mobilise" in html
    assert "task_actions" not in html
    assert "/actions/" not in html
    assert 'id="bulk"' not in html
    for action, data in (("complete", {}), ("not-applicable", {"reason": "x"}), ("assign", {})):
        assert client.post(f"/tasks/{task.id}/{action}/", data, **HX).status_code == 403
        assert client.post(f"/tasks/{task.id}/{action}/", data).status_code == 403
    page = client.get(f"/tasks/{task.id}/actions/")  # the task's own page: reads, no forms
    assert page.status_code == 200
    assert "Mobilise" in page.content.decode()
    assert '<form class="action"' not in page.content.decode()
    task.refresh_from_db()
    assert task.status == "open"


def test_outsider_cannot_act_on_another_clinics_task(charlie, make_episode, login):
    task = open_task(make_episode(), "mobilisation")
    assert login(charlie).post(f"/tasks/{task.id}/complete/", {}, **HX).status_code == 404


def test_bulk_assign(alice, bob, make_episode, login):
    episode = make_episode()
    tasks = list(FollowUpTask.objects.filter(episode=episode, status="open")[:3])
    response = login(alice).post(
        "/tasks/bulk-assign/",
        {"task": [str(t.id) for t in tasks], "assignee": str(bob.pk), "filters": "sort=due"},
        **HX,
    )
    assert response.status_code == 200
    assert "Assigned 3 tasks to Bob" in response.content.decode()
    assert {t.assignee_id for t in FollowUpTask.objects.filter(id__in=[t.id for t in tasks])} == {
        bob.pk
    }


def test_bulk_assign_has_no_default_and_says_unassigned(alice, bob, make_episode, login):
    """The select starts on "Choose…" (not "Nobody"); an untouched select
    changes nothing; unassigning says so (it used to say "Assigned 2 task(s)")."""
    episode = make_episode()
    client = login(alice)
    page = client.get("/").content.decode()
    select = page[page.index('id="bulk-assignee"') :]
    select = select[: select.index("</select>")]
    assert '<option value="" selected>Choose…</option>' in select
    tasks = list(FollowUpTask.objects.filter(episode=episode, status="open")[:2])
    FollowUpTask.objects.filter(id__in=[t.id for t in tasks]).update(assignee=bob)
    ids = [str(t.id) for t in tasks]
    untouched = client.post("/tasks/bulk-assign/", {"task": ids, "assignee": ""}, **HX)
    assert untouched.status_code == 422
    assert "Choose who to assign the selected tasks to" in untouched.content.decode()
    assert FollowUpTask.objects.filter(assignee=bob).count() == 2
    cleared = client.post("/tasks/bulk-assign/", {"task": ids, "assignee": "none"}, **HX)
    assert cleared.status_code == 200
    body = cleared.content.decode()
    assert "Unassigned 2 tasks." in body
    assert "Assigned" not in body
    assert not FollowUpTask.objects.filter(assignee__isnull=False).exists()


def test_bulk_assign_to_an_outsider_changes_nothing(alice, charlie, make_episode, login):
    episode = make_episode()
    tasks = list(FollowUpTask.objects.filter(episode=episode, status="open")[:2])
    response = login(alice).post(
        "/tasks/bulk-assign/",
        {"task": [str(t.id) for t in tasks], "assignee": str(charlie.pk)},
        **HX,
    )
    assert response.status_code == 422
    assert "Choose a coordinator or physician of this task" in response.content.decode()
    assert not FollowUpTask.objects.filter(assignee__isnull=False).exists()


def test_worklist_csv_export(alice, make_episode, login):
    make_episode()
    response = login(alice).get("/worklist.csv?rule=mobilisation")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["state", "patient", "mrn", "levels", "task"]
    assert rows[1][1:5] == ["Hartmann, Greta", "A-0001", "L1", "Mobilise: avoid prolonged bed rest"]
    assert len(rows) == 2


@pytest.mark.parametrize("patients", [4, 40])
def test_worklist_query_budget_does_not_grow_with_the_panel(
    alice, clinic_a, build_panel_for, login, patients, django_assert_max_num_queries
):
    build_panel_for(clinic_a, patients)
    client = login(alice)
    assert FollowUpTask.objects.filter(status="open").count() > patients
    # Session, user, memberships; 3 group counts; ids of up to 3 groups on
    # the page; the rows; the assignable people; the header's unread
    # notifications; the access audit's one INSERT of the patients shown:
    # 13 at most, whatever the size.
    with django_assert_max_num_queries(13):
        response = client.get("/?sort=priority")
    assert response.status_code == 200
    with django_assert_max_num_queries(11):
        client.get("/?q=a&state=overdue&page=2")
    task = FollowUpTask.objects.filter(status="open").first()
    with django_assert_max_num_queries(7):  # 6 + the audit's INSERT
        client.get(f"/tasks/{task.id}/actions/", HTTP_HX_REQUEST="true")


def test_paging(alice, clinic_a, build_panel_for, login):
    build_panel_for(clinic_a, 40)
    client = login(alice)
    first = client.get("/").content.decode()
    assert "Page 1 of" in first
    assert "Next →" in first
    second = client.get("/?page=2").content.decode()
    assert "Page 2 of" in second
    assert "← Previous" in second


def test_pages_cover_every_visible_task_once_in_group_order(clinic_a, build_panel_for, now):
    from pathways.worklist import selectors

    build_panel_for(clinic_a, 30)
    todays = {clinic_a.id: clinic_a.today(now)}
    seen: list = []
    states: list[str] = []
    page, pages = 1, 1
    while page <= pages:
        result = selectors.worklist_page(
            selectors.WorklistQuery(clinic_ids=[clinic_a.id], todays=todays, page=page), page_size=7
        )
        seen.extend(r.task.id for r in result.rows)
        states.extend(r.state for r in result.rows)
        pages = result.pages
        page += 1
    expected = {
        t.id
        for t in FollowUpTask.objects.filter(status="open")
        if t.state_on(todays[clinic_a.id]) in ("overdue", "due")
        or (t.effective_due - todays[clinic_a.id]).days <= 14
    }
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
    rank = {"overdue": 0, "due": 1, "upcoming": 2}
    assert [rank[s] for s in states] == sorted(rank[s] for s in states)


@pytest.mark.parametrize("sort", ["due", "-due"])
def test_a_user_of_several_clinics_pages_through_one_deadline_order(
    alice, clinic_a, clinic_b, build_panel_for, sort
):
    """Rows of two clinics interleave by deadline exactly as one sorted list
    would, page after page (PostgreSQL merges per-clinic index slices)."""
    from pathways.worklist.selectors import WorklistQuery, worklist_page
    from patients.models import Membership
    from tests.conftest import NOW

    Membership.objects.create(user=alice, clinic=clinic_b, role="coordinator")
    build_panel_for(clinic_a, 12, seed=3)
    build_panel_for(clinic_b, 12, seed=4)
    todays = {clinic_a.id: NOW.date(), clinic_b.id: NOW.date()}
    query = WorklistQuery(clinic_ids=[clinic_a.id, clinic_b.id], todays=todays, sort=sort)

    pages = []
    first = worklist_page(query, page_size=7)
    for n in range(1, first.pages + 1):
        page = worklist_page(WorklistQuery(**{**query.__dict__, "page": n}), page_size=7)
        pages.append([r.task for r in page.rows])
    shown = [t for rows in pages for t in rows]

    rank = {"overdue": 0, "due": 1, "upcoming": 2}
    expected = sorted(
        (t for t in FollowUpTask.objects.open() if t.state_on(NOW.date()) is not None),
        key=lambda t: (t.overdue_from, t.due_date, t.id),
        reverse=sort == "-due",
    )
    expected = [
        t
        for t in sorted(expected, key=lambda t: rank[t.state_on(NOW.date())])
        if t.state_on(NOW.date()) != "upcoming" or (t.effective_due - NOW.date()).days <= 14
    ]
    assert {t.clinic_id for t in shown} == {clinic_a.id, clinic_b.id}
    assert [t.id for t in shown] == [t.id for t in expected]
