"""Bad input gets a 400 naming every bad field, in the one error format; never a 500."""

from __future__ import annotations

import pytest

from patients.models import Patient

pytestmark = pytest.mark.django_db

PATIENT = {"mrn": "A-7", "given_name": "A", "family_name": "B", "birth_date": "1950-01-01"}


def assert_error(response, status, fields=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"status", "code", "detail", "errors"}
    assert body["status"] == status
    if fields is not None:
        assert set(body["errors"]) == set(fields), body["errors"]
    return body


def test_malformed_json(as_alice, frozen):
    body = assert_error(as_alice.post("/api/v1/patients/", raw="{not json"), 400, ["body"])
    assert body["code"] == "parse_error"


@pytest.mark.parametrize("raw", ["[]", '"text"', "42", "null"])
def test_a_body_that_is_not_an_object(as_alice, frozen, raw):
    assert_error(as_alice.post("/api/v1/patients/", raw=raw), 400, ["body"])


def test_not_json_at_all_is_415(as_alice, frozen):
    response = as_alice.post("/api/v1/patients/", raw="mrn=1", content_type="text/plain")
    assert_error(response, 415)


def test_nan_is_not_json(as_alice, make_episode, frozen):
    episode = make_episode()
    response = as_alice.post(
        f"/api/v1/episodes/{episode.id}/observations/",
        raw='{"kind": "pain_nrs", "value": NaN, "effective_date": "2026-11-21"}',
    )
    assert_error(response, 400)


def test_wrong_types_everywhere(as_alice, patient, frozen):
    response = as_alice.post(
        "/api/v1/episodes/",
        {
            "patient": str(patient.id),
            "levels": "not-a-list-of-levels",
            "onset_date": 20261118,
            "identified_date": ["2026-11-20"],
            "etiology": {"a": 1},
            "neuro_status": None,
        },
    )
    # neuro_status null means "unknown" (the default).
    assert_error(response, 400, ["levels", "onset_date", "identified_date", "etiology"])


def test_strings_the_database_could_not_store(as_alice, frozen):
    response = as_alice.post(
        "/api/v1/patients/",
        {**PATIENT, "given_name": "nul\x00byte", "family_name": "lone \ud800 surrogate"},
    )
    assert_error(response, 400, ["given_name", "family_name"])
    assert Patient.objects.count() == 0


def test_numbers_out_of_range(as_alice, make_episode, frozen):
    episode = make_episode()
    url = f"/api/v1/episodes/{episode.id}/observations/"
    for value in (10**400, -1, 1e308, 10.5):
        response = as_alice.post(
            url, raw=f'{{"kind": "pain_nrs", "value": {value}, "effective_date": "2026-11-21"}}'
        )
        assert_error(response, 400, ["value"])


def test_over_long_strings(as_alice, patient, frozen):
    response = as_alice.patch(
        f"/api/v1/patients/{patient.id}/", {"mrn": "m" * 65, "family_name": "f" * 101}
    )
    assert_error(response, 400, ["mrn", "family_name"])


def test_dates_in_the_future_or_in_the_wrong_order(as_alice, patient, frozen):
    response = as_alice.post(
        "/api/v1/episodes/",
        {
            "patient": str(patient.id),
            "levels": ["L1"],
            "onset_date": "2026-11-20",
            "identified_date": "2026-11-10",
        },
    )
    assert_error(response, 400, ["identified_date"])
    response = as_alice.post(
        f"/api/v1/patients/{patient.id}/medications/",
        {"drug": "denosumab", "start_date": "2026-12-24", "stop_date": "2026-01-01"},
    )
    assert_error(response, 400, ["start_date", "stop_date"])


def test_unknown_enum_values(as_alice, patient, frozen):
    response = as_alice.post(
        f"/api/v1/patients/{patient.id}/medications/",
        {"drug": "aspirin", "start_date": "2026-11-01", "route": "ear"},
    )
    assert_error(response, 400, ["drug", "route"])


def test_bad_query_parameters(as_alice, frozen):
    assert_error(as_alice.get("/api/v1/episodes/", page="0"), 400, ["page"])
    assert_error(as_alice.get("/api/v1/episodes/", page_size="5000"), 400, ["page_size"])
    assert_error(as_alice.get("/api/v1/episodes/", patient="nope"), 400, ["patient"])
    assert_error(as_alice.get("/api/v1/tasks/", rule="a\x00b"), 400, ["rule"])
    assert_error(as_alice.get("/api/v1/tasks/", assignee="99999999999999999999"), 400, ["assignee"])
    assert_error(
        as_alice.get("/api/v1/tasks/", updated_since="0001-01-01T00:00:00+05:00"),
        400,
        ["updated_since"],
    )


def test_malformed_ids_in_the_path_are_404(as_alice, frozen):
    assert_error(as_alice.get("/api/v1/patients/not-a-uuid/"), 404)
    assert_error(as_alice.get("/api/v1/episodes/00000000-0000-0000-0000-000000000000/"), 404)


def test_a_method_the_resource_does_not_have_is_405(as_alice, patient, frozen):
    response = as_alice.delete("/api/v1/patients/")
    body = assert_error(response, 405)
    assert body["code"] == "method_not_allowed"


def test_not_acceptable_is_406(as_alice, frozen):
    response = as_alice.client.get(
        "/api/v1/patients/",
        HTTP_ACCEPT="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {as_alice.key}",
    )
    assert response.status_code == 406


def test_ancient_dates_are_refused_before_they_reach_the_engine(as_alice, patient, frozen):
    response = as_alice.post(
        "/api/v1/episodes/",
        {
            "patient": str(patient.id),
            "levels": ["L1"],
            "onset_date": "0001-01-01",
            "identified_date": "0001-01-02",
        },
    )
    assert_error(response, 400, ["onset_date", "identified_date"])


def test_a_forged_cursor_with_a_huge_number_is_400(as_alice, frozen):
    import base64
    import json

    raw = json.dumps({"v": 1, "s": 10**30, "k": "x"}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert_error(as_alice.get("/api/v1/episodes/", cursor=cursor), 400, ["cursor"])
