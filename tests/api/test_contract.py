"""The OpenAPI schema and the validator agree, for every write operation.

Each write's input serializer is its one declaration: the schema is built
from it, and the API's edge check reads the same fields. This walks
``/api/schema/`` and asks the running API, for each write operation:

- every body property the schema names is accepted (not "unknown");
- a field the schema does not name is refused with a 400 naming it;
- a body missing a required field is refused with a 400 naming that field;
- a body with only the required fields does not complain of a missing
  optional one.

Bulk operations are checked through their items (the per-item errors).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

UNKNOWN = "zz_not_a_field"
WRITE_METHODS = ("post", "put", "patch")
# Which object a path parameter names, by the collection before it.
OBJECT_OF = {
    "episodes": "episode",
    "observations": "observation",
    "imaging": "imaging",
    "procedures": "procedure",
    "patients": "patient",
    "medications": "medication",
    "bone-density": "scan",
    "tasks": "task",
    "webhooks": "own_webhook",
    "deliveries": "delivery",
}


def _schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _write_operations() -> list[tuple[str, str]]:
    schema = _schema()
    out = []
    for path, item in schema["paths"].items():
        for method in WRITE_METHODS:
            operation = item.get(method)
            if operation and "application/json" in operation.get("requestBody", {}).get(
                "content", {}
            ):
                out.append((method, path))
    return out


def _body_schema(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return _resolve(schema, body["schema"])


def _url(path: str, world: Any) -> str:
    """The path with each parameter filled with an object of ``world``."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        match = re.fullmatch(r"\{(\w+)\}", part)
        if match:
            collection = parts[index - 1]
            parts[index] = str(getattr(world, OBJECT_OF[collection]).pk)
    return "/".join(parts)


def _value(name: str, prop: dict[str, Any], world: Any) -> Any:
    """A plausible value for a property (it need not pass every check)."""
    references = {"patient": world.patient, "episode": world.episode, "clinic": world.clinic}
    if name in references:
        return str(references[name].pk)
    if name == "assignee":
        return world.user.pk
    if prop.get("enum"):
        return next((v for v in prop["enum"] if v not in ("", None)), prop["enum"][0])
    kind = prop.get("type")
    if prop.get("format") == "date":
        return "2026-11-21"
    if prop.get("format") == "uri":
        return "https://example.org/hooks/contract"
    if kind == "array":
        return [_value(name, prop.get("items", {}), world)]
    if kind == "boolean":
        return True
    if kind in ("number", "integer") or "oneOf" in prop:
        return prop.get("minimum", 1)
    return "x"


def _properties(schema: dict[str, Any], body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: _resolve(schema, prop) for name, prop in body.get("properties", {}).items()}


def _item_schema(schema: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
    """The item of a bulk body (``{"items": [...]}``), else None."""
    props = body.get("properties", {})
    if set(props) != {"items"}:
        return None
    return _resolve(schema, props["items"]["items"])


def _send(api: Any, method: str, url: str, body: dict[str, Any], bulk: bool) -> Any:
    response = api.request(method.upper(), url, {"items": [body]} if bulk else body)
    return response


def _errors(response: Any, bulk: bool) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.content)
    payload = response.json()
    if bulk:
        assert len(payload["items"]) == 1, payload
        errors: dict[str, list[str]] = payload["items"][0]["errors"]
        return errors
    return payload["errors"]  # type: ignore[no-any-return]


# Known disagreements, each a defect to fix where the write lives.
KNOWN: dict[tuple[str, str], str] = {}


@pytest.fixture
def contract_world(world: Any, alice: Any, now: Any) -> Any:
    from notifications.models import WebhookSubscription
    from pathways.services import task_not_applicable

    world.user = alice
    world.own_webhook = WebhookSubscription.objects.create(
        clinic=world.clinic,
        owner=alice,
        url="https://example.org/hooks/alice",
        event_types=["task.created"],
        secret="whsec_alice",
        created_at=now,
    )
    world.close_task = lambda: task_not_applicable(
        task=world.task, actor=alice, reason="contract", now=now
    )
    return world


def _operations() -> list[Any]:
    return [
        pytest.param(method, path, marks=pytest.mark.xfail(reason=KNOWN[method, path], strict=True))
        if (method, path) in KNOWN
        else pytest.param(method, path)
        for method, path in _write_operations()
    ]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_schema_and_validator_agree(as_alice, contract_world, frozen, method, path):
    schema = _schema()
    body = _body_schema(schema, method, path)
    item = _item_schema(schema, body)
    bulk = item is not None
    contract = item if item is not None else body
    props = _properties(schema, contract)
    required = set(contract.get("required", []))
    assert required <= set(props), path
    if path.endswith("/reopen/"):
        # A task a person closed, so that reopening it is a question of the body.
        contract_world.close_task()
    url = _url(path, contract_world)
    full = {name: _value(name, prop, contract_world) for name, prop in props.items()}

    # A field the schema does not name is refused, by name; every field it
    # names is accepted.
    errors = _errors(_send(as_alice, method, url, {**full, UNKNOWN: 1}, bulk), bulk)
    assert UNKNOWN in errors, (path, errors)
    for name in props:
        assert "Unknown or read-only field." not in errors.get(name, []), (path, name)

    # Each required field, left out, is named.
    for name in sorted(required):
        partial = {k: v for k, v in full.items() if k != name}
        errors = _errors(_send(as_alice, method, url, {**partial, UNKNOWN: 1}, bulk), bulk)
        assert name in errors, (path, name, errors)

    # The required fields alone: no optional field is missed. (Last: the
    # write may succeed.)
    only_required = {k: v for k, v in full.items() if k in required}
    response = _send(as_alice, method, url, only_required, bulk)
    if response.status_code == 400:
        missed = set(_errors(response, bulk)) & (set(props) - required)
        messages = {name: _errors(response, bulk)[name] for name in missed}
        assert not any("This field is required." in m for m in messages.values()), (
            path,
            messages,
        )


def test_the_services_field_tables_are_the_contracts_fields():
    """The services refuse unknown fields when called directly (web forms,
    FHIR importer); their tables name exactly the fields the schema does."""
    from pathways.api.episodes import EpisodeUpdateSerializer
    from pathways.api.fact_inputs import (
        ImagingWriteSerializer,
        ObservationWriteSerializer,
        ProcedureWriteSerializer,
    )
    from pathways.services.episodes import EPISODE_FIELDS
    from pathways.services.facts import FACT_FIELDS
    from patients.api.facts import BoneDensityWriteSerializer, MedicationWriteSerializer
    from patients.api.patients import PatientUpdateSerializer
    from patients.services import DXA_FIELDS, MEDICATION_FIELDS, PATIENT_FIELDS
    from vcftrack.core.api.serializers import writable_fields

    pairs = [
        (EpisodeUpdateSerializer, EPISODE_FIELDS),
        (ObservationWriteSerializer, FACT_FIELDS["observation"]),
        (ImagingWriteSerializer, FACT_FIELDS["imaging"]),
        (ProcedureWriteSerializer, FACT_FIELDS["procedure"]),
        (PatientUpdateSerializer, PATIENT_FIELDS),
        (MedicationWriteSerializer, MEDICATION_FIELDS),
        (BoneDensityWriteSerializer, DXA_FIELDS),
    ]
    for serializer, table in pairs:
        assert set(writable_fields(serializer)) == set(table), serializer.__name__
