"""A coordinator's morning, a physician's panel review, and an outsider,
driven through the real browser against the live server."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pathways.models import FollowUpTask
from tests.factories import fact_values, medication_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


@pytest.fixture
def panel(
    clinic_a: Any, alice: Any, bob: Any, charlie: Any, patient: Any, make_episode: Any, now: Any
) -> dict[str, Any]:
    """Greta: a fracture 27 days ago, severe pain (NRS 7) on day 22 while on an
    NSAID. Otto: an episode from May (the indicators have eligible episodes)."""
    from pathways.services import fact_record
    from pathways.services.patient_facts import medication_record
    from patients.services import patient_create

    greta = make_episode(onset_date="2026-10-25", identified_date="2026-10-26")
    medication_record(
        patient=patient, **medication_values({"drug": "nsaid", "start_date": "2026-10-26"}), now=now
    )
    fact_record(
        episode=greta,
        values=fact_values(
            "observation", {"kind": "pain_nrs", "value": 7, "effective_date": "2026-11-17"}
        ),
        now=now,
    )
    otto = patient_create(
        clinic=clinic_a,
        mrn="A-0002",
        given_name="Otto",
        family_name="Roth",
        birth_date=dt.date(1939, 7, 1),
        sex="male",
        now=now,
    )
    old = make_episode(
        patient=otto, levels=["T12"], onset_date="2026-05-01", identified_date="2026-05-02"
    )
    medication_record(
        patient=otto,
        **medication_values({"drug": "alendronate", "start_date": "2026-05-20"}),
        now=now,
    )
    fact_record(
        episode=old,
        values=fact_values(
            "observation", {"kind": "pain_nrs", "value": 7, "effective_date": "2026-05-02"}
        ),
        now=now,
    )
    return {"greta": greta, "otto": otto, "old": old, "patient": patient}


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def ready(page: Page) -> None:
    """Wait until the page has loaded and htmx has processed it."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")


def row(page: Page, title: str, patient: str = "Hartmann, Greta") -> Any:
    return page.locator("article.task").filter(has_text=title).filter(has_text=patient)


def test_coordinator_morning(
    page: Page, live_server: Any, panel: dict[str, Any], shot: Any, csp_violations: list[str]
) -> None:
    base = live_server.url
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    shot("login", tablet=False)
    sign_in(page, base, "alice")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Overdue"))).to_be_visible()
    ready(page)
    shot("worklist")

    # Filter by task (htmx swaps the results, the URL follows).
    page.get_by_label("Task", exact=True).select_option(label="Screen red flags")
    expect(page).to_have_url(re.compile(r"rule=red_flag_screen"))
    # Greta's screen, and Otto's that nobody recorded since May.
    expect(page.locator("article.task .cell-title")).to_have_text(["Screen red flags"] * 2)

    # Complete it with an outcome, inline: one click on the outcome.
    task = row(page, "Screen red flags")
    task.get_by_role("button", name="Clear", exact=True).click()
    expect(page.locator("#results .flash")).to_contain_text("Done: Screen red flags (Clear).")
    expect(row(page, "Screen red flags")).to_have_count(0)
    done = FollowUpTask.objects.get(episode=panel["greta"], rule="red_flag_screen")
    assert (done.status, done.outcome) == ("done", "clear")

    # Snooze another one.
    page.get_by_role("link", name="Reset").click()
    expect(page).to_have_url(f"{base}/")
    ready(page)
    page.get_by_label("Patient name or MRN").fill("A-0001")
    # Wait for the search results to replace the list (the unfiltered list has
    # the same rows: opening one before the swap lands would be undone by it).
    expect(page).to_have_url(re.compile(r"q=A-0001"))
    expect(page.locator("article.task").filter(has_text="Roth, Otto")).to_have_count(0)
    expect(page.locator("article.task").first).to_contain_text("Hartmann, Greta")
    calcium = row(page, "Calcium and vitamin D")
    calcium.locator("summary", has_text="Snooze").click()
    calcium.get_by_role("button", name=re.compile(r"Snooze \+1 week")).click()
    expect(page.locator("#results .flash")).to_contain_text(
        "Snoozed to 29 Nov 2026: Calcium and vitamin D."
    )

    # A second severe pain score from week 3 on (persistent severe pain)
    # raises the early-augmentation task.
    page.get_by_role("link", name="Hartmann, Greta").first.click()
    expect(page.get_by_role("heading", name="Greta Hartmann")).to_be_visible()
    page.locator("#form-pain summary").click()
    page.get_by_label("Pain (NRS 0–10)").fill("8")
    page.locator("#form-pain").get_by_label("Date").fill("2026-11-22")
    page.locator("#form-pain").get_by_role("button", name="Record").click()
    expect(
        page.get_by_text("New task: Consider vertebral augmentation before 3 months.")
    ).to_be_visible()
    expect(page.get_by_text("Phase moved from acute to augmentation review.")).to_be_visible()
    expect(
        page.locator(".episode article.task").filter(
            has_text="Consider vertebral augmentation before 3 months"
        )
    ).to_be_visible()
    page.wait_for_function("() => document.querySelector('canvas[data-chart=pain]').height > 0")
    shot("patient")

    # ...and it is on the worklist.
    page.get_by_role("link", name="Worklist").click()
    expect(page).to_have_url(f"{base}/")
    ready(page)
    page.get_by_label("Task", exact=True).select_option(
        label="Consider vertebral augmentation before 3 months"
    )
    expect(page).to_have_url(re.compile(r"rule=augmentation_consider_early"))
    expect(page.locator("article.task .cell-title")).to_have_text(
        ["Consider vertebral augmentation before 3 months"]
    )
    early = row(page, "Consider vertebral augmentation before 3 months")
    expect(early).to_be_visible()
    early.locator("summary", has_text="Why is this here?").click()
    expect(
        early.get_by_text(
            "persistent severe pain: scores of 7 or more on 17 Nov 2026 and 22 Nov 2026"
        )
    ).to_be_visible()
    expect(early.get_by_text("A physician records this decision.")).to_be_visible()
    shot("worklist-early-augmentation")
    assert csp_violations == []


