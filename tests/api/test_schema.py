"""The OpenAPI schema: generated with warnings as errors, and fuzzed by schemathesis.

schemathesis runs in-process against the WSGI app, authenticated as a
coordinator of clinic A, on every operation, with the checks
``not_a_server_error`` and ``response_schema_conformance``. Half the cases
use the ids of real objects of clinic A (so writes really happen), half the
generated ones (so 404s and bad ids are covered too).

Every operation runs; how many examples each gets is
``VCFTRACK_SCHEMATHESIS_EXAMPLES``: 3 by default (a quick local run), 10 in CI
(``.ci/run``).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from vcftrack.core.api.services import token_create

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    assert "/api/v1/tasks/{id}/snooze/" in text
    assert "Idempotency-Key" in text
    assert "If-Match" in text


def load_schema() -> Any:
    """The schema as the API serves it, bound to the WSGI app (no network)."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    from vcftrack.wsgi import application

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = application
    return loaded


schema = load_schema()
COUNTER = itertools.count()


def aim_at_real_objects(case: Any, world: Any) -> None:
    """On every other case, point the ids at clinic A's objects."""
    if next(COUNTER) % 2:
        return
    by_collection = {
        "clinics": world.clinic.pk,
        "patients": world.patient.pk,
        "episodes": world.episode.pk,
        "observations": world.observation.pk,
        "imaging": world.imaging.pk,
        "procedures": world.procedure.pk,
        "medications": world.medication.pk,
        "bone-density": world.scan.pk,
        "tasks": world.task.pk,
        "webhooks": world.webhook.pk,
    }
    params = case.path_parameters or {}
    if "patient_pk" in params:
        params["patient_pk"] = str(world.patient.pk)
    if "episode_pk" in params:
        params["episode_pk"] = str(world.episode.pk)
    if "delivery_id" in params:
        params["delivery_id"] = str(world.delivery.pk)
    if "id" in params:
        collection = case.path.split("/{id}")[0].rsplit("/", 1)[-1]
        params["id"] = str(by_collection[collection])
    body = case.body
    if isinstance(body, dict):
        if "patient" in body:
            body["patient"] = str(world.patient.pk)
        items = body.get("items")
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    item.update(
                        {k: str(getattr(world, k).pk) for k in ("patient", "episode") if k in item}
                    )


@pytest.fixture
def keep_the_test_connection() -> Any:
    """Like Django's test client: the WSGI app must not close the test transaction's
    connection when a request finishes (it would on PostgreSQL)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


EXAMPLES = int(os.environ.get("VCFTRACK_SCHEMATHESIS_EXAMPLES", "3"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_fuzzed(
    case: Any, world: Any, alice: Any, now: Any, keep_the_test_connection: Any
) -> None:
    key = token_create(user=alice, name="schemathesis", now=now).key
    aim_at_real_objects(case, world)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {key}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
