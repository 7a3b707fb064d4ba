"""The authorization matrix (issue 9): every route of the URLconf and every
operation of the OpenAPI schema, called as each kind of caller, answers as
``authz_matrix.txt`` says. A new route fails ``test_every_route_is_in_the_table``
until its row (printed by the failure) is reviewed and added."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from notifications.models import Notification
from tests.factories import NOW, UserFactory
from tests.security import authz
from vcftrack.core.api.services import token_create

pytestmark = pytest.mark.django_db

# AUTHZ_MATRIX_DRAFT=/tmp/rows.txt writes today's answers as table rows (review them!).
DRAFT = os.environ.get("AUTHZ_MATRIX_DRAFT", "")


def test_every_route_is_in_the_table():
    table = authz.read_table()
    keys = authz.all_keys()
    missing = [k for k in keys if k not in table]
    stale = [k for k in table if k not in keys]
    assert not missing, "Routes missing from authz_matrix.txt (review, then add):\n" + "\n".join(
        f"{route} {method}" for route, method in missing
    )
    assert not stale, f"Rows for routes that no longer exist: {stale}"


def _callers(alice, bob, vera, charlie, nobody, key) -> dict[str, Client]:
    def session(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return {
        "anon": Client(),
        "viewer": session(vera),
        "coord": session(alice),
        "phys": session(bob),
        "api": Client(HTTP_AUTHORIZATION=f"Bearer {key}"),
        "other": session(charlie),
        "none": session(nobody),
    }


def _values(world: Any, alice: Any) -> tuple[dict[str, str], dict[str, str]]:
    notification = Notification.objects.create(
        user=alice,
        task=world.task,
        patient=world.patient,
        kind=Notification._meta.get_field("kind").choices[0][0],
        key="matrix",
        created_at=NOW,
    )
    values = {
        "patient_pk": str(world.patient.pk),
        "episode_pk": str(world.episode.pk),
        "episode_id": str(world.episode.pk),
        "delivery_id": str(world.delivery.pk),
        "patient_id": str(world.patient.pk),
        "task_id": str(world.task.pk),
        "fact_id": str(world.observation.pk),
        "form_key": "pain",
        "kind": "observation",
        "action": "snooze",
        "code": "treatment_16w",
        "notification_id": str(notification.pk),
    }
    collections = {
        "clinics": str(world.clinic.pk),
        "patients": str(world.patient.pk),
        "episodes": str(world.episode.pk),
        "observations": str(world.observation.pk),
        "imaging": str(world.imaging.pk),
        "procedures": str(world.procedure.pk),
        "medications": str(world.medication.pk),
        "bone-density": str(world.scan.pk),
        "tasks": str(world.task.pk),
        "webhooks": str(world.webhook.pk),
    }
    return values, collections


def _call(client: Client, method: str, path: str) -> str:
    # Each call in a savepoint rolled back: a DELETE by one caller must not
    # turn the next caller's answer into a 404.
    with transaction.atomic():
        if method == "GET":
            response = client.get(path)
        else:
            response = getattr(client, method.lower())(
                path, data="{}", content_type="application/json"
            )
        transaction.set_rollback(True)
    return authz.outcome(response)


def test_the_matrix_is_as_expected(world, alice, bob, vera, charlie, frozen):
    table = authz.read_table()
    values, collections = _values(world, alice)
    nobody = UserFactory(username="nobody")
    key = token_create(user=alice, name="matrix", now=NOW).key
    differences: list[str] = []
    cells = 0
    draft: list[str] = []
    for route, method in authz.all_keys():
        if (route, method) not in table and not DRAFT:
            continue  # reported by test_every_route_is_in_the_table
        paths = (
            [
                r
                for r in authz.admin_routes()
                # The admin's own sign-in and sign-out pages are open to all.
                if "<" not in r and "(?P" not in r and r not in authz.ADMIN_OPEN
            ]
            if route == authz.ADMIN
            else [authz.fill(route, values, collections)]
        )
        for path in paths:
            # Fresh sessions for each call: signing out must not sign out the next row.
            callers = _callers(alice, bob, vera, charlie, nobody, key)
            actual = {role: _call(client, method, path) for role, client in callers.items()}
            cells += len(actual)
            if path == paths[0]:
                draft.append(authz.format_row(route, method, actual))
            if actual != table.get((route, method)):
                differences.append(authz.format_row(route, method, actual) + f"    # {path}")
    if DRAFT:
        # A draft of the table from today's answers, to review line by line.
        Path(DRAFT).write_text("\n".join(draft) + "\n")
    assert cells > 500
    assert not differences, "Answers that differ from authz_matrix.txt:\n" + "\n".join(differences)


def test_the_table_never_lets_an_outsider_or_anonymous_in():
    """Read the table itself: whatever it says, some cells are never allowed."""
    public = {"/accounts/login/", "/api/schema/", "/api/docs/"}
    for (route, method), words in authz.read_table().items():
        if route not in public and not (route == "/accounts/logout/" and method == "POST"):
            assert words["anon"] in ("login", "405", "hidden"), (route, method)
        if re.search(r"\{(id|patient_pk|episode_pk)\}|<uuid:", route):  # clinic A's object
            if not route.startswith("/notifications/"):
                assert words["other"] in ("hidden", "deny", "405"), (route, method)
                assert words["none"] in ("hidden", "deny", "405"), (route, method)
        if method in ("POST", "PUT", "PATCH", "DELETE") and route.startswith("/api/v1/"):
            if "webhooks" not in route:
                assert words["viewer"] in ("deny", "hidden", "405", "bad"), (route, method)
