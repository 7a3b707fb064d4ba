"""Web app fixtures: the clock frozen at the suite's NOW, signed-in clients,
and panels of realistic size built with the demo generator + the real sweep."""

from __future__ import annotations

import random
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.factories import NOW


@pytest.fixture(autouse=True)
def frozen_clock() -> Any:
    # Views read timezone.now(); the fixtures' dates are relative to NOW.
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def login() -> Any:
    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def build_panel_for() -> Any:
    """Add ``patients`` demo patients (with facts and evaluated tasks) to a clinic."""
    from pathways.demo import build_panel, save_rows
    from pathways.services import pathway_sweep

    counter = {"n": 0}

    def build(clinic: Any, patients: int, seed: int = 7) -> None:
        counter["n"] += 1
        rows = build_panel(
            clinics=[clinic],
            patients=patients,
            today=NOW.date(),
            now=NOW,
            rng=random.Random(seed),
            max_age_days=500,
            mrn_prefix=f"P{counter['n']}-",
        )
        save_rows(rows, now=NOW)
        pathway_sweep(now=NOW)

    return build
