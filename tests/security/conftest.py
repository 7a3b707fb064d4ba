"""The API suite's helpers and its world (one of every kind of object in clinic A)."""

from __future__ import annotations

from tests.api.conftest import Api, as_alice, frozen, world  # noqa: F401
