"""The inbox in the browser at 1280 px and 390 px: header count, groups, mark read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from notifications.models import Notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.mark.parametrize("width", [1280, 390])
def test_inbox_layout_and_mark_read(
    page: Page, live_server: Any, alice: Any, bob: Any, make_episode: Any, width: int
) -> None:
    make_episode(neuro_status="unknown")
    make_episode(
        levels=["T12"],
        neuro_status="unknown",
        onset_date="2026-11-10",
        identified_date="2026-11-11",
    )
    assert Notification.objects.filter(user=alice).count() == 2
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    count = page.locator("#inbox-count")
    expect(count).to_have_text("2")
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"inbox-{width}.png"), full_page=True)

    items = page.locator(".inbox-item")
    expect(items).to_have_count(2)
    group = page.locator(".inbox-group").first.bounding_box()
    assert group is not None
    assert group["x"] >= 0
    assert group["x"] + group["width"] <= width
    for i in range(2):
        box = items.nth(i).bounding_box()
        button = items.nth(i).get_by_role("button", name="Mark as read").bounding_box()
        assert box
        assert button
        # The button sits inside its row, on screen, and is big enough to tap.
        assert box["x"] <= button["x"]
        assert button["x"] + button["width"] <= box["x"] + box["width"] + 1
        assert button["x"] + button["width"] <= width
        assert button["height"] >= 20
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    items.first.get_by_role("button", name="Mark as read").click()
    expect(count).to_have_text("1")
    expect(page.locator(".inbox-unread")).to_have_count(1)
    page.get_by_role("button", name="Mark all as read").click()
    expect(count).to_have_text("0")
    expect(page.locator(".inbox-unread")).to_have_count(0)
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
