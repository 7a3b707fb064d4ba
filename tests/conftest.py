"""Shared fixtures: three users like healthchecks' alice/bob/charlie.

- alice: coordinator of clinic A
- bob: physician of clinic A
- charlie: coordinator of clinic B (the outsider for clinic A)
- vera: viewer of clinic A (reads only)
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from django.db import connection

from tests.factories import NOW, ClinicFactory, MembershipFactory, UserFactory

# live_server + Playwright run Django's ORM from the test thread of an
# asyncio-aware library; Django's guard is for real async contexts.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from django.conf import settings

    is_pg = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    # CI sets VCFTRACK_REQUIRE_BROWSER: there a missing browser is a failure,
    # on a laptop without Debian's chromium the browser tests are skipped.
    has_browser = os.path.exists("/usr/bin/chromium") or bool(
        os.environ.get("VCFTRACK_REQUIRE_BROWSER")
    )
    skip_browser = pytest.mark.skip(reason="needs Debian's chromium at /usr/bin/chromium")
    for item in items:
        if "postgres" in item.keywords and not is_pg:
            item.add_marker(skip_pg)
        if "browser" in item.keywords and not has_browser:
            item.add_marker(skip_browser)


@pytest.fixture(autouse=True)
def _own_throttle_counters(settings: Any) -> None:
    """Each test counts API requests in its own key space: the counters live
    in a cache shared by processes (Redis in CI), and ids repeat across runs."""
    import uuid

    settings.API_THROTTLE_KEY_PREFIX = uuid.uuid4().hex


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def today() -> dt.date:
    # The clinics in the fixtures are in Europe/Berlin: 09:00 UTC is 10:00 there.
    return NOW.date()


@pytest.fixture
def clinic_a(db: Any) -> Any:
    return ClinicFactory(code="clinic-a", name="Clinic A")


@pytest.fixture
def clinic_b(db: Any) -> Any:
    return ClinicFactory(code="clinic-b", name="Clinic B")


@pytest.fixture
def alice(clinic_a: Any) -> Any:
    user = UserFactory(username="alice", first_name="Alice", last_name="Coordinator")
    MembershipFactory(user=user, clinic=clinic_a, role="coordinator")
    return user


@pytest.fixture
def bob(clinic_a: Any) -> Any:
    user = UserFactory(username="bob", first_name="Bob", last_name="Physician")
    MembershipFactory(user=user, clinic=clinic_a, role="physician")
    return user


@pytest.fixture
def charlie(clinic_b: Any) -> Any:
    user = UserFactory(username="charlie", first_name="Charlie", last_name="Outsider")
    MembershipFactory(user=user, clinic=clinic_b, role="coordinator")
    return user


@pytest.fixture
def vera(clinic_a: Any) -> Any:
    user = UserFactory(username="vera", first_name="Vera", last_name="Viewer")
    MembershipFactory(user=user, clinic=clinic_a, role="viewer")
    return user


@pytest.fixture
def patient(clinic_a: Any, now: dt.datetime) -> Any:
    from patients.services import patient_create

    return patient_create(
        clinic=clinic_a,
        mrn="A-0001",
        given_name="Greta",
        family_name="Hartmann",
        birth_date=dt.date(1946, 3, 2),
        sex="female",
        now=now,
    )


@pytest.fixture
def make_episode(patient: Any, now: dt.datetime, request: Any) -> Any:
    """Create an episode through the service (evaluated at once).

    New episodes get the current pathway version; a module marked
    ``pathway_v1`` pins version 1's episode semantics (v1 episodes keep their
    version until migrated, so that path stays tested)."""
    from pathways.inputs.episodes import parse_episode
    from pathways.services import episode_create
    from vcftrack.core.errors import FieldErrors

    pinned = "v1" if request.node.get_closest_marker("pathway_v1") else None

    def make(**data: Any) -> Any:
        data.setdefault("pathway_version", pinned)
        data.setdefault("levels", ["L1"])
        data.setdefault("onset_date", "2026-11-18")
        data.setdefault("identified_date", "2026-11-20")
        data.setdefault("etiology", "osteoporotic")
        data.setdefault("neuro_status", "intact")
        on_patient = data.pop("patient", patient)
        at = data.pop("now", now)
        version = data.pop("pathway_version", None)
        # The parser every door uses: a bad value is named as the API would.
        found = FieldErrors()
        values = parse_episode(data, found)
        return episode_create(
            patient=on_patient, **values, now=at, pathway_version=version, errors=found
        )

    return make


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
