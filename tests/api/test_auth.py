"""Authentication: per-client tokens (hashed, shown once, revocable) and sessions."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from vcftrack.core.api.models import ApiToken
from vcftrack.core.api.services import hash_key, token_create

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_in_the_error_format(client):
    response = client.get("/api/v1/patients/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["code"] == "not_authenticated"


def test_a_token_authenticates_and_is_stored_only_as_a_hash(alice, patient, now):
    issued = token_create(user=alice, name="EHR bridge", now=now)
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.key not in (row.prefix, row.key_hash)
    assert row.key_hash == hash_key(issued.key)
    response = Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    assert response.status_code == 200
    assert [p["mrn"] for p in response.json()["results"]] == ["A-0001"]
    row.refresh_from_db()
    assert row.last_used_at is not None
    # The DRF-style keyword works too.
    response = Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer vcf_nope_nope", "Bearer garbage", "Bearer a b", "Bearer"],
)
def test_bad_tokens_are_401(alice, now, header):
    token_create(user=alice, name="x", now=now)
    response = Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_key_with_a_right_prefix_but_wrong_secret_is_refused(alice, now):
    issued = token_create(user=alice, name="x", now=now)
    forged = issued.key[:-4] + "AAAA"
    response = Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401


def test_the_command_creates_shows_once_lists_and_revokes(alice):
    out = StringIO()
    call_command(
        "api_token",
        "create",
        "--user",
        "alice",
        "--name",
        "Registry",
        stdout=out,
        stderr=StringIO(),
    )
    line = out.getvalue().strip()
    key = line.rsplit(" ", 1)[1]
    token = ApiToken.objects.get(name="Registry")
    assert key.startswith(f"vcf_{token.prefix}_")
    assert Client().get("/api/v1/clinics/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200

    listing = StringIO()
    call_command("api_token", "list", stdout=listing)
    assert "Registry" in listing.getvalue()
    assert key not in listing.getvalue()

    call_command("api_token", "revoke", str(token.pk), stdout=StringIO())
    assert Client().get("/api/v1/clinics/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_the_command_refuses_an_unknown_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("api_token", "create", "--user", "nobody", "--name", "x")


def test_the_admin_creates_a_token_and_shows_its_key_once(alice, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    browser = Client()
    browser.force_login(admin_user)
    response = browser.post(
        "/admin/api/apitoken/add/", {"user": alice.pk, "name": "Mobile app"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="Mobile app")
    shown = [str(m) for m in response.context["messages"]]
    key = next(word for m in shown for word in m.split() if word.startswith("vcf_"))
    assert hash_key(key) == token.key_hash
    # The change page never shows it again.
    page = browser.get(f"/admin/api/apitoken/{token.pk}/change/")
    assert key not in page.content.decode()
    # Revoke from the list.
    browser.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_session_auth_serves_the_web_ui(alice, patient):
    browser = Client()
    browser.force_login(alice)
    response = browser.get("/api/v1/patients/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_session_writes_need_the_csrf_token(alice, patient):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.patch(
        f"/api/v1/patients/{patient.id}/",
        data='{"given_name": "X"}',
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/episodes/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
