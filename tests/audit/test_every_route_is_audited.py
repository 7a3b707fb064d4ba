"""Every route and API operation that touches patient data writes the access
audit; a new one that does not fails here.

The routes come from the URLconf and the operations from the OpenAPI
schema, so nothing is listed by hand except the few that show no patient
data (``NO_PATIENT_DATA``). Each is called as a physician of clinic A on a
world with one of every kind of object; the rows written under the
response's request id must exist, and none may be ``unnoted:`` (the
middleware's mark for a view that showed patient data without saying whose).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from vcftrack.core.audit.admin import PatientDataAdmin
from vcftrack.core.audit.models import AccessRecord

pytestmark = pytest.mark.django_db

# Routes that show no patient data, by URL name, and why. Everything else
# must write the audit.
NO_PATIENT_DATA = {
    "login": "the sign-in page",
    "logout": "signing out",
    "switch_clinic": "the clinic switcher",
    "rule_catalogue": "the rules, the same for everyone",
    "notification_preferences": "one's own notification settings",
    "inbox_read_all": "marks one's notifications read, shows none",
    "api-schema": "the OpenAPI document",
    "api-docs": "the API reference",
    "rule-list": "the rules over the API",
    "clinic-list": "clinics and colleagues",
    "clinic-detail": "clinics and colleagues",
    "webhook-list": "subscriptions: URLs and event types",
    "webhook-detail": "subscriptions: URLs and event types",
    "webhook-rotate-secret": "a subscription's secret",
}


def _routes(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> list[tuple[str, str, str]]:
    """(regex of the whole path, URL name, namespace) of every route but the admin's."""
    out: list[tuple[str, str, str]] = []
    for p in patterns:
        regex = p.pattern.regex.pattern.lstrip("^").rstrip("$").removesuffix("\\Z")
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue
            out.extend(_routes(p.url_patterns, prefix + regex))
        else:
            out.append((prefix + regex, p.name or "", ""))
    return out


def _values(world: Any) -> dict[str, str]:
    return {
        "patient_id": str(world.patient.id),
        "patient_pk": str(world.patient.id),
        "episode_id": str(world.episode.id),
        "episode_pk": str(world.episode.id),
        "task_id": str(world.task.id),
        "fact_id": str(world.observation.id),
        "kind": "observation",
        "form_key": "pain",
        "action": "snooze",
        "code": "dxa_12w",
        "notification_id": "1",
        "delivery_id": str(world.delivery.id),
        "rest": "v1/nothing-here/",
    }


# An object of each router basename, for its {pk} / {id}.
def _objects(world: Any) -> dict[str, Any]:
    return {
        "patient": world.patient,
        "patient-medication": world.medication,
        "medication": world.medication,
        "patient-bone-density": world.scan,
        "bone-density": world.scan,
        "episode": world.episode,
        "episode-observations": world.observation,
        "observations": world.observation,
        "episode-imaging": world.imaging,
        "imaging": world.imaging,
        "episode-procedures": world.procedure,
        "procedures": world.procedure,
        "task": world.task,
        "clinic": world.clinic,
        "webhook": world.webhook,
    }


def _concrete(regex: str, name: str, world: Any) -> str:
    values = _values(world)
    objects = _objects(world)

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in ("pk", "id"):
            # The longest router basename the URL name starts with.
            base = max((b for b in objects if name.startswith(b + "-")), key=len)
            return str(objects[base].pk)
        return values[key]

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", fill, regex)
    path = path.replace("\\.", ".").replace("\\-", "-").replace("\\", "")
    return "/" + path.rstrip("?")


def _rows(response: Any) -> list[AccessRecord]:
    return list(AccessRecord.objects.filter(request_id=response["X-Request-ID"]))


def _body(response: Any) -> bytes:
    if response.streaming:  # an export writes its rows when the file ends
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _check(name: str, method: str, path: str, response: Any, world: Any) -> list[str]:
    body = _body(response)
    rows = _rows(response)
    where = f"{method} {path} ({name or 'unnamed'}) -> {response.status_code}"
    if name in NO_PATIENT_DATA:
        return (
            [f"{where}: wrote audit rows but is listed as showing no patient data"] if rows else []
        )
    if not rows:
        return [f"{where}: wrote no audit row"]
    problems = [
        f"{where}: {r.action} (the view did not note whose data)"
        for r in rows
        if r.action.startswith("unnoted:")
    ]
    shown = world.patient.family_name.encode() in body or str(world.patient.id).encode() in body
    if shown and not any(r.patient_id == world.patient.id for r in rows):
        problems.append(f"{where}: showed the patient but the audit does not name them")
    return problems


