"""Webhooks in one process: subscriptions, signatures, retries, log, replay, SSRF guard."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.dispatch import dispatch_outbox
from notifications.models import WebhookAllowedUrl, WebhookDelivery
from notifications.webhooks import verify
from pathways.services.patient_facts import patient_update
from tests.factories import patient_changes

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP receiver: answers the queued codes, then 200; keeps what it got."""

    def __init__(self, codes: list[int] | None = None) -> None:
        self.codes = list(codes or [])
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/vcf"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    r = Receiver([500, 503])
    yield r
    r.close()


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


def subscribe(api, clinic, url, types=("patient.updated",)):
    WebhookAllowedUrl.objects.get_or_create(clinic=clinic, url_prefix=url.rsplit("/", 1)[0] + "/")
    return api.post(
        "/api/v1/webhooks/",
        {"clinic": clinic.code, "url": url, "event_types": list(types)},
        format="json",
    )


def test_a_signed_delivery_retries_with_backoff_and_is_logged(
    api, alice, clinic_a, patient, receiver, now
):
    created = subscribe(api, clinic_a, receiver.url)
    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    sub_id = created.json()["id"]
    assert "secret" not in api.get(f"/api/v1/webhooks/{sub_id}/").json()

    patient_update(patient=patient, **patient_changes({"family_name": "Hart"}), now=now)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert receiver.received == []

    assert dispatch_outbox(now=now).deliveries_failed == 1  # 500
    assert dispatch_outbox(now=now + dt.timedelta(seconds=5)).deliveries_failed == 0  # not due
    assert dispatch_outbox(now=now + dt.timedelta(seconds=10)).deliveries_failed == 1  # 503
    assert dispatch_outbox(now=now + dt.timedelta(seconds=29)).deliveries_sent == 0  # 20 s later
    assert dispatch_outbox(now=now + dt.timedelta(seconds=30)).deliveries_sent == 1

    assert len(receiver.received) == 3
    ids = {headers["Vcftrack-Delivery"] for headers, _ in receiver.received}
    assert ids == {str(delivery.pk)}  # one delivery id across retries
    headers, body = receiver.received[-1]
    stamp = int(headers["Vcftrack-Signature"].split(",")[0][2:])
    assert verify(secret, headers["Vcftrack-Signature"], body, now=stamp)
    assert not verify("whsec_wrong", headers["Vcftrack-Signature"], body, now=stamp)
    payload = json.loads(body)
    assert payload["type"] == "patient.updated"
    assert payload["clinic"] == "clinic-a"
    assert payload["data"] == {"patient": str(patient.pk), "fields": ["family_name"]}
    assert "Hart" not in body.decode()
    assert "A-0001" not in body.decode()

    log = api.get(f"/api/v1/webhooks/{sub_id}/deliveries/").json()["results"]
    assert [a["status_code"] for a in log[0]["log"]] == [500, 503, 200]
    assert log[0]["status"] == "sent"
    assert log[0]["last_latency_ms"] is not None


def test_replay_and_rotation_sign_with_both_secrets(api, clinic_a, patient, receiver, now):
    receiver.codes = []
    created = subscribe(api, clinic_a, receiver.url).json()
    old = created["secret"]
    patient_update(patient=patient, **patient_changes({"given_name": "G"}), now=now)
    dispatch_outbox(now=now)
    rotated = api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret/").json()
    assert rotated["secret"] != old

    delivery = WebhookDelivery.objects.get()
    replay = api.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery.pk}/replay/")
    assert replay.status_code == 200
    assert replay.json()["status"] == "pending"
    dispatch_outbox(now=timezone.now())  # the replay is due at once

    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    stamp = int(headers["Vcftrack-Signature"].split(",")[0][2:])
    assert verify(old, headers["Vcftrack-Signature"], body, now=stamp)
    assert verify(rotated["secret"], headers["Vcftrack-Signature"], body, now=stamp)


