"""The patient's bone-health programme on the worklist: its rows are labelled as
the patient's, and their reasons name dates as the patient page does
(pathway-spec V2.1)."""

from __future__ import annotations

import pytest

from pathways.models import FollowUpTask
from tests.factories import fact_values

pytestmark = pytest.mark.django_db


def test_worklist_labels_programme_rows_as_the_patients(alice, make_episode, login):
    make_episode(onset_date="2026-11-10", identified_date="2026-11-12")
    html = login(alice).get("/").content.decode()
    row_start = html.index('">Falls risk assessment and prevention</span>')
    row = html[html.rindex("<article", 0, row_start) : html.index("</article>", row_start)]
    assert '<span class="cell cell-levels">Programme</span>' in row
    mobilise = html.index('">Mobilise: avoid prolonged bed rest</span>')
    episode_row = html[html.rindex("<article", 0, mobilise) : mobilise]
    assert "L1" in episode_row


@pytest.mark.django_db(transaction=True)  # the web re-evaluates after commit
def test_the_reasons_on_a_row_name_dates_as_the_page_does(alice, patient, make_episode, login, now):
    from pathways.services import fact_record, task_complete

    episode = make_episode(onset_date="2026-10-25", identified_date="2026-10-26")
    screen = FollowUpTask.objects.get(episode=episode, rule="red_flag_screen")
    task_complete(task=screen, actor=alice, outcome="clear", now=now)
    fact_record(
        episode=episode,
        values=fact_values(
            "observation", {"kind": "pain_nrs", "value": 7, "effective_date": "2026-11-17"}
        ),
        now=now,
    )
    client = login(alice)
    client.post(
        f"/patients/{patient.id}/facts/pain/",
        {"pain-episode": str(episode.id), "pain-value": "8", "pain-effective_date": "2026-11-20"},
    )
    html = client.get("/?rule=augmentation_consider_early").content.decode()
    assert "persistent severe pain: scores of 7 or more on 17 Nov 2026 and 20 Nov 2026" in html
    assert "2026-11-17" not in html
    # Guideline references read as the guideline's name and its lines.
    assert "<cite>Treatment of vertebral compression fractures (line 53)</cite>" in html
    assert "Guideline 0" not in html
