"""Due-task notifications and the daily digest: once each, whatever the retries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from notifications.models import DigestLog, Notification
from notifications.services import notify_due_tasks, send_daily_digest
from pathways.models import FollowUpTask

pytestmark = pytest.mark.django_db


def test_coordinators_are_notified_once_of_due_and_overdue_tasks(alice, bob, make_episode, now):
    episode = make_episode(onset_date="2026-10-01", identified_date="2026-10-02")
    overdue = FollowUpTask.objects.in_state("overdue", now.date()).filter(episode=episode)
    assert overdue.exists()

    first = notify_due_tasks(now=now)
    second = notify_due_tasks(now=now)  # a retried or doubled beat

    assert first > 0
    assert second == 0
    # Unassigned tasks go to the clinic's coordinators, not to its physician.
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"alice"}
    assert Notification.objects.filter(kind="task_overdue").count() == overdue.count()


def test_an_assigned_task_notifies_its_assignee_only(alice, bob, make_episode, now):
    episode = make_episode(onset_date="2026-10-01", identified_date="2026-10-02")
    mine = FollowUpTask.objects.filter(patient_id=episode.patient_id)
    task = mine.in_state("overdue", now.date()).first()
    mine.exclude(pk=task.pk).update(
        status="done", closed_at=now
    )
    FollowUpTask.objects.filter(pk=task.pk).update(assignee=bob)

    notify_due_tasks(now=now)

    assert list(Notification.objects.values_list("user__username", "task_id")) == [("bob", task.pk)]


def test_daily_digest_is_sent_once_per_user_and_day(alice, make_episode, now):
    make_episode(onset_date="2026-10-01", identified_date="2026-10-02")

    assert send_daily_digest(now=now) == 1
    assert send_daily_digest(now=now + dt.timedelta(hours=2)) == 0

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.org"]
    log = DigestLog.objects.get()
    assert log.overdue > 0
    assert mail.outbox[0].subject == f"vcftrack: {log.overdue} overdue, {log.due} due today"