def test_only_allowed_public_urls_are_accepted(api, clinic_a, settings, alice):
    settings.WEBHOOK_ALLOW_HTTP = True
    not_listed = api.post(
        "/api/v1/webhooks/",
        {"clinic": "clinic-a", "url": "https://example.org/x", "event_types": ["task.created"]},
        format="json",
    )
    assert not_listed.status_code == 400
    assert "allowed webhook addresses" in not_listed.json()["errors"]["url"][0]

    for url in ("http://127.0.0.1:9/hooks/x", "http://10.1.2.3/hooks/x", "http://[::1]/hooks/x"):
        listed = subscribe(api, clinic_a, url, ["task.created"])
        assert listed.status_code == 400, url
        assert "private or local" in listed.json()["errors"]["url"][0]

    bad_type = subscribe(api, clinic_a, "https://example.org/hooks/x", ["task.deleted"])
    assert bad_type.status_code == 400
    assert any(k.startswith("event_types") for k in bad_type.json()["errors"])


def test_another_clients_subscription_is_not_found(api, clinic_a, receiver, bob):
    sub = subscribe(api, clinic_a, receiver.url).json()
    other = APIClient()
    other.force_authenticate(bob)
    assert other.get(f"/api/v1/webhooks/{sub['id']}/").status_code == 404
    assert other.get(f"/api/v1/webhooks/{sub['id']}/deliveries/").status_code == 404
    assert other.get("/api/v1/webhooks/").json()["results"] == []


def test_delivery_log_query_budget(
    api, clinic_a, patient, receiver, now, django_assert_max_num_queries
):
    sub = subscribe(api, clinic_a, receiver.url).json()
    for i in range(5):
        patient_update(patient=patient, **patient_changes({"given_name": f"G{i}"}), now=now)
    dispatch_outbox(now=now)
    with django_assert_max_num_queries(5):
        response = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries/")
    assert len(response.json()["results"]) == 5


@pytest.mark.parametrize(
    "url", ["https://example.org:99999/hooks/x", "https://[::1/hooks/x", "ftp://x/y"]
)
def test_a_malformed_url_is_a_400_naming_the_field(api, clinic_a, url):
    response = api.post(
        "/api/v1/webhooks/",
        {"clinic": "clinic-a", "url": url, "event_types": ["task.created"]},
        format="json",
    )
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


def test_the_clinic_may_be_left_out_when_only_one_clinic_can_be_chosen(
    alice, clinic_a, clinic_b, receiver
):
    from django.contrib.auth import get_user_model

    from tests.factories import MembershipFactory

    def post(body):
        client = APIClient()  # a fresh user: its clinics are read again
        client.force_authenticate(get_user_model().objects.get(pk=alice.pk))
        return client.post("/api/v1/webhooks/", body, format="json")

    prefix = receiver.url.rsplit("/", 1)[0] + "/"
    WebhookAllowedUrl.objects.create(clinic=clinic_a, url_prefix=prefix)
    WebhookAllowedUrl.objects.create(clinic=clinic_b, url_prefix=prefix)
    body = {"url": receiver.url, "event_types": ["task.created"]}
    created = post(body)
    assert created.status_code == 201, created.json()
    assert created.json()["clinic"] == "clinic-a"

    # A viewer in a second clinic still adds webhooks in one clinic only.
    MembershipFactory(user=alice, clinic=clinic_b, role="viewer")
    created = post({**body, "clinic": None})
    assert created.status_code == 201, created.json()
    assert created.json()["clinic"] == "clinic-a"

    # Able to add them in two clinics: the API does not guess which.
    alice.memberships.filter(clinic=clinic_b).update(role="coordinator")
    refused = post(body)
    assert refused.status_code == 400
    assert refused.json()["errors"]["clinic"] == [
        "This field is required (you can add webhooks in more than one clinic)."
    ]
    named = post({**body, "clinic": "clinic-b"})
    assert named.status_code == 201, named.json()
    assert named.json()["clinic"] == "clinic-b"


def test_a_bad_body_names_every_bad_field_at_once(api, clinic_a):
    response = api.post(
        "/api/v1/webhooks/", {"zz": 1, "url": "not a url", "clinic": "clinic-a"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"zz", "url", "event_types"}
