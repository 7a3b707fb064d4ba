"""Every listing issues a fixed number of queries, whatever the page size."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pathways.services import episode_create, fact_record
from pathways.services.patient_facts import bone_density_record, medication_record
from patients.services import patient_create
from tests.factories import dxa_values, fact_values, medication_values

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/patients/",
    "/api/v1/episodes/",
    "/api/v1/tasks/",
    "/api/v1/observations/",
    "/api/v1/imaging/",
    "/api/v1/procedures/",
    "/api/v1/medications/",
    "/api/v1/bone-density/",
    "/api/v1/clinics/",
    "/api/v1/episodes/{episode}/observations/",
    "/api/v1/patients/{patient}/medications/",
]
# Auth (token + user), memberships, count, page; tasks add the clinics' dates,
# clinics prefetch members; nested routes load their parent.
BUDGET = 6
SERIAL = itertools.count()


def grow(clinic, now, count, django_capture_on_commit_callbacks):
    first = None
    for _ in range(count):
        patient = patient_create(
            clinic=clinic,
            mrn=f"Q{next(SERIAL):04d}",
            given_name="Q",
            family_name="Q",
            birth_date=dt.date(1950, 1, 1),
            now=now,
        )
        episode = episode_create(
            patient=patient, now=now, levels=["L1"], onset_date=dt.date(2026, 11, 18)
        )
        with django_capture_on_commit_callbacks(execute=True):
            fact_record(
                episode=episode,
                now=now,
                values=fact_values(
                    "observation", {"kind": "pain_nrs", "value": 5, "effective_date": "2026-11-21"}
                ),
            )
            fact_record(
                episode=episode,
                now=now,
                values=fact_values("imaging", {"modality": "xray", "performed_date": "2026-11-21"}),
            )
            fact_record(
                episode=episode,
                now=now,
                values=fact_values(
                    "procedure", {"kind": "nerve_root_block", "performed_date": "2026-11-21"}
                ),
            )
            medication_record(
                patient=patient,
                now=now,
                **medication_values({"drug": "calcium", "start_date": "2026-11-20"}),
            )
            bone_density_record(
                patient=patient,
                now=now,
                **dxa_values(
                    {"performed_date": "2026-11-20", "site": "total_hip", "bmd_g_cm2": 0.8}
                ),
            )
        first = first or (patient, episode)
    return first


def count_queries(api, url, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url, **params)
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("template", LISTS)
@pytest.mark.parametrize("mode", [{}, {"updated_since": "2000-01-01"}], ids=["page", "sync"])
def test_queries_do_not_grow_with_the_page(
    as_alice,
    clinic_a,
    now,
    frozen,
    template,
    mode,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    if template.endswith("clinics/") and mode:
        pytest.skip("clinics are not a sync feed")
    patient, episode = grow(clinic_a, now, 1, django_capture_on_commit_callbacks)
    url = template.format(patient=patient.id, episode=episode.id)
    as_alice.get(url)  # warm the token's last_used_at write
    small, small_rows = count_queries(as_alice, url, page_size=1, **mode)
    # More rows on the same parent (nested) and across the clinic (flat).
    grow(clinic_a, now, 4, django_capture_on_commit_callbacks)
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            fact_record(
                episode=episode,
                now=now,
                values=fact_values(
                    "observation", {"kind": "odi", "value": 40, "effective_date": "2026-11-21"}
                ),
            )
            medication_record(
                patient=patient,
                now=now,
                **medication_values({"drug": "vitamin_d", "start_date": "2026-11-20"}),
            )
    big, big_rows = count_queries(as_alice, url, page_size=100, **mode)
    assert big_rows > small_rows or template.endswith("clinics/")
    assert big == small
    with django_assert_max_num_queries(BUDGET):
        as_alice.get(url, page_size=100, **mode)


def test_a_long_task_page_costs_what_a_short_one_does(
    as_alice,
    clinic_a,
    now,
    frozen,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    grow(clinic_a, now, 1, django_capture_on_commit_callbacks)
    as_alice.get("/api/v1/tasks/")
    short, _ = count_queries(as_alice, "/api/v1/tasks/", page_size=1, state="due")
    for i in range(1, 6):
        patient = patient_create(
            clinic=clinic_a,
            mrn=f"Z{i}",
            given_name="Z",
            family_name="Z",
            birth_date=dt.date(1950, 1, 1),
            now=now,
        )
        episode_create(patient=patient, now=now, levels=["L2"], onset_date=dt.date(2026, 11, 18))
    long, rows = count_queries(as_alice, "/api/v1/tasks/", page_size=500, state="due")
    assert rows > 20
    assert long == short
    with django_assert_max_num_queries(BUDGET):
        as_alice.get("/api/v1/tasks/", page_size=500, state="due")
