"""Sign-in lockout, password rules, session limits, API tokens' expiry and
API throttling (issue 9: 300 wrong passwords then the right one signed in;
sessions lasted 14 days; tokens never expired; no API throttling)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from pathways.demo import DEMO_PASSWORD
from tests.factories import NOW
from vcftrack.core.api.models import ApiToken
from vcftrack.core.api.services import token_create

pytestmark = pytest.mark.django_db

RIGHT = "correct horse battery"  # tests.factories.UserFactory's password


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


# ------------------------------------------------------------- lockout --
def test_wrong_passwords_lock_the_account_even_for_the_right_one(alice, settings):
    client = Client()
    statuses = [
        sign_in(client, "alice", "wrong guess").status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    # The form again with its error, until the limit locks the account.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    locked = sign_in(client, "alice", RIGHT)
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many wrong passwords" in text
    assert "15 minutes" in text
    assert "_auth_user_id" not in client.session
    # Another machine (a fresh client, another address) is locked out too:
    # the count is in the database, shared by every web process.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert sign_in(other, "alice", RIGHT).status_code == 429


def test_the_lockout_ends_after_the_cool_off(alice, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong guess")
    with time_machine.travel(timedelta(minutes=settings.AXES_COOLOFF_MINUTES + 1)):
        response = sign_in(Client(), "alice", RIGHT)
    assert response.status_code == 302


def test_a_lockout_of_one_account_leaves_the_others_alone(alice, bob, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong guess")
    assert sign_in(Client(), "bob", RIGHT).status_code == 302


def test_a_success_resets_the_count(alice, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "alice", "wrong guess")
    assert sign_in(Client(), "alice", RIGHT).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "alice", "wrong guess")
    assert sign_in(Client(), "alice", RIGHT).status_code == 302


# ----------------------------------------------------------- passwords --
@pytest.mark.parametrize("weak", ["password", "12345678", "qwertyuiop", "87654321"])
def test_common_and_numeric_passwords_are_refused(weak):
    with pytest.raises(ValidationError):
        validate_password(weak)


@pytest.mark.parametrize("good", [DEMO_PASSWORD, RIGHT])
def test_the_demo_and_test_passwords_still_pass(good):
    validate_password(good)


# ------------------------------------------------------------ sessions --
def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_thirty_minutes_without_a_request_sign_you_out(alice):
    with time_machine.travel(NOW, tick=False) as clock:
        client = _signed_in(alice)
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        # Activity keeps the session open: 29 more minutes after the last request.
        clock.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        page = client.get(response["Location"]).content.decode()
        assert "signed out after 30 minutes without activity" in page


def test_a_session_ends_twelve_hours_after_sign_in_even_when_active(alice):
    with time_machine.travel(NOW, tick=False) as clock:
        client = _signed_in(alice)
        client.get("/")
        for _ in range(12 * 4):
            clock.shift(timedelta(minutes=15))
            response = client.get("/notifications/")
        assert response.status_code == 302
        page = client.get("/accounts/login/").content.decode()
        assert "more than 12 hours ago" in page


def test_an_htmx_request_after_the_idle_limit_gets_the_signed_out_401(alice):
    with time_machine.travel(NOW, tick=False) as clock:
        client = _signed_in(alice)
        client.get("/")
        clock.shift(timedelta(minutes=31))
        response = client.get("/", HTTP_HX_REQUEST="true")
        assert response.status_code == 401


def test_the_api_with_an_expired_session_is_a_json_401(alice):
    with time_machine.travel(NOW, tick=False) as clock:
        client = _signed_in(alice)
        assert client.get("/api/v1/patients/").status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get("/api/v1/patients/")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


# ---------------------------------------------------------- API tokens --
def test_a_token_expires_and_is_then_a_json_401(alice):
    issued = token_create(user=alice, name="EHR bridge", now=NOW, lifetime_days=30)
    assert issued.token.expires_at == NOW + timedelta(days=30)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    with time_machine.travel(NOW + timedelta(days=29), tick=False):
        assert client.get("/api/v1/clinics/").status_code == 200
    with time_machine.travel(NOW + timedelta(days=30, seconds=1), tick=False):
        response = client.get("/api/v1/clinics/")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert "expired" in body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_tokens_last_ninety_days_by_default_and_record_their_last_use(alice):
    issued = token_create(user=alice, name="Registry", now=NOW)
    assert issued.token.expires_at == NOW + timedelta(days=90)
    assert issued.token.last_used_at is None
    used_at = NOW + timedelta(days=3)
    with time_machine.travel(used_at, tick=False):
        Client(HTTP_AUTHORIZATION=f"Bearer {issued.key}").get("/api/v1/clinics/")
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == used_at


def test_a_token_lifetime_out_of_range_is_refused(alice):
    with pytest.raises(ValidationError) as caught:
        token_create(user=alice, name="x", now=NOW, lifetime_days=0)
    assert "lifetime_days" in caught.value.message_dict


# ---------------------------------------------------------- throttling --
def test_a_token_over_its_rate_gets_429_with_retry_after(alice, settings):
    settings.API_RATE_PER_TOKEN = "3/min"
    key = token_create(user=alice, name="busy client", now=NOW).key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    with time_machine.travel(NOW, tick=False):
        statuses = [client.get("/api/v1/clinics/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = client.get("/api/v1/clinics/")
        assert response.json()["code"] == "throttled"
        assert 1 <= int(response["Retry-After"]) <= 60
        # Another token of the same user has its own allowance.
        other = token_create(user=alice, name="second client", now=NOW).key
        assert (
            Client(HTTP_AUTHORIZATION=f"Bearer {other}").get("/api/v1/clinics/").status_code == 200
        )
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert client.get("/api/v1/clinics/").status_code == 200


def test_a_user_over_the_rate_across_tokens_and_session_gets_429(alice, settings):
    settings.API_RATE_PER_USER = "4/min"
    keys = [token_create(user=alice, name=f"client {i}", now=NOW).key for i in range(2)]
    clients = [Client(HTTP_AUTHORIZATION=f"Bearer {k}") for k in keys] + [_signed_in(alice)]
    with time_machine.travel(NOW, tick=False):
        statuses = [clients[i % 3].get("/api/v1/clinics/").status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_one_user_throttled_leaves_another_alone(alice, bob, settings):
    settings.API_RATE_PER_USER = "2/min"
    a = _signed_in(alice)
    b = _signed_in(bob)
    with time_machine.travel(NOW, tick=False):
        assert [a.get("/api/v1/clinics/").status_code for _ in range(3)] == [200, 200, 429]
        assert b.get("/api/v1/clinics/").status_code == 200
