"""Sign-in, sign-out, the clinic switcher, and who may see what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from patients.models import Membership
from vcftrack.core.audit.models import AccessRecord

pytestmark = pytest.mark.django_db


def test_pages_need_sign_in():
    client = Client()
    for url in ("/", "/dashboard/", "/patients/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_sign_in_lands_on_the_worklist_and_sign_out_ends_the_session(alice):
    client = Client()
    page = client.get("/accounts/login/")
    assert b'<label for="id_username">Username</label>' in page.content
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert b"<h1>Worklist</h1>" in client.get("/").content
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_says_so(alice):
    response = Client().post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_outsider_gets_404_for_another_clinics_patient(charlie, patient, login):
    response = login(charlie).get(f"/patients/{patient.id}/")
    assert response.status_code == 404
    # The attempt is in the audit, as denied.
    attempt = AccessRecord.objects.get(patient_id=patient.id)
    assert (attempt.actor, attempt.outcome) == ("charlie", 404)


def test_patient_page_view_is_audited(alice, patient, login):
    response = login(alice).get(f"/patients/{patient.id}/")
    assert response.status_code == 200
    event = AccessRecord.objects.get(patient_id=patient.id)
    assert (event.user_id, event.actor, event.action, event.outcome) == (
        alice.pk,
        "alice",
        "patient.view",
        200,
    )
    assert str(event.request_id) == response["X-Request-ID"]
    assert event.ip == "127.0.0.1"


def test_clinic_switcher_limits_the_worklist_to_one_clinic(
    alice, clinic_b, make_episode, login, now
):
    from patients.services import patient_create

    Membership.objects.create(user=alice, clinic=clinic_b, role="coordinator")
    make_episode()  # a patient of clinic A
    other = patient_create(
        clinic=clinic_b,
        mrn="B-1",
        given_name="Berta",
        family_name="Bmann",
        birth_date=dt.date(1950, 1, 1),
        now=now,
    )
    make_episode(patient=other)
    client = login(alice)
    both = client.get("/").content.decode()
    assert "Hartmann" in both
    assert "Bmann" in both
    assert 'id="clinic-switch"' in both
    response = client.post("/accounts/clinic/", {"clinic": str(clinic_b.id), "next": "/?rule=x"})
    assert response["Location"] == "/"
    only_b = client.get("/").content.decode()
    assert "Bmann" in only_b
    assert "Hartmann" not in only_b
    # A clinic the user is not a member of is ignored: back to all clinics.
    client.post("/accounts/clinic/", {"clinic": "00000000-0000-0000-0000-000000000000"})
    assert "Hartmann" in client.get("/").content.decode()


def test_strict_csp_and_no_inline_script_or_style(alice, patient, make_episode, login):
    make_episode()
    client = login(alice)
    for url in ("/", "/dashboard/", f"/patients/{patient.id}/"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        html = response.content.decode()
        # Scripts are files or JSON data blocks; no style attributes or blocks.
        import re

        for tag in re.findall(r"<script[^>]*>", html):
            assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
        assert " style=" not in html
        assert "<style" not in html
        assert "http://" not in html.replace("http://testserver", "")
        assert "https://" not in html


def test_vendor_assets_are_served_from_this_origin(alice, login):
    from django.contrib.staticfiles import finders

    for path in ("vendor/htmx/htmx.min.js", "vendor/chartjs/chart.umd.min.js", "vcftrack/app.css"):
        assert finders.find(path), f"{path} not found: run `npm ci`"
