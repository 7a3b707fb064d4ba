"""Notification volume of the demo panel, per user per day, before and after issue 11.

    DATABASE_URL=... .venv/bin/python -m tests.bench.notifications [--patients 300] [--days 7]

Seeds the demo panel into a fresh database (the test database machinery),
then replays ``days`` days: each day the pathway sweep runs as of that day
(``advance_pathways --as-of``), then
- before: the replaced notifier (one row per due/overdue task and kind, for
  the assignee or else every coordinator of the clinic), kept here verbatim
  in logic, and the old digest (one count mail per member with an address);
- after: notify_overdue, escalate_overdue, send_digests of notifications/.
Prints rows per user per day for each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections import Counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcftrack.settings")


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        run(args.patients, args.days, call_command)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(patients: int, days: int, call_command) -> None:
    from django.contrib.auth import get_user_model

    from notifications.digest import send_digests
    from notifications.models import Escalation, Notification, OutgoingEmail
    from notifications.services import escalate_overdue, notify_overdue
    from pathways.models import FollowUpTask, TaskState
    from pathways.services import pathway_sweep
    from patients.models import Clinic, Membership, Role

    call_command("seed_demo", patients=patients, seed=11, verbosity=0)
    users = get_user_model().objects.filter(memberships__isnull=False).distinct().count()
    by_role = Counter(Membership.objects.values_list("role", flat=True))
    start = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    old_seen: set[tuple[int, object, str]] = set()
    old_rows: Counter[int] = Counter()
    old_mails = 0
    coordinators: dict[object, list[int]] = {}
    for clinic_id, user_id in Membership.objects.filter(role=Role.COORDINATOR).values_list(
        "clinic_id", "user_id"
    ):
        coordinators.setdefault(clinic_id, []).append(user_id)
    # Rows the seeding itself raised (urgent tasks of the seeded episodes).
    seeded = Notification.objects.count()
    new_rows: Counter[int] = Counter()
    new_mails: Counter[int] = Counter()
    for i in range(days):
        now = start + dt.timedelta(days=i)
        pathway_sweep(now=now, as_of=now.date(), batch_size=500)
        # before: the replaced notify_due_tasks (fan-out) and the count digest.
        for clinic in Clinic.objects.all():
            for state in (TaskState.DUE, TaskState.OVERDUE):
                for task_id, assignee_id in (
                    FollowUpTask.objects.in_state(state, clinic.today(now))
                    .filter(clinic=clinic)
                    .values_list("id", "assignee_id")
                ):
                    for user_id in (
                        [assignee_id] if assignee_id else coordinators.get(clinic.id, [])
                    ):
                        if (user_id, task_id, state) not in old_seen:
                            old_seen.add((user_id, task_id, state))
                            old_rows[i] += 1
        old_mails += Membership.objects.exclude(user__email="").values("user").distinct().count()
        # after
        notify_overdue(now=now)
        escalate_overdue(now=now)
        send_digests(now=now.replace(hour=12))
        new_rows[i] = Notification.objects.count() - sum(new_rows.values()) - seeded
        new_mails[i] = OutgoingEmail.objects.count() - sum(new_mails.values())
    print(f"after, raised while seeding the panel: {seeded} in-app rows")
    print(
        f"after, day by day: in-app {[new_rows[i] for i in range(days)]}, "
        f"e-mails {[new_mails[i] for i in range(days)]}"
    )
    after_rows = Notification.objects.count()
    after_mails = OutgoingEmail.objects.count()
    print(f"demo panel: {patients} patients, {users} users ({dict(by_role)}), {days} days replayed")
    print(f"open tasks at the end: {FollowUpTask.objects.open().count()}")
    print(
        f"before: {sum(old_rows.values())} in-app rows "
        f"({sum(old_rows.values()) / users / days:.1f} "
        f"per user per day; day by day {[old_rows[i] for i in range(days)]}), "
        f"{old_mails} digest mails ({old_mails / users / days:.2f} per user per day)"
    )
    per_kind = Counter(Notification.objects.values_list("kind", flat=True))
    per_role = Counter(
        Membership.objects.filter(user__notifications__isnull=False).values_list("role", flat=True)
    )
    print(
        f"after: {after_rows} in-app rows ({after_rows / users / days:.1f} per user per day; "
        f"by kind {dict(per_kind)}; rows by recipient role {dict(per_role)}), "
        f"{after_mails} digest/e-mails ({after_mails / users / days:.2f} per user per day), "
        f"escalations {dict(Counter(Escalation.objects.values_list('rule', flat=True)))}"
    )


if __name__ == "__main__":
    main()