def test_physician_panel_review(
    page: Page, live_server: Any, panel: dict[str, Any], shot: Any, csp_violations: list[str]
) -> None:
    base = live_server.url
    sign_in(page, base, "bob")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Panel dashboard")).to_be_visible()
    card = page.locator("article.indicator").filter(has_text="Treatment started within 16 weeks")
    expect(card.locator(".value")).to_contain_text("100.0 %")
    page.wait_for_function("() => document.querySelector('canvas[data-chart=monthly]').height > 0")
    shot("dashboard")

    card.get_by_role("link", name=re.compile("in the numerator")).click()
    expect(page.get_by_role("heading", name="Treatment started within 16 weeks")).to_be_visible()
    expect(page.get_by_text("1 episode.")).to_be_visible()
    shot("drilldown")
    page.get_by_role("link", name="Roth, Otto").click()
    expect(page.get_by_role("heading", name="Otto Roth")).to_be_visible()
    expect(page.get_by_text("Started Alendronate")).to_be_visible()
    shot("patient-physician")
    assert csp_violations == []


def test_augmentation_candidates_read_on_a_phone(
    page: Page, live_server: Any, panel: dict[str, Any], csp_violations: list[str]
) -> None:
    """At 390 px each candidate is a card: name, levels, due date, why and
    pain trajectory one under another, nothing cut off or scrolled sideways."""
    from tests.browser.conftest import SHOTS

    base = live_server.url
    sign_in(page, base, "bob")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/dashboard/")
    section = page.locator("section[aria-labelledby=h-cand]")
    page.screenshot(path=str(SHOTS / "dashboard-candidates-390.png"), full_page=True)
    candidate = section.locator("tbody tr").filter(has_text="Roth, Otto")
    expect(candidate).to_be_visible()
    expect(candidate).to_contain_text("Levels")
    expect(candidate).to_contain_text("Why")
    section.screenshot(path=str(SHOTS / "dashboard-candidates-section-390.png"))
    page.screenshot(path=str(SHOTS / "dashboard-candidates-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    wrap = section.locator(".table-wrap")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth")
    # One cell per line, each inside the card, none over another.
    card = candidate.bounding_box()
    assert card is not None
    boxes = [
        b for b in (c.bounding_box() for c in candidate.locator("td").all()) if b and b["height"]
    ]
    assert len(boxes) >= 5
    for above, below in zip(boxes, boxes[1:], strict=False):
        assert above["y"] + above["height"] <= below["y"] + 0.5, (above, below)
    for box in boxes:
        assert card["x"] - 0.5 <= box["x"]
        assert box["x"] + box["width"] <= card["x"] + card["width"] + 0.5
    # The header row is not shown; at 1280 px it is, and rows are table rows again.
    head = section.locator("thead").bounding_box()
    assert head is not None
    assert head["height"] <= 1  # read by screen readers, not shown
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(section.get_by_role("columnheader", name="Pain trajectory")).to_be_visible()
    first, second = candidate.locator("td").all()[:2]
    one, two = first.bounding_box(), second.bounding_box()
    assert one is not None
    assert two is not None
    assert abs(one["y"] - two["y"]) < 1  # side by side
    assert csp_violations == []


def test_outsider_cannot_reach_the_patient_by_url(
    page: Page, live_server: Any, panel: dict[str, Any], shot: Any
) -> None:
    base = live_server.url
    sign_in(page, base, "charlie")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    expect(page.get_by_text("Hartmann")).to_have_count(0)
    response = page.goto(f"{base}/patients/{panel['patient'].id}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Greta")).to_have_count(0)
    shot("outsider-404", tablet=False)
