"""The worklist's pages use the web app's fixtures (frozen clock, signed-in
clients, demo panels)."""

from __future__ import annotations

from tests.web.conftest import build_panel_for, frozen_clock, login

__all__ = ["build_panel_for", "frozen_clock", "login"]
