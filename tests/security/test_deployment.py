"""Deployment settings from the environment and ``Cache-Control: no-store``
on every answer carrying patient data (issue 9)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import NOW
from vcftrack.core.api.services import token_create

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "VCFTRACK_TLS", "DJANGO_ALLOW_ASYNC"))
    }
    environ.update(
        {
            "DEBUG": "false",
            "ALLOWED_HOSTS": "vcftrack.example.org",
            "SECRET_KEY": secrets.token_urlsafe(50),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_when_served_over_https():
    result = _check_deploy(VCFTRACK_TLS="true")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_names_what_is_missing_without_tls():
    result = _check_deploy(VCFTRACK_TLS="false", SESSION_COOKIE_SECURE="false")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "SECURE_HSTS_SECONDS" in out
    assert "SECURE_SSL_REDIRECT" in out


def test_a_malformed_proxy_header_is_a_loud_configuration_error():
    result = _check_deploy(VCFTRACK_TLS="true", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must look like" in result.stderr


def _no_store(response) -> None:
    assert "no-store" in response.get("Cache-Control", ""), (
        response.status_code,
        response.get("Cache-Control"),
    )


@pytest.mark.django_db
def test_every_answer_with_patient_data_is_no_store(alice, patient, make_episode):
    import time_machine

    with time_machine.travel(NOW, tick=False):
        episode = make_episode()
        web = Client()
        web.force_login(alice)
        for url in (
            "/",
            "/worklist.csv",
            "/patients/",
            f"/patients/{patient.id}/",
            "/dashboard/",
            "/dashboard/indicators/treatment_16w/?format=csv",
        ):
            response = web.get(url)
            assert response.status_code == 200, url
            _no_store(response)
        _no_store(web.get("/", HTTP_HX_REQUEST="true"))
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=alice, name='c', now=NOW).key}")
        for url in (
            f"/api/v1/patients/{patient.id}/",
            "/api/v1/tasks/",
            f"/api/v1/episodes/{episode.id}/fhir/",
            "/api/v1/nothing/",
        ):
            _no_store(api.get(url))
        _no_store(Client().get("/api/v1/patients/"))  # a 401 too


@pytest.mark.django_db
def test_static_files_stay_cacheable():
    response = Client().get("/static/vcftrack/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
