"""The change history page and "Who looked at this record" in the browser at
1280 and 390 px: visible, nothing overlapping, no horizontal scroll."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pathways.services.patient_facts import patient_update
from tests.browser.conftest import SHOTS
from tests.browser.test_rule_catalogue import no_horizontal_scroll
from tests.browser.test_web_app import sign_in
from tests.factories import patient_changes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def boxes_apart(page: Page, selector: str) -> None:
    """Consecutive items of ``selector`` neither overlap nor leave the window."""
    boxes = [
        b
        for b in page.locator(selector).evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return {x: r.x, y: r.y + window.scrollY, w: r.width, h: r.height}; })"
        )
    ]
    width = page.viewport_size["width"]  # type: ignore[index]
    assert boxes, selector
    for box in boxes:
        assert box["w"] > 0
        assert box["h"] > 0
        assert box["x"] >= 0
        assert box["x"] + box["w"] <= width
    for upper, lower in zip(boxes, boxes[1:], strict=False):
        assert lower["y"] >= upper["y"] + upper["h"] - 0.5, (selector, upper, lower)


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_history_and_who_looked(
    page: Page,
    live_server: Any,
    alice: Any,
    bob: Any,
    patient: Any,
    make_episode: Any,
    now: Any,
    width: int,
    height: int,
    csp_violations: list[str],
) -> None:
    episode = make_episode()
    patient._history_user = alice
    patient_update(
        patient=patient,
        **patient_changes({"phone": "+49 30 1234567", "contact_time": "mornings, before 11"}),
        now=now,
        actor_id=alice.pk,
    )
    base = live_server.url
    page.set_viewport_size({"width": width, "height": height})

    sign_in(page, base, "alice")
    page.goto(f"{base}/patients/{patient.id}/")
    expect(page.get_by_role("heading", name="Greta Hartmann")).to_be_visible()
    # A coordinator has the history link but not the access card.
    expect(page.get_by_role("heading", name="Who looked at this record")).to_have_count(0)
    page.get_by_role("link", name="Change history").click()
    expect(page.get_by_role("heading", name="Change history")).to_be_visible()
    details = page.locator("section.history-section").filter(has_text="The patient's details")
    expect(details).to_contain_text("Alice Coordinator changed")
    expect(details).to_contain_text("Best time to call: — → mornings, before 11")
    no_horizontal_scroll(page)
    boxes_apart(page, "section.history-section")
    boxes_apart(page, "section.history-section >> nth=0 >> li.history-entry")
    page.screenshot(path=str(SHOTS / f"patient-history-{width}.png"), full_page=True)

    page.goto(f"{base}/patients/{patient.id}/episodes/{episode.id}/history/")
    expect(page.get_by_role("heading", name="Change history of episode L1")).to_be_visible()
    no_horizontal_scroll(page)

    page.context.clear_cookies()
    sign_in(page, base, "bob")
    page.goto(f"{base}/patients/{patient.id}/")
    card = page.locator("#access")
    expect(card.get_by_role("heading", name="Who looked at this record")).to_be_visible()
    expect(card).to_contain_text("alice opened the record in the web app")
    expect(card).to_contain_text("alice read the change history in the web app")
    card.scroll_into_view_if_needed()
    no_horizontal_scroll(page)
    boxes_apart(page, "#access li")
    box = card.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    card.screenshot(path=str(SHOTS / f"patient-who-looked-{width}.png"))
    page.screenshot(path=str(SHOTS / f"patient-page-with-audit-{width}.png"), full_page=True)
    link = card.get_by_role("link", name="Access audit for a period")
    link.click()
    expect(page.get_by_role("heading", name="Access audit")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=str(SHOTS / f"access-audit-{width}.png"), full_page=True)
    assert not csp_violations