def test_every_web_route_and_api_path_writes_the_audit(bob, world, frozen):
    client = Client()
    problems: list[str] = []
    seen = 0
    for regex, name, _ns in _routes(get_resolver().url_patterns):
        path = _concrete(regex, name, world)
        for method in ("GET", "POST"):
            client.force_login(bob)  # signing out is a route too
            call = client.get if method == "GET" else client.post
            response = call(path, HTTP_HX_REQUEST="true")
            seen += 1
            problems += _check(name, method, path, response, world)
    assert seen > 40
    assert not problems, "\n".join(problems)


def test_every_api_operation_writes_the_audit_with_its_client(bob, world, api_for):
    """Each operation of the OpenAPI schema, with a token (deletes last)."""
    api = api_for(bob)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ids = {
        "{patient_pk}": str(world.patient.id),
        "{episode_pk}": str(world.episode.id),
        "{delivery_id}": str(world.delivery.id),
    }
    objects = {
        "/api/v1/patients/{id}": world.patient,
        "/api/v1/patients/{patient_pk}/medications/{id}": world.medication,
        "/api/v1/medications/{id}": world.medication,
        "/api/v1/patients/{patient_pk}/bone-density/{id}": world.scan,
        "/api/v1/bone-density/{id}": world.scan,
        "/api/v1/episodes/{id}": world.episode,
        "/api/v1/episodes/{episode_pk}/observations/{id}": world.observation,
        "/api/v1/observations/{id}": world.observation,
        "/api/v1/episodes/{episode_pk}/imaging/{id}": world.imaging,
        "/api/v1/imaging/{id}": world.imaging,
        "/api/v1/episodes/{episode_pk}/procedures/{id}": world.procedure,
        "/api/v1/procedures/{id}": world.procedure,
        "/api/v1/tasks/{id}": world.task,
        "/api/v1/clinics/{id}": world.clinic,
        "/api/v1/webhooks/{id}": world.webhook,
    }
    operations = [
        (template, method.upper())
        for template, ops in schema["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]
    operations.sort(key=lambda op: op[1] == "DELETE")
    problems: list[str] = []
    for template, method in operations:
        owner = max((k for k in objects if template.startswith(k)), key=len, default="")
        path = template
        for key, value in ids.items():
            path = path.replace(key, value)
        if "{id}" in path:
            path = path.replace("{id}", str(objects[owner].pk))
        response = api.request(method, path, None if method in ("GET", "DELETE") else {})
        name = response.wsgi_request.resolver_match.url_name or ""
        problems += _check(name, method, path, response, world)
        rows = _rows(response)
        if rows and any(
            r.client != f"{bob.username} test client (vcf_{api.key.split('_')[1]}_…)" for r in rows
        ):
            problems.append(f"{method} {path}: the API client is not recorded")
    assert len(operations) > 60
    assert not problems, "\n".join(problems)


def _leads_to_patient(model: Any, depth: int = 0) -> bool:
    from patients.models import Patient

    if model is Patient:
        return True
    if depth > 2:
        return False
    return any(
        f.many_to_one
        and f.related_model is not None
        and _leads_to_patient(f.related_model, depth + 1)
        for f in model._meta.fields
        if f.name in ("patient", "episode", "task")
    )


def test_every_admin_of_patient_data_is_read_only_and_audited(world, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.force_login(root)
    problems: list[str] = []
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if not _leads_to_patient(model):
            continue
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if not isinstance(model_admin, PatientDataAdmin):
            problems.append(f"{label}: its admin is not a PatientDataAdmin")
            continue
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        listing = client.get(base)
        obj = model._default_manager.first()
        pages = [listing] + ([client.get(f"{base}{obj.pk}/change/")] if obj else [])
        for page in pages:
            checked += 1
            rows = _rows(page)
            if page.status_code != 200 or not rows:
                problems.append(f"{label}: {page.wsgi_request.path} wrote no audit row")
        if client.get(f"{base}add/").status_code != 403:
            problems.append(f"{label}: the admin can add rows")
        if obj and client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code != 403:
            problems.append(f"{label}: the admin can delete rows")
    assert checked >= 10
    assert not problems, "\n".join(problems)
    viewed = AccessRecord.objects.filter(action="admin.view", patient_id=world.patient.id)
    assert viewed.exists()


def test_a_new_view_without_audit_fails_this_suite(bob, world, settings):
    """The guard itself: a route that shows a patient and notes nothing is caught."""
    from django.http import JsonResponse
    from django.urls import path

    def leaky(request: Any) -> JsonResponse:
        return JsonResponse({"name": world.patient.family_name})

    urlconf = type("urls", (), {"urlpatterns": [path("leaky/", leaky, name="leaky")]})
    settings.ROOT_URLCONF = urlconf
    client = Client()
    client.force_login(bob)
    response = client.get("/leaky/")
    problems = _check("leaky", "GET", "/leaky/", response, world)
    assert problems == [
        "GET /leaky/ (leaky) -> 200: unnoted:leaky (the view did not note whose data)",
        "GET /leaky/ (leaky) -> 200: showed the patient but the audit does not name them",
    ]
    assert json.loads(response.content) == {"name": "Hartmann"}
