"""The patient page's V2.4 additions in the browser: recording a date of
death, and an imported prescription marked until someone verifies it, at
1280 px and at a 390 px phone width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SHOTS
from tests.browser.test_web_app import ready, sign_in
from tests.factories import medication_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def snap(page: Page, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)


def test_date_of_death_and_an_unverified_prescription(
    page: Page, live_server: Any, alice: Any, patient: Any, now: Any, csp_violations: list[str]
) -> None:
    from pathways.services.patient_facts import medication_record

    medication_record(
        patient=patient,
        **medication_values({"drug": "alendronate", "start_date": "2006-01-22", "route": "oral"}),
        now=now,
        unverified=True,
    )
    base = live_server.url
    sign_in(page, base, "alice")
    page.goto(f"{base}/patients/{patient.id}/")
    ready(page)
    meds = page.locator("section[aria-labelledby=h-meds]")
    badge = meds.locator("li .badge", has_text="imported, not verified")
    expect(badge).to_be_visible()

    form = page.locator("#form-death")
    form.locator("summary").click()
    form.get_by_label("Date of death").fill("2024-03-03")
    form.get_by_role("button", name="Record").click()
    ready(page)
    expect(page.get_by_text("Date of death recorded.")).to_be_visible()
    died = page.locator(".patient-head li", has_text="Died")
    expect(died).to_have_text("Died 3 March 2024 (aged 78)")

    for width in (1280, 390):
        snap(page, "patient-deceased-unverified", width)
        head = page.locator(".patient-head").bounding_box()
        died_box = died.bounding_box()
        badge_box = badge.bounding_box()
        cell = meds.locator("li", has=page.locator(".badge")).bounding_box()
        assert head
        assert died_box
        assert badge_box
        assert cell
        # The line and the badge sit inside their containers and the page,
        # with no sideways scrolling at phone width.
        assert inside(died_box, head)
        assert inside(badge_box, cell)
        assert died_box["x"] + died_box["width"] <= width
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width

    page.set_viewport_size({"width": 1280, "height": 900})
    verify = page.locator("#form-medication_verify")
    verify.locator("summary").click()
    verify.get_by_label("Imported medication").select_option(label="alendronate since 22 Jan 2006")
    verify.get_by_role("button", name="Record").click()
    ready(page)
    expect(page.get_by_text("Medication alendronate verified recorded.")).to_be_visible()
    expect(page.get_by_text("imported, not verified")).to_have_count(0)
    assert csp_violations == []
