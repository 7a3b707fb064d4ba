"""GET /api/v1/rules/: the rule catalogue as JSON, for any authenticated caller."""

from __future__ import annotations

import pytest
from django.test import Client

from pathways import catalogue

pytestmark = pytest.mark.django_db


def registry() -> set[tuple[str, str]]:
    return {(rs.version, r.code) for rs in catalogue.registered_rulesets() for r in rs.rules}


def test_anonymous_is_refused():
    response = Client().get("/api/v1/rules/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_every_rule_of_every_version(as_alice, django_assert_max_num_queries):
    # Token and user; the catalogue reads no table.
    with django_assert_max_num_queries(2):
        response = as_alice.get("/api/v1/rules/")
    assert response.status_code == 200
    data = response.json()
    assert {(r["version"], r["code"]) for r in data["results"]} == registry()
    assert data["count"] == len(data["results"]) == len(registry())
    assert (data["next"], data["previous"], data["next_cursor"]) == (None, None, None)
    dxa = next(r for r in data["results"] if (r["version"], r["code"]) == ("v1", "bmd_dxa"))
    assert dxa["offset_months"] == 12
    assert dxa["recurs_months"] == 12
    assert (dxa["scope"], dxa["patient_level"], dxa["priority"]) == ("episode", True, "routine")
    assert dxa["due_text"].startswith("12 months after the last DXA")
    assert dxa["id"] == "v1-bmd_dxa"
    assert dxa["url"] == "http://testserver/rules/#v1-bmd_dxa"
    assert dxa["citations"][0]["guideline"] == (
        "Best treatment for a spine fracture in osteoporosis"
    )
    assert dxa["citations"][0]["problem"] == ""


def test_filter_by_version(as_alice):
    data = as_alice.get("/api/v1/rules/", version="v1").json()
    assert {r["version"] for r in data["results"]} == {"v1"}
    assert data["count"] == len(catalogue.registered_rulesets()[0].rules)


def test_an_unknown_version_is_a_400_naming_the_parameter(as_alice):
    response = as_alice.get("/api/v1/rules/", version="v99")
    assert response.status_code == 400
    assert "'v99' is not a pathway version" in response.json()["errors"]["version"][0]


def test_not_scoped_to_a_clinic(as_alice, as_charlie):
    # Charlie works in clinic B only: the catalogue is the same for everyone.
    assert as_charlie.get("/api/v1/rules/").json() == as_alice.get("/api/v1/rules/").json()


def test_in_the_schema(as_alice):
    schema = as_alice.get("/api/schema/", format="json").json()
    operation = schema["paths"]["/api/v1/rules/"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["version"]
    assert "401" in operation["responses"]
    assert "400" in operation["responses"]
