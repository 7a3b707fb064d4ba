"""A coordinator clearing the worklist in a real browser: clicks counted,
undo, reopen, voiding a fact, the phone layout measured in element boxes,
failures shown in the row, and axe-core on every page at both widths."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from pathways.models import FollowUpTask
from tests.browser.test_web_app import PASSWORD, ready, sign_in
from tests.factories import fact_values, medication_values, patient_changes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "pages"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


@pytest.fixture
def worklist_panel(
    clinic_a: Any, alice: Any, bob: Any, vera: Any, patient: Any, make_episode: Any, now: Any
) -> dict[str, Any]:
    """Greta: a fresh fracture (identified 10 days ago, neuro status unknown).
    Otto: a fracture from October. Ida: a fracture of last year, on alendronate
    for a year, so her yearly DXA is due. All with phone numbers."""
    from pathways.services import fact_record
    from pathways.services.patient_facts import medication_record, patient_update
    from patients.services import patient_create

    patient_update(
        patient=patient,
        **patient_changes({"phone": "+49 30 1234-567", "contact_time": "mornings"}),
        now=now,
    )
    greta = make_episode(
        onset_date="2026-11-10", identified_date="2026-11-12", neuro_status="unknown"
    )
    otto = patient_create(
        clinic=clinic_a,
        mrn="A-0002",
        given_name="Otto",
        family_name="Roth",
        birth_date=dt.date(1939, 7, 1),
        sex="male",
        phone="0170 555 1234",
        now=now,
    )
    old = make_episode(patient=otto, onset_date="2026-09-28", identified_date="2026-10-01")
    fact_record(
        episode=old,
        values=fact_values(
            "observation", {"kind": "pain_nrs", "value": 6, "effective_date": "2026-10-02"}
        ),
        now=now,
    )
    ida = patient_create(
        clinic=clinic_a,
        mrn="A-0003",
        given_name="Ida",
        family_name="Lang",
        birth_date=dt.date(1941, 2, 2),
        sex="female",
        phone="+49 30 7654-321",
        now=now,
    )
    make_episode(patient=ida, onset_date="2025-09-28", identified_date="2025-10-01")
    medication_record(
        patient=ida,
        **medication_values({"drug": "alendronate", "start_date": "2025-10-15"}),
        now=now,
    )
    from pathways.services import pathway_sweep

    pathway_sweep(now=now)
    return {"greta": greta, "old": old, "otto": otto, "ida": ida}


class Clicks:
    """Counts what a person does with the mouse: clicks and picks in a select."""

    def __init__(self) -> None:
        self.n = 0

    def click(self, target: Locator) -> None:
        self.n += 1
        target.click()

    def pick(self, target: Locator, value: str) -> None:
        self.n += 1
        target.select_option(value)


def overdue_count(page: Page) -> int:
    text = page.locator(".group-tabs .tab-overdue .count").inner_text()
    return int(text)


def test_coordinator_clears_ten_tasks(
    page: Page, live_server: Any, worklist_panel: dict[str, Any]
) -> None:
    """Ten tasks, each from its row: a task that needs nothing more in one
    click, a task that needs an outcome or a result in at most three."""
    base = live_server.url
    page.set_viewport_size(DESK)
    sign_in(page, base, "alice")
    ready(page)
    open_before = FollowUpTask.objects.filter(status="open").count()
    per_task: list[tuple[str, str, int]] = []
    skipped: set[str] = set()
    while len(per_task) < 10:
        rows = page.locator("#results article.task")
        ids = [i.removeprefix("task-") for i in rows.evaluate_all("rs => rs.map(r => r.id)")]
        task_id = next(i for i in ids if i not in skipped)
        task = FollowUpTask.objects.get(pk=task_id)
        row = page.locator(f"#task-{task_id}")
        clicks = Clicks()
        quick = row.locator(".task-quick")
        if quick.locator(".quick-outcomes").count():
            kind = "outcome"
            clicks.click(quick.locator(".quick-outcomes button").first)
        elif (
            quick.locator("summary", has_text="Send to").count()
            or quick.get_by_role("button", name=re.compile("^Send to")).count()
        ):
            skipped.add(task_id)  # a physician's decision: sent, not cleared here
            continue
        elif task.rule == "calcium_vitamin_d":
            # Two drugs close it: done elsewhere, with where.
            kind = "done elsewhere"
            clicks.click(quick.locator("summary", has_text="Done elsewhere"))
            row.get_by_label("Where and when it was done").fill("Both started by the GP")
            clicks.click(row.get_by_role("button", name="Done", exact=True))
        elif quick.locator(".quick-record").count():
            kind = "result"
            clicks.click(quick.locator(".quick-record summary"))
            form = row.locator("form.result-form")
            if form.locator("select[name=drug]").count():
                drug = "calcitonin" if task.rule == "calcitonin_start" else "alendronate"
                clicks.pick(form.locator("select[name=drug]"), drug)
            if form.locator("input[name=neuro]").count():
                clicks.click(form.get_by_label("Intact"))
            if form.locator("input[name=value]").count():
                form.get_by_label("Pain score (0–10)").fill("3")
            if form.locator("input[name=bmd_g_cm2]").count():
                form.get_by_label("BMD (g/cm²)").fill("0.701")
            clicks.click(form.get_by_role("button", name="Save"))
        else:
            kind = "one click"
            clicks.click(quick.get_by_role("button", name="Done", exact=True))
        expect(page.locator(f"#task-{task_id}")).to_have_count(0)
        expect(page.locator("#results .flash")).to_contain_text(task.title)
        # Focus moved on to a row of the refreshed list.
        # (htmx moves it once the swap has settled, just after the flash shows.)
        page.wait_for_function(
            "() => !!document.activeElement.closest('article.task')", timeout=5000
        )
        per_task.append((task.rule, kind, clicks.n))
    kinds = {k for _r, k, _n in per_task}
    assert "one click" in kinds, per_task
    assert kinds & {"outcome", "result"}, per_task
    for rule, kind, n in per_task:
        if kind == "one click":
            assert n == 1, (rule, n)
        else:
            assert n <= 3, (rule, kind, n)
    assert sum(n for _r, _k, n in per_task) <= 22, per_task
    assert FollowUpTask.objects.filter(status="open").count() <= open_before - 10
    print("clicks per task:", per_task)


def test_undo_within_ten_seconds_then_gone(
    page: Page, live_server: Any, worklist_panel: dict[str, Any]
) -> None:
    base = live_server.url
    page.clock.install()
    sign_in(page, base, "alice")
    ready(page)
    mob = FollowUpTask.objects.get(episode=worklist_panel["old"], rule="mobilisation")
    row = page.locator(f"#task-{mob.id}")
    before = overdue_count(page)
    row.get_by_role("button", name="Done", exact=True).click()
    flash = page.locator("#results .flash")
    expect(flash).to_contain_text("Done: Mobilise: avoid prolonged bed rest.")
    expect(page.locator(f"#task-{mob.id}")).to_have_count(0)
    assert overdue_count(page) == before - 1
    flash.get_by_role("button", name="Undo").click()
    expect(page.locator("#results .flash")).to_contain_text(
        "Undone: Mobilise: avoid prolonged bed rest."
    )
    expect(page.locator(f"#task-{mob.id}")).to_have_count(1)
    assert overdue_count(page) == before
    mob.refresh_from_db()
    assert mob.status == "open"
    # After 10 seconds the offer to undo is gone.
    page.locator(f"#task-{mob.id}").get_by_role("button", name="Done", exact=True).click()
    expect(page.locator("#results .flash")).to_contain_text("Done: Mobilise")
    expect(page.locator("#results .flash").get_by_role("button", name="Undo")).to_be_visible()
    page.clock.run_for(11_000)
    expect(page.locator("#results .flash").get_by_role("button", name="Undo")).to_have_count(0)


def test_reopen_a_closed_task_with_a_reason(
    page: Page, live_server: Any, worklist_panel: dict[str, Any]
) -> None:
    base = live_server.url
    mob = FollowUpTask.objects.get(episode=worklist_panel["old"], rule="mobilisation")
    sign_in(page, base, "alice")
    ready(page)
    page.locator(f"#task-{mob.id}").get_by_role("button", name="Done", exact=True).click()
    expect(page.locator(f"#task-{mob.id}")).to_have_count(0)
    page.goto(f"{base}/patients/{worklist_panel['otto'].id}/")
    ready(page)
    page.locator(".closed-tasks > summary").click()
    closed = page.locator(f"#task-{mob.id}")
    closed.locator("summary", has_text="Reopen").click()
    closed.get_by_label("Why reopen it?").fill("Closed by mistake: she cannot walk yet")
    closed.get_by_role("button", name="Reopen").click()
    expect(page.locator(f"#task-{mob.id} .task-result")).to_contain_text(
        "Reopened: Mobilise: avoid prolonged bed rest."
    )
    mob.refresh_from_db()
    assert mob.status == "open"
    assert mob.events.get(action="reopen").reason == "Closed by mistake: she cannot walk yet"


def test_record_then_void_a_fact(
    page: Page, live_server: Any, worklist_panel: dict[str, Any]
) -> None:
    """A mistyped pain score: a plain-English error, then the page lands at the
    top with what changed and the new entry marked; voiding it re-evaluates."""
    base = live_server.url
    sign_in(page, base, "alice")
    page.goto(f"{base}/patients/{worklist_panel['otto'].id}/")
    ready(page)
    page.locator("#form-pain summary").click()
    form = page.locator("#form-pain")
    form.get_by_label("Pain (NRS 0–10)").fill("14")
    form.get_by_label("Date").fill("2026-11-22")
    form.get_by_role("button", name="Record").click()
    expect(page.locator("#form-pain")).to_contain_text(
        "A pain score goes from 0 to 10; 14 is outside that range."
    )
    page.locator("#form-pain").get_by_label("Pain (NRS 0–10)").fill("4")
    page.locator("#form-pain").get_by_role("button", name="Record").click()
    expect(page.locator(".messages")).to_contain_text("Pain score recorded.")
    assert page.evaluate("window.scrollY") == 0
    assert page.locator(".messages").bounding_box()["y"] < 400
    new = page.locator("#new-entry")
    expect(new).to_contain_text("Pain score 4/10")
    # Newest first: the new entry is the first past entry after "Today".
    first_past = page.locator(".timeline li.today + li")
    expect(first_past).to_contain_text("Pain score 4/10")
    new.locator("summary", has_text="Void").click()
    new.get_by_role("button", name="Void entry").click()
    expect(page.locator(".timeline .field-error")).to_contain_text(
        "Reason: This field is required."
    )
    entry = page.locator(".timeline li").filter(has_text="Pain score 4/10")
    entry.get_by_label("Why void this entry?").fill("Typed into the wrong patient")
    entry.get_by_role("button", name="Void entry").click()
    expect(page.locator(".messages")).to_contain_text("Entry voided.")
    expect(page.locator(".timeline li").filter(has_text="Pain score 4/10")).to_have_count(0)


def _boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def _cells_apart(row: Locator) -> None:
    cells = {}
    for name in ("patient", "title", "due", "overdue", "priority", "levels", "assignee"):
        cell = row.locator(f".cell-{name}")
        if cell.count():
            box = cell.bounding_box()
            if box and box["width"] > 0 and box["height"] > 0:
                cells[name] = box
    names = list(cells)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not _boxes_overlap(cells[a], cells[b]), (a, b, cells[a], cells[b])
    if "due" in cells:
        # The due date on one line, not a two-character column.
        assert cells["due"]["width"] >= 80, cells["due"]
        assert cells["due"]["height"] < 30, cells["due"]


def test_phone_layout(page: Page, live_server: Any, worklist_panel: dict[str, Any]) -> None:
    base = live_server.url
    page.set_viewport_size(PHONE)
    sign_in(page, base, "alice")
    ready(page)
    _no_sideways_scroll(page)
    # Filters fold behind "Filters (n)"; the first task is on the first screen.
    expect(page.locator("#filters")).to_be_hidden()
    expect(page.locator(".filters-box > summary")).to_have_text("Filters (0)")
    first = page.locator("#results article.task").first
    assert first.bounding_box()["y"] + 60 < PHONE["height"]
    for i in range(min(6, page.locator("#results article.task").count())):
        _cells_apart(page.locator("#results article.task").nth(i))
    # An opened action stays a sensible height.
    first.locator(".task-quick summary", has_text="Snooze").click()
    assert first.bounding_box()["height"] < 420
    _no_sideways_scroll(page)
    page.locator(".filters-box > summary").click()
    expect(page.locator("#filters")).to_be_visible()
    page.get_by_label("Priority").select_option("urgent")
    expect(page).to_have_url(re.compile("priority=urgent"))
    # The patient page: task cards without overlap, no sideways scroll.
    page.goto(f"{base}/patients/{worklist_panel['otto'].id}/")
    ready(page)
    _no_sideways_scroll(page)
    for i in range(page.locator(".episode article.task").count()):
        _cells_apart(page.locator(".episode article.task").nth(i))
    expect(page.locator("a[href^='tel:']").first).to_be_visible()
    # The dashboard: no sideways scroll, a chart of a readable height.
    sign_in_as_physician(page, base)
    page.goto(f"{base}/dashboard/")
    ready(page)
    page.wait_for_function("() => document.querySelector('canvas[data-chart=monthly]').height > 0")
    _no_sideways_scroll(page)
    assert page.locator(".chart-box canvas").first.bounding_box()["height"] >= 180


def sign_in_as_physician(page: Page, base: str) -> None:
    page.context.clear_cookies()
    sign_in(page, base, "bob")
    ready(page)


def test_failures_show_in_the_row(
    page: Page, live_server: Any, worklist_panel: dict[str, Any]
) -> None:
    base = live_server.url
    sign_in(page, base, "alice")
    ready(page)
    mob = FollowUpTask.objects.get(episode=worklist_panel["old"], rule="mobilisation")
    row = page.locator(f"#task-{mob.id}")
    # The session ends (the security-token cookie stays): a sentence and a
    # link back to this page, never the sign-in page inside the row.
    cookies = [c for c in page.context.cookies() if c["name"] != "sessionid"]
    page.context.clear_cookies()
    page.context.add_cookies(cookies)
    row.get_by_role("button", name="Done", exact=True).click()
    error = row.locator(".request-error")
    expect(error).to_contain_text("You were signed out, so nothing was saved.")
    expect(row.locator("input[name=password]")).to_have_count(0)
    error.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")
    ready(page)
    # Both cookies gone: the security check refuses; a sentence in the row.
    page.context.clear_cookies()
    row = page.locator(f"#task-{mob.id}")
    row.get_by_role("button", name="Done", exact=True).click()
    expect(row.locator(".request-error")).to_contain_text(
        "This page's security check has expired. Reload the page and try again."
    )
    expect(row.locator(".request-error")).not_to_contain_text("CSRF")
    # A server error: a short message in the row, nothing swapped in.
    sign_in(page, base, "alice")
    ready(page)
    page.route(
        re.compile(r".*/tasks/.*/complete/$"),
        lambda route: route.fulfill(
            status=500, body="<h1>Server Error (500)</h1><pre>Traceback</pre>"
        ),
    )
    row = page.locator(f"#task-{mob.id}")
    row.get_by_role("button", name="Done", exact=True).click()
    expect(row.locator(".request-error")).to_contain_text("Something went wrong on the server")
    expect(row).not_to_contain_text("Traceback")
    mob.refresh_from_db()
    assert mob.status == "open"


def _axe(page: Page) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol: the page's strict CSP (no
    # inline script) does not apply to it.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))"
        ".slice(0, 3)}))"
    )
    return list(result)


def test_axe_every_page_at_both_widths(
    page: Page, live_server: Any, worklist_panel: dict[str, Any]
) -> None:
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    otto = worklist_panel["otto"].id
    task = FollowUpTask.objects.filter(status="open").first()
    assert task is not None
    pages = {
        "login": "/accounts/login/",
    }
    signed_in = {
        "worklist": "/",
        "worklist-per-patient": "/?group=patient",
        "worklist-overdue": "/?state=overdue",
        "patient": f"/patients/{otto}/",
        "patient-list": "/patients/",
        "patient-new": "/patients/new/",
        "task": f"/tasks/{task.id}/actions/",
        "dashboard": "/dashboard/",
        "drilldown": "/dashboard/indicators/treatment_16w/",
    }
    found: dict[str, Any] = {}
    for size_name, size in (("1280", DESK), ("390", PHONE)):
        page.set_viewport_size(size)
        page.context.clear_cookies()
        for name, path in pages.items():
            page.goto(base + path)
            ready(page)
            found[f"{name}-{size_name}"] = _axe(page)
        for user in ("alice", "bob"):
            page.context.clear_cookies()
            sign_in(page, base, user)
            ready(page)
            for name, path in signed_in.items():
                page.goto(base + path)
                ready(page)
                if name == "worklist":
                    # Open the action menus too: their forms are checked.
                    row = page.locator("#results article.task").first
                    for summary in row.locator(".task-quick summary").all():
                        summary.click()
                if "dashboard" in name:
                    page.wait_for_function(
                        "() => !document.querySelector('canvas') || "
                        "document.querySelector('canvas').height > 0"
                    )
                found[f"{name}-{user}-{size_name}"] = _axe(page)
                if user == "alice" or name.startswith(("dashboard", "drilldown")):
                    page.screenshot(
                        path=str(SHOTS / f"{name}-{user}-{size_name}.png"), full_page=True
                    )
    bad = {k: v for k, v in found.items() if v}
    assert not bad, json.dumps(bad, indent=1)
