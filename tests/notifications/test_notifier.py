"""Notifications end to end in one process: who is told, once, through the outbox."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications.digest import send_digests
from notifications.dispatch import dispatch_outbox
from notifications.models import DigestLog, Escalation, Notification, OutgoingEmail, Preference
from notifications.services import escalate_overdue, notify_overdue, preference_update
from pathways.models import FollowUpTask
from pathways.services import episode_evaluate, task_assign
from patients.models import Membership

pytestmark = pytest.mark.django_db


def kinds(user) -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(user=user).values_list("kind", "task__rule"))


def test_an_urgent_task_tells_the_clinics_coordinators_and_physicians_once(
    alice, bob, vera, charlie, make_episode, now
):
    episode = make_episode(neuro_status="unknown")
    assert FollowUpTask.objects.get(episode=episode, rule="neuro_exam").status == "open"
    episode_evaluate(episode_id=episode.id, now=now + dt.timedelta(hours=1))

    assert kinds(alice) == [("urgent", "neuro_exam")]
    assert kinds(bob) == [("urgent", "neuro_exam")]
    assert kinds(vera) == []
    assert kinds(charlie) == []


def test_unassigned_overdue_work_is_not_fanned_out(alice, bob, make_episode, now):
    make_episode(onset_date="2026-09-01", identified_date="2026-09-02")
    assert FollowUpTask.objects.in_state("overdue", now.date()).count() > 3

    assert notify_overdue(now=now) == 0
    assert Notification.objects.exclude(kind="urgent").count() == 0


def test_assigning_tells_the_assignee_and_overdue_tells_them_once(alice, bob, make_episode, now):
    make_episode(onset_date="2026-09-01", identified_date="2026-09-02")
    task = FollowUpTask.objects.in_state("overdue", now.date()).exclude(priority="urgent").first()
    task_assign(task=task, actor=alice, assignee=bob.pk, now=now)
    task_assign(task=task, actor=alice, assignee=alice.pk, now=now)  # took it herself

    assert notify_overdue(now=now) == 1
    assert notify_overdue(now=now) == 0
    assert ("assigned", task.rule) in kinds(bob)
    assert ("assigned", task.rule) not in kinds(alice)
    # The task is alice's now: she is told it is overdue, bob is not.
    assert ("overdue", task.rule) in kinds(alice)
    assert ("overdue", task.rule) not in kinds(bob)


def test_escalation_rules_once_per_task_and_level(alice, bob, make_episode, now):
    Membership.objects.filter(user=alice).update(lead=True)
    make_episode(onset_date="2026-09-01", identified_date="2026-09-02", neuro_status="unknown")
    today = now.date()
    overdue = FollowUpTask.objects.in_state("overdue", today)
    urgent = overdue.filter(priority="urgent").count()
    high = overdue.filter(priority="high", due_date__lte=today - dt.timedelta(days=7)).count()
    routine = overdue.filter(
        priority="routine", due_date__lte=today - dt.timedelta(days=30)
    ).count()
    assert urgent
    assert high
    assert routine

    first = escalate_overdue(now=now)
    second = escalate_overdue(now=now + dt.timedelta(hours=1))

    assert first == urgent + high + routine
    assert second == 0
    assert Escalation.objects.filter(level=1, target="physicians").count() == urgent
    assert Escalation.objects.filter(level=2, target="lead_coordinator").count() == high
    assert Escalation.objects.filter(level=3, target="digest").count() == routine
    assert Notification.objects.filter(user=bob, kind="escalated").count() == urgent
    assert Notification.objects.filter(user=alice, kind="escalated").count() == high


def test_muting_is_refused_for_urgent_and_obeyed_for_the_rest(alice, bob, make_episode, now):
    with pytest.raises(ValidationError) as exc:
        preference_update(user=bob, data={"muted_kinds": ["urgent"], "in_app": True})
    assert "muted_kinds" in exc.value.message_dict
    preference_update(
        user=bob, data={"muted_kinds": ["assigned"], "in_app": True, "digest_hour": 7}
    )
    make_episode(onset_date="2026-09-01", identified_date="2026-09-02", neuro_status="unknown")
    task = FollowUpTask.objects.filter(status="open", priority="routine").first()
    task_assign(task=task, actor=alice, assignee=bob.pk, now=now)

    assert ("assigned", task.rule) not in kinds(bob)
    assert ("urgent", "neuro_exam") in kinds(bob)


def test_email_channel_goes_through_the_outbox_and_is_sent_once(alice, bob, make_episode, now):
    Preference.objects.create(user=bob, in_app=True, email=True)
    make_episode(neuro_status="unknown")
    row = OutgoingEmail.objects.get(user=bob)
    assert row.status == "pending"
    assert len(mail.outbox) == 0

    assert dispatch_outbox(now=now).emails_sent == 1
    assert dispatch_outbox(now=now + dt.timedelta(minutes=5)).emails_sent == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@example.org"]
    assert "Greta Hartmann" in mail.outbox[0].body
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{row.pk}@vcftrack>"


def test_digest_lists_the_actual_tasks_once_a_day_and_nothing_when_empty(
    alice, bob, charlie, make_episode, now
):
    make_episode(onset_date="2026-09-01", identified_date="2026-09-02")
    escalate_overdue(now=now)
    assert send_digests(now=now) == 1  # alice: the clinic's unassigned work
    assert send_digests(now=now + dt.timedelta(hours=3)) == 0
    dispatch_outbox(now=now)

    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert "Greta Hartmann" in message.body
    assert "days overdue" in message.body
    assert "Escalated: routine tasks a month or more overdue" in message.body
    assert "/patients/" in html
    assert "<table" in html
    # bob (physician, nothing assigned) and charlie (empty clinic): logged, no mail.
    assert DigestLog.objects.filter(user=bob, tasks=0).exists()
    assert DigestLog.objects.filter(user=charlie, tasks=0).exists()


def test_digest_waits_for_the_persons_hour_in_the_clinics_zone(alice, make_episode, now):
    make_episode(onset_date="2026-09-01", identified_date="2026-09-02")
    Preference.objects.create(user=alice, digest_hour=11)
    # 09:00 UTC is 10:00 in Berlin: too early; 10:00 UTC is 11:00 there.
    assert send_digests(now=now) == 0
    assert send_digests(now=now + dt.timedelta(hours=1)) == 1


STEPS = st.lists(st.sampled_from(["overdue", "escalate", "digest", "dispatch"]), max_size=8)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_running_the_notifier_any_number_of_times_never_duplicates(
    alice, bob, make_episode, now, steps
):
    if not FollowUpTask.objects.exists():
        Membership.objects.filter(user=alice).update(lead=True)
        Preference.objects.update_or_create(user=bob, defaults={"email": True})
        episode = make_episode(
            onset_date="2026-09-01", identified_date="2026-09-02", neuro_status="unknown"
        )
        task = FollowUpTask.objects.filter(episode=episode, status="open").last()
        task_assign(task=task, actor=alice, assignee=bob.pk, now=now)
    run = {
        "overdue": lambda at: notify_overdue(now=at),
        "escalate": lambda at: escalate_overdue(now=at),
        "digest": lambda at: send_digests(now=at),
        "dispatch": lambda at: dispatch_outbox(now=at),
    }
    for i, step in enumerate([*steps, "overdue", "escalate", "digest", "dispatch"]):
        run[step](now + dt.timedelta(minutes=i))
    for i, step in enumerate(["overdue", "escalate", "digest", "dispatch"]):
        run[step](now + dt.timedelta(minutes=30 + i))

    keys = list(Notification.objects.values_list("user_id", "key"))
    assert len(keys) == len(set(keys))
    sent = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(sent) == len(set(sent))
    assert OutgoingEmail.objects.filter(status="sent").count() == len(set(sent))
    assert not OutgoingEmail.objects.exclude(status="sent").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_duplicate(alice, bob, make_episode, now):
    """Every notifier step on two threads (two connections) at the same time."""
    import threading

    from django.db import connection

    Membership.objects.filter(user=alice).update(lead=True)
    Preference.objects.create(user=bob, email=True)
    make_episode(onset_date="2026-09-01", identified_date="2026-09-02", neuro_status="unknown")
    task = FollowUpTask.objects.filter(status="open", priority="routine").first()
    task_assign(task=task, actor=alice, assignee=bob.pk, now=now)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for step in (notify_overdue, escalate_overdue, send_digests, dispatch_outbox):
                barrier.wait(timeout=30)
                step(now=now)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    keys = list(Notification.objects.values_list("user_id", "key"))
    assert len(keys) == len(set(keys))
    assert keys
    assert (
        Escalation.objects.count() == Escalation.objects.values("task", "level").distinct().count()
    )
    assert DigestLog.objects.count() == DigestLog.objects.values("user", "day").distinct().count()
    sent = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(sent) == len(set(sent)) == OutgoingEmail.objects.count()


def test_an_email_the_server_refuses_is_retried_then_marked_failed(
    alice, bob, make_episode, now, settings
):
    from notifications.outbox import EMAIL_MAX_ATTEMPTS

    settings.EMAIL_BACKEND = "tests.notifications.test_notifier.RefusingBackend"
    Preference.objects.create(user=bob, email=True)
    make_episode(neuro_status="unknown")
    at = now
    for _ in range(EMAIL_MAX_ATTEMPTS):
        assert dispatch_outbox(now=at).emails_sent == 0
        at += dt.timedelta(hours=1)
    row = OutgoingEmail.objects.get(user=bob)
    assert (row.status, row.attempts) == ("failed", EMAIL_MAX_ATTEMPTS)
    assert "refused" in row.last_error


class RefusingBackend:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages) -> int:
        raise ConnectionRefusedError("refused")
