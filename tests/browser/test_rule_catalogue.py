"""The rule catalogue in the browser at 1280 and 390 px: no horizontal scroll,
the rule named by the URL fragment in view, and a task's link lands on it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pathways import catalogue
from tests.browser.conftest import SHOTS
from tests.browser.test_web_app import ready, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px window"


def in_view(page: Page, selector: str) -> dict[str, float]:
    """The element's box, asserting that its heading is in the window: at the
    top, or lower only when the page cannot scroll further (the last rules)."""
    expect(page.locator(f"{selector} h4")).to_be_in_viewport()
    box = page.locator(selector).bounding_box()
    assert box is not None
    height = page.viewport_size["height"]  # type: ignore[index]
    at_bottom = page.evaluate(
        "Math.ceil(window.scrollY + window.innerHeight) >= document.documentElement.scrollHeight"
    )
    assert 0 <= box["y"] < (height - 40 if at_bottom else 40), (
        f"{selector} at y={box['y']} in a {height} px window"
    )
    return box


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_fragment_lands_on_its_rule(
    page: Page,
    live_server: Any,
    alice: Any,
    width: int,
    height: int,
    csp_violations: list[str],
) -> None:
    base = live_server.url
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, base, "alice")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()

    page.goto(f"{base}/rules/#v1-bmd_dxa")
    expect(page.get_by_role("heading", name="Rule catalogue")).to_be_visible()
    box = in_view(page, "#v1-bmd_dxa")
    no_horizontal_scroll(page)
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    dxa = page.locator("#v1-bmd_dxa")
    expect(dxa.get_by_role("heading", name=re.compile("Yearly bone density"))).to_be_visible()
    expect(dxa).to_contain_text("12 months after the last DXA")
    expect(dxa).to_contain_text("Best treatment for a spine fracture in osteoporosis")
    # The facts read as label beside value on a laptop, label above value on a phone.
    dt = dxa.locator("dt").first.bounding_box()
    dd = dxa.locator("dd").first.bounding_box()
    assert dt is not None
    assert dd is not None
    if width >= 1000:
        assert dd["x"] > dt["x"] + dt["width"]
        assert abs(dd["y"] - dt["y"]) < 4
    else:
        assert abs(dd["x"] - dt["x"]) < 2
        assert dd["y"] >= dt["y"] + dt["height"] - 1
    page.screenshot(path=str(SHOTS / f"rules-dxa-{width}.png"))

    # #<code> alone: the newest version's rule.
    newest = catalogue.build_catalogue()[0]
    page.goto(f"{base}/rules/#new_fracture_screen_12m")
    holder = next(
        e.anchor
        for v in catalogue.build_catalogue()
        for e in v.rules
        if e.code == "new_fracture_screen_12m" and e.newest
    )
    in_view(page, f"#{holder}")
    page.goto(f"{base}/rules/#{newest.rules[0].code}")
    in_view(page, f"#{newest.rules[0].anchor}")
    no_horizontal_scroll(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"rules-full-{width}.png"), full_page=True)
    assert csp_violations == []


def test_a_tasks_why_link_opens_its_rule(
    page: Page, live_server: Any, alice: Any, make_episode: Any
) -> None:
    make_episode(onset_date="2026-11-10", identified_date="2026-11-12")
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, base, "alice")
    ready(page)
    task = page.locator("article.task").filter(has_text="Screen red flags")
    task.locator("summary", has_text="Why is this here?").click()
    task.get_by_role("link", name=re.compile("How this rule works")).click()
    # A new episode is on the current pathway version, so the link opens v2's rule.
    expect(page).to_have_url(f"{base}/rules/#v2-red_flag_screen")
    in_view(page, "#v2-red_flag_screen")
    expect(page.locator("#v2-red_flag_screen")).to_contain_text("Screen red flags")
    no_horizontal_scroll(page)
    page.screenshot(path=str(SHOTS / "rules-from-task-390.png"))
