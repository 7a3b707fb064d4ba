"""Web pages found failing under attack (issue 9): a clinic filter naming
someone else's clinic, and a signed-in user who belongs to no clinic."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/worklist.csv",
    "/dashboard/",
    "/dashboard/?fresh=1",
    "/dashboard/indicators/treatment_16w/",
    "/dashboard/indicators/treatment_16w/?format=csv",
    "/patients/",
    "/rules/",
    "/notifications/",
]


def test_the_dashboard_for_a_clinic_not_yours_is_an_empty_page(alice, clinic_b, login):
    client = login(alice)
    response = client.get(f"/dashboard/?clinic={clinic_b.id}")
    assert response.status_code == 200
    assert "Clinic B" not in response.content.decode()
    drill = client.get(f"/dashboard/indicators/treatment_16w/?clinic={clinic_b.id}")
    assert drill.status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_a_user_with_no_clinic_gets_pages_not_errors(page, login):
    loner = UserFactory(username="loner")
    response = login(loner).get(page)
    assert response.status_code == 200, (page, response.status_code)


def test_a_clinic_filter_that_is_not_an_id_is_harmless(alice, login):
    response = login(alice).get("/dashboard/?clinic=%27%20OR%201=1--")
    assert response.status_code == 200
