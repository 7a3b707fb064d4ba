"""Playwright (pytest-playwright) driving Debian's chromium against live_server.

Screenshots go to test-artifacts/screenshots/ (gitignored) at 1280 px (laptop)
and 768 px (tablet). The clock is frozen at the suite's NOW (ticking), in
this process, which is also the live server's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tests.factories import NOW

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    # CI sets VCFTRACK_REQUIRE_BROWSER=1: a missing browser fails, never skips.
    if shutil.which(CHROMIUM) is None and os.environ.get("VCFTRACK_REQUIRE_BROWSER") != "1":
        skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}


@pytest.fixture(autouse=True)
def ticking_clock(settings: Any) -> Any:
    # Session and CSRF cookies without an absolute expiry: the browser's own
    # clock is not frozen and must not expire them.
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    settings.CSRF_COOKIE_AGE = None
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def shot(page: Any) -> Any:
    """Save a full-page screenshot at 1280 px and at 768 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, tablet: bool = True) -> None:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
        if tablet:
            page.set_viewport_size({"width": 768, "height": 1024})
            page.screenshot(path=str(SHOTS / f"{name}-768.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})

    return take


@pytest.fixture
def csp_violations(page: Any) -> list[str]:
    """Content-Security-Policy violations seen by the page (must stay empty).

    The listener is injected by Playwright (outside the page's CSP) and
    names the directive and the element, so a failure says what broke.
    """
    seen: list[str] = []
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.log("
        "'CSP-VIOLATION', e.violatedDirective, e.blockedURI, "
        "e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : ''))"
    )
    page.on(
        "console",
        lambda msg: (
            seen.append(f"{page.url}: {msg.text}")
            if msg.text.startswith("CSP-VIOLATION") or "Content Security Policy" in msg.text
            else None
        ),
    )
    return seen
