"""The rule catalogue page: every rule of every version, for signed-in users,
in the same words as the API, and the link to it from each task."""

from __future__ import annotations

from html import escape
from types import SimpleNamespace

import pytest

from pathways import catalogue
from pathways.catalogue.words import sentence
from pathways.templatetags.vcftrack_web import task_rule_url

pytestmark = pytest.mark.django_db


def article(html: str, anchor: str) -> str:
    start = html.index(f'<article class="rule-entry card" id="{anchor}"')
    return html[start : html.index("</article>", start)]


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/rules/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/rules/")


def test_the_page_lists_every_rule_of_every_version(alice, login, django_assert_max_num_queries):
    client = login(alice)
    # Session, user, memberships: the catalogue itself reads no table.
    # Session, user, memberships, and the header's unread notifications.
    with django_assert_max_num_queries(4):
        response = client.get("/rules/")
    assert response.status_code == 200
    html = response.content.decode()
    built = catalogue.build_catalogue()
    for rs in catalogue.registered_rulesets():
        assert f'id="version-{rs.version}"' in html
        for rule in rs.rules:
            shown = article(html, f"{rs.version}-{rule.code}")
            assert escape(sentence(rule.title)) in shown
    # Each code answers to #<code> exactly once, on the newest version that has it.
    codes = {e.code for v in built for e in v.rules}
    for code in codes:
        assert html.count(f'id="{code}"') == 1
    assert f'class="rule-alias" id="{built[0].rules[0].code}"' in article(
        html, built[0].rules[0].anchor
    )
    assert 'aria-current="page">Rules</a>' in html


def test_the_page_and_the_api_say_the_same(alice, login):
    client = login(alice)
    html = client.get("/rules/").content.decode()
    data = client.get("/api/v1/rules/").json()
    assert data["count"] == sum(len(rs.rules) for rs in catalogue.registered_rulesets())
    for rule in data["results"]:
        entry = article(html, rule["id"])
        for key in (
            "title",
            "scope_text",
            "group_text",
            "phases_text",
            "trigger",
            "due_text",
            "recurrence_text",
            "window_text",
            "priority_text",
            "grace_text",
            "lead_text",
            "completion_text",
            "guidance",
        ):
            assert escape(rule[key]) in entry, (rule["id"], key)
        for outcome in rule["outcome_texts"]:
            assert escape(outcome) in entry
        for citation in rule["citations"]:
            assert escape(citation["guideline"]) in entry
            for line in citation["lines"]:
                assert escape(line["text"]) in entry
        assert rule["url"].endswith(f"/rules/#{rule['id']}")


def test_each_task_links_to_its_rule_in_the_catalogue(alice, make_episode, login, patient):
    make_episode(onset_date="2026-11-10", identified_date="2026-11-12")
    client = login(alice)
    worklist = client.get("/").content.decode()
    assert 'href="/rules/#v2-red_flag_screen"' in worklist
    assert 'href="/rules/#v2-osteoporosis_rx_start"' in worklist
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'href="/rules/#v2-red_flag_screen"' in page
    rules = client.get("/rules/").content.decode()
    assert 'id="v2-red_flag_screen"' in rules
    assert 'id="v2-osteoporosis_rx_start"' in rules


def test_the_link_follows_the_tasks_rule_set():
    # A task that carries its rule set (pathway version 2) links to that version.
    task = SimpleNamespace(rule_set="v2", rule="bmd_dxa", episode_id=None)
    assert task_rule_url(task) == "/rules/#v2-bmd_dxa"
    # Neither a rule set nor an episode: the newest version's rule.
    orphan = SimpleNamespace(rule="bmd_dxa", episode_id=None)
    assert task_rule_url(orphan) == "/rules/#bmd_dxa"
    episode_task = SimpleNamespace(
        rule="neuro_exam", episode_id=1, episode=SimpleNamespace(pathway_version="v1")
    )
    assert task_rule_url(episode_task) == "/rules/#v1-neuro_exam"
