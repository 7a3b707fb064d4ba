"""The in-app inbox: grouped by patient, unread count in the header, mark read."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications.models import Notification, Preference
from tests.factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def urgent(alice, bob, make_episode):
    """Two patients' urgent neuro exams: each notifies alice and bob."""
    from patients.services import patient_create

    make_episode(neuro_status="unknown")
    otto = patient_create(
        clinic=alice.memberships.get().clinic,
        mrn="A-0002",
        given_name="Otto",
        family_name="Roth",
        birth_date=dt.date(1939, 7, 1),
        sex="male",
        now=NOW,
    )
    make_episode(patient=otto, neuro_status="unknown")
    return otto


def test_inbox_groups_by_patient_and_counts_unread(
    alice, urgent, login, django_assert_max_num_queries
):
    client = login(alice)
    # Session, user, memberships, the unread count, the notifications.
    with django_assert_max_num_queries(6):
        response = client.get("/notifications/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="card inbox-group"') == 2
    assert "Hartmann, Greta" in html
    assert "Roth, Otto" in html
    assert 'aria-label="2 unread"' in html


def test_mark_read_with_htmx_and_mark_all(alice, bob, urgent, login):
    client = login(alice)
    first = Notification.objects.filter(user=alice).first()
    response = client.post(f"/notifications/{first.pk}/read/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'aria-label="1 unread"' in response.content.decode()  # the header, out of band
    assert Notification.objects.filter(user=alice, read_at__isnull=True).count() == 1
    # bob's notification is not alice's to read.
    bobs = Notification.objects.filter(user=bob).first()
    assert client.post(f"/notifications/{bobs.pk}/read/", HTTP_HX_REQUEST="true").status_code == 404

    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=bob, read_at__isnull=True).count() == 2
    assert 'aria-label="0 unread"' in client.get("/").content.decode()


def test_preferences_form(alice, login):
    client = login(alice)
    response = client.post(
        "/notifications/preferences/",
        {
            "in_app": "on",
            "email": "on",
            "muted_kinds": ["assigned"],
            "digest": "on",
            "digest_hour": "6",
        },
    )
    assert response.status_code == 302
    pref = Preference.objects.get(user=alice)
    assert (pref.email, pref.muted_kinds, pref.digest_hour) == (True, ["assigned"], 6)
    refused = client.post(
        "/notifications/preferences/", {"muted_kinds": ["urgent"], "digest_hour": "6"}
    )
    assert refused.status_code == 200
    assert "is not one of the available choices" in refused.content.decode()
