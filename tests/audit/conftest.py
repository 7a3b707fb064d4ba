"""The audit tests use the API suite's clients and its one-of-everything world."""

from __future__ import annotations

from tests.api.conftest import Api, api_for, as_alice, as_bob, as_vera, frozen, world  # noqa: F401
from tests.web.conftest import frozen_clock, login  # noqa: F401
