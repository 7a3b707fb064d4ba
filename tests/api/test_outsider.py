"""An outsider walks every endpoint of the schema with clinic A's ids and learns nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from pathways.models import Episode, FollowUpTask, Imaging, Observation, Procedure
from patients.models import BoneDensity, Medication, Patient

pytestmark = pytest.mark.django_db

MODELS = (Patient, Episode, Observation, Imaging, Procedure, Medication, BoneDensity, FollowUpTask)


def operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method.upper())
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def fill(path: str, world: Any) -> str:
    by_collection = {
        "clinics": world.clinic,
        "patients": world.patient,
        "episodes": world.episode,
        "observations": world.observation,
        "imaging": world.imaging,
        "procedures": world.procedure,
        "medications": world.medication,
        "bone-density": world.scan,
        "tasks": world.task,
        "webhooks": world.webhook,
    }
    path = path.replace("{patient_pk}", str(world.patient.id))
    path = path.replace("{episode_pk}", str(world.episode.id))
    path = path.replace("{delivery_id}", str(world.delivery.id))
    match = re.search(r"/([a-z-]+)/\{id\}", path)
    if match:
        path = path.replace("{id}", str(by_collection[match.group(1)].pk))
    assert "{" not in path, path
    return path


def a_valid_looking_body(path: str, world: Any) -> dict[str, Any]:
    """Bodies that would succeed for a member, so that only scoping can refuse them."""
    patient, episode = str(world.patient.id), str(world.episode.id)
    if path.endswith("/episodes/bulk/"):
        return {"items": [{"patient": patient, "levels": ["L1"], "onset_date": "2026-11-20"}]}
    if path.endswith("/observations/bulk/"):
        return {
            "items": [
                {"episode": episode, "kind": "pain_nrs", "value": 1, "effective_date": "2026-11-21"}
            ]
        }
    if path.endswith("/imaging/bulk/"):
        return {"items": [{"episode": episode, "modality": "ct", "performed_date": "2026-11-21"}]}
    if path.endswith("/procedures/bulk/"):
        return {"items": [{"episode": episode, "kind": "surgery", "performed_date": "2026-11-21"}]}
    if path.endswith("/webhooks/"):
        return {
            "clinic": str(world.clinic.id),
            "url": "https://example.org/hooks/x",
            "event_types": ["task.created"],
        }
    if path.endswith("/episodes/"):
        return {"patient": patient, "levels": ["L1"], "onset_date": "2026-11-20"}
    if path.endswith("/patients/"):
        return {
            "clinic": str(world.clinic.id),
            "mrn": "X",
            "given_name": "X",
            "family_name": "X",
            "birth_date": "1950-01-01",
        }
    return {"reason": "x", "note": "x", "outcome": "clear", "until": "2026-12-01", "assignee": None}


def snapshot() -> dict[str, Any]:
    return {m.__name__: sorted(m.objects.values_list("pk", "version")) for m in MODELS}


def test_every_endpoint_as_an_outsider(as_charlie, world, frozen):
    before = snapshot()
    a_ids = {str(pk) for m in MODELS for pk in m.objects.values_list("pk", flat=True)}
    a_ids.add(str(world.clinic.id))
    walked = 0
    for template, method in operations():
        path = fill(template, world)
        body = a_valid_looking_body(path, world) if method in ("POST", "PUT", "PATCH") else None
        response = as_charlie.request(method, path, body)
        walked += 1
        text = response.content.decode()
        leaked = [i for i in a_ids if i in text and i not in path]
        assert not leaked, (method, path, text[:300])
        if "{" in template or (method == "POST" and not path.endswith("/bulk/")):
            # An object (or the parent) of clinic A: not found, exactly like a random id.
            assert response.status_code == 404, (method, path, response.status_code, text)
        elif method == "POST":
            # Bulk: every item's reference is "not found".
            assert response.status_code == 400, (method, path, text)
            assert all(
                list(item["errors"]) in (["patient"], ["episode"])
                for item in response.json()["items"]
            )
        else:
            assert response.status_code == 200, (method, path)
            for mode in ({}, {"updated_since": "2000-01-01"}):
                listed = as_charlie.get(path, **mode).json()
                assert all(row["id"] not in a_ids for row in listed["results"]), path
    assert walked >= 40
    assert snapshot() == before


def test_not_found_looks_the_same_for_a_foreign_and_a_missing_object(as_charlie, world, frozen):
    foreign = as_charlie.get(f"/api/v1/episodes/{world.episode.id}/")
    missing = as_charlie.get("/api/v1/episodes/3f2504e0-4f89-41d3-9a0c-0305e82c3301/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
