"""API test helpers: a JSON client per user, authenticated with a real token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import NOW, dxa_values, fact_values, medication_values
from vcftrack.core.api.services import token_create


class Api:
    """A REST client as a user: JSON in, JSON out, a bearer token."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.key = token_create(user=user, name=f"{user.username} test client", now=NOW).key
        self.client = Client()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        **params: Any,
    ) -> Any:
        extra = {"HTTP_AUTHORIZATION": f"Bearer {self.key}"}
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        if method == "GET":
            return self.client.get(path, params, **extra)
        data: Any = raw if raw is not None else (None if body is None else json.dumps(body))
        call = getattr(self.client, method.lower())
        if data is None:
            return call(path, **extra)
        return call(path, data=data, content_type=content_type, **extra)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, **params)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api_for(db: Any) -> Any:
    return Api


@pytest.fixture
def as_alice(alice: Any) -> Api:
    return Api(alice)


@pytest.fixture
def as_bob(bob: Any) -> Api:
    return Api(bob)


@pytest.fixture
def as_charlie(charlie: Any) -> Api:
    return Api(charlie)


@pytest.fixture
def as_vera(vera: Any) -> Api:
    return Api(vera)


@pytest.fixture
def frozen(now: Any) -> Any:
    """The API reads the clock: freeze it at the fixtures' ``now``."""
    import time_machine

    with time_machine.travel(now, tick=False):
        yield now


@pytest.fixture
def world(
    patient: Any, make_episode: Any, now: Any, django_capture_on_commit_callbacks: Any
) -> Any:
    """One of every kind of object in clinic A (for the outsider walk and schemathesis)."""
    from types import SimpleNamespace

    from pathways.services import fact_record
    from pathways.services.patient_facts import bone_density_record, medication_record

    episode = make_episode()
    with django_capture_on_commit_callbacks(execute=True):
        observation = fact_record(
            episode=episode,
            now=now,
            values=fact_values(
                "observation", {"kind": "pain_nrs", "value": 7, "effective_date": "2026-11-21"}
            ),
        )
        imaging = fact_record(
            episode=episode,
            now=now,
            values=fact_values(
                "imaging", {"modality": "mri", "performed_date": "2026-11-21", "edema": True}
            ),
        )
        procedure = fact_record(
            episode=episode,
            now=now,
            values=fact_values(
                "procedure",
                {"kind": "vertebroplasty", "level": "L1", "performed_date": "2026-11-21"},
            ),
        )
        medication = medication_record(
            patient=patient,
            now=now,
            **medication_values({"drug": "calcium", "start_date": "2026-11-20"}),
        )
        scan = bone_density_record(
            patient=patient,
            now=now,
            **dxa_values({"performed_date": "2026-11-20", "site": "total_hip", "bmd_g_cm2": 0.7}),
        )
    task = episode.tasks.filter(status="open").order_by("rule").first()
    webhook, delivery = _webhook_of(patient.clinic, now)
    return SimpleNamespace(
        webhook=webhook,
        delivery=delivery,
        clinic=patient.clinic,
        patient=patient,
        episode=episode,
        observation=observation,
        imaging=imaging,
        procedure=procedure,
        medication=medication,
        scan=scan,
        task=task,
    )


def _webhook_of(clinic: Any, now: Any) -> tuple[Any, Any]:
    """A webhook subscription of clinic A (another client's) with one delivery."""
    from notifications.models import WebhookDelivery, WebhookSubscription
    from tests.factories import UserFactory

    webhook = WebhookSubscription.objects.create(
        clinic=clinic,
        owner=UserFactory(username="hook-owner"),
        url="https://example.org/hooks/a",
        event_types=["task.created"],
        secret="whsec_a",
        created_at=now,
    )
    delivery = WebhookDelivery.objects.create(
        key="a",
        subscription=webhook,
        event_type="task.created",
        event_key="a",
        payload={},
        created_at=now,
        next_attempt_at=now,
    )
    return webhook, delivery
