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

import dataclasses
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


def _sample(field: Any) -> Any:
    """A value the schema allows for a serializer field (None: not the parser's)."""
    from rest_framework import serializers

    from pathways.api.fact_inputs import ObservationValueField

    if field.field_name in ("phone", "phone_alt"):
        return "+49 30 1234-567"  # a string the schema allows is not always a phone number
    if isinstance(field, ObservationValueField):
        return 1  # a number (the first kind, pain_nrs, is numeric)
    if isinstance(field, serializers.ListField):
        item = _sample(field.child)
        return None if item is None else [item]
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices))
    if isinstance(field, serializers.DateField):
        return "2020-01-01"
    if isinstance(field, serializers.BooleanField):
        return True
    if isinstance(field, serializers.IntegerField | serializers.FloatField):
        return field.min_value if field.min_value is not None else 1
    if isinstance(field, serializers.DecimalField):
        return str(field.min_value if field.min_value is not None else 1)
    if isinstance(field, serializers.CharField):
        return "x"
    return None  # a reference the API resolves itself (a UUID)


def _choices(field: Any) -> list[Any]:
    from rest_framework import serializers

    if isinstance(field, serializers.ListField):
        return [[c] for c in _choices(field.child)]
    if isinstance(field, serializers.ChoiceField):
        return [c for c in field.choices if c not in ("", None)]
    return []


def _contracts() -> list[Any]:
    """(the write's input serializer, its parser, the parser checks required fields)."""
    from pathways.api.episodes import EpisodeCloseSerializer, EpisodeUpdateSerializer
    from pathways.api.fact_inputs import (
        ImagingWriteSerializer,
        ObservationWriteSerializer,
        ProcedureWriteSerializer,
    )
    from pathways.api.tasks import (
        TaskAssignSerializer,
        TaskCompleteSerializer,
        TaskNotApplicableSerializer,
        TaskReopenSerializer,
        TaskSnoozeSerializer,
    )
    from pathways.inputs.episodes import parse_close, parse_episode, parse_episode_changes
    from pathways.inputs.facts import parse_imaging, parse_observation, parse_procedure
    from pathways.inputs.tasks import parse_assign, parse_complete, parse_reason, parse_snooze
    from patients.api.facts import BoneDensityWriteSerializer, MedicationWriteSerializer
    from patients.api.patients import PatientCreateSerializer, PatientUpdateSerializer
    from patients.inputs import (
        parse_bone_density,
        parse_medication,
        parse_patient,
        parse_patient_changes,
    )

    return [
        pytest.param(TaskCompleteSerializer, parse_complete, True, id="task-complete"),
        pytest.param(TaskNotApplicableSerializer, parse_reason, True, id="task-not-applicable"),
        pytest.param(TaskSnoozeSerializer, parse_snooze, True, id="task-snooze"),
        pytest.param(TaskReopenSerializer, parse_reason, True, id="task-reopen"),
        pytest.param(TaskAssignSerializer, parse_assign, True, id="task-assign"),
        pytest.param(PatientCreateSerializer, parse_patient, True, id="patient-create"),
        pytest.param(PatientUpdateSerializer, parse_patient_changes, False, id="patient-change"),
        pytest.param(MedicationWriteSerializer, parse_medication, True, id="medication"),
        pytest.param(BoneDensityWriteSerializer, parse_bone_density, True, id="bone-density"),
        pytest.param(ObservationWriteSerializer, parse_observation, True, id="observation"),
        pytest.param(ImagingWriteSerializer, parse_imaging, True, id="imaging"),
        pytest.param(ProcedureWriteSerializer, parse_procedure, True, id="procedure"),
        pytest.param(EpisodeUpdateSerializer, parse_episode, True, id="episode-create"),
        pytest.param(EpisodeUpdateSerializer, parse_episode_changes, False, id="episode-change"),
        pytest.param(EpisodeCloseSerializer, parse_close, True, id="episode-close"),
    ]


@pytest.mark.parametrize(("serializer", "parse", "full"), _contracts())
def test_each_parser_takes_exactly_what_the_schema_shows(serializer, parse, full):
    """The web forms and the FHIR importer call the same parsers as the API:
    a parser takes every field its write's schema names and no other, every
    choice the schema lists and no other, a date where the schema says date,
    and (a full write) misses exactly the fields the schema requires."""
    from rest_framework import serializers

    from vcftrack.core.errors import FieldErrors

    fields = {
        name: field
        for name, field in serializer().fields.items()
        if not field.read_only and _sample(field) is not None
    }
    body = {name: _sample(field) for name, field in fields.items()}

    def errors_of(data: dict[str, Any]) -> dict[str, list[str]]:
        found = FieldErrors()
        parse(data, found)
        return found.errors

    assert errors_of(body) == {}, serializer.__name__
    assert list(errors_of({**body, UNKNOWN: 1})) == [UNKNOWN]
    # Every field it names reaches the service.
    parsed = parse(body, FieldErrors())
    taken = set(vars(parsed)) if dataclasses.is_dataclass(parsed) else set(parsed)
    assert taken == set(fields), serializer.__name__
    for name, field in fields.items():
        for choice in _choices(field):
            assert name not in errors_of({**body, name: choice}), (name, choice)
        if _choices(field):
            bad = [UNKNOWN] if isinstance(field, serializers.ListField) else UNKNOWN
            assert name in errors_of({**body, name: bad}), name
        if isinstance(field, serializers.DateField):
            assert name in errors_of({**body, name: "21/11/2026"}), name
        if full:
            missing = errors_of({k: v for k, v in body.items() if k != name})
            assert (name in missing) == field.required, (name, missing)


def test_the_api_and_the_chart_form_name_a_bad_episode_alike(as_alice, alice, patient, frozen):
    """One parser per write: the REST API and the chart's form refuse the
    same bad episode with the same plain-English messages, and write nothing."""
    from django.test import Client

    from pathways.models import Episode

    bad = {"levels": ["L1"], "onset_date": "2026-12-01", "identified_date": "21/11/2026"}
    api = as_alice.post("/api/v1/episodes/", {"patient": str(patient.id), **bad})
    errors = _errors(api, bulk=False)
    assert set(errors) == {"onset_date", "identified_date"}, errors
    web = Client()
    web.force_login(alice)
    page = web.post(
        f"/patients/{patient.id}/episodes/", {f"episode-{k}": v for k, v in bad.items()}
    )
    assert page.status_code == 422
    html = page.content.decode()
    for messages in errors.values():
        for message in messages:
            assert message in html, message
    assert not Episode.objects.exists()
