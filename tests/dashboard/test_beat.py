"""Beat's dashboard upkeep: every scheduled task exists, and the two that
keep the dashboard's stored figures do their work when run."""

from __future__ import annotations

import pytest
from celery import current_app
from django.conf import settings

from pathways.dashboard.facts_table import stale_rows
from pathways.models import CohortFacts, Episode, OpenTaskCount
from tests.factories import NOW


def test_every_beat_entry_names_a_registered_task():
    current_app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in current_app.tasks, name


@pytest.mark.django_db
def test_beat_fills_missing_cohort_facts_and_compacts_the_counts(clinic_a, make_episode):
    from pathways.services import episode_evaluate
    from pathways.tasks import compact_dashboard_counts_task, fill_cohort_facts_task

    episodes = [make_episode() for _ in range(3)]
    for episode in episodes:
        episode_evaluate(episode_id=episode.id, now=NOW)
    CohortFacts.objects.filter(episode=episodes[0]).delete()  # as a crash would leave it
    assert fill_cohort_facts_task() == 1
    assert CohortFacts.objects.filter(episode__in=Episode.objects.alive()).count() == 3
    assert stale_rows() == []
    assert fill_cohort_facts_task() == 0

    # Three episodes identified the same day: their tasks share rule and
    # overdue date, logged once per evaluation, summed into one row each.
    rows = OpenTaskCount.objects.count()
    assert compact_dashboard_counts_task() is True
    keys = list(OpenTaskCount.objects.values_list("clinic_id", "rule", "overdue_from"))
    assert 0 < len(keys) < rows
    assert len(set(keys)) == len(keys)
