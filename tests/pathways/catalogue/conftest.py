"""The rule catalogue page uses the web app's fixtures (frozen clock, signed-in
clients)."""

from __future__ import annotations

from tests.web.conftest import frozen_clock, login

__all__ = ["frozen_clock", "login"]
