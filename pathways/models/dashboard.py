"""The dashboard's stored cohort facts: per episode, what the FLS indicators
test (drugs, DXA scans, follow-up contacts, the falls and 3-month-review
tasks), so the board reads one narrow row instead of probing the record.
Maintained by ``pathways.dashboard.facts_table``."""

from __future__ import annotations

from django.db import models

from pathways.models.episodes import Episode


class CohortFacts(models.Model):
    """One episode's indicator facts, computed for its ``identified_date``.

    Nothing here depends on today: the windows are counted from the
    identification date, and what does depend on today (eligibility, whether
    an open 3-month review is overdue by now) is worked out when the board
    is read.
    A row is a cache of ``pathways.dashboard.facts.stored_facts``: the
    writes that can change it delete it in their own transaction, the
    evaluation pass writes it again, and a missing row (or one computed for
    another identification date) is computed live by the board.
    """

    episode = models.OneToOneField(
        Episode, primary_key=True, on_delete=models.CASCADE, related_name="cohort_facts"
    )
    identified_date = models.DateField()
    # The earliest start of an anti-osteoporosis drug not stopped before
    # identification (None: no such drug).
    first_rx = models.DateField(null=True)
    rx_52w = models.BooleanField()
    dxa_12w = models.BooleanField()
    followup = models.BooleanField()
    falls_12w = models.BooleanField()
    # The 3-month review: open, or closed in a way that counts as due (done,
    # not applicable, missed), and done before its overdue date.
    review_open = models.BooleanField()
    review_closed = models.BooleanField()
    review_on_time = models.BooleanField()
    # An open review's overdue date (None otherwise). A snooze moves it
    # without a re-evaluation: a database trigger on the task keeps it
    # (migration 0010).
    review_overdue_from = models.DateField(null=True)

    def __str__(self) -> str:
        return f"cohort facts of {self.episode_id}"


# What the dashboard shows of the clinic's open work (open tasks by rule and
# how many are overdue, active episodes by phase) is summed from these two
# logs, not counted over every task and episode on each view: database
# triggers on the task and episode tables add a row of +n / -n whenever a
# write changes what the counts would be (migration 0013), and
# ``pathways.dashboard.counts.compact`` (beat, every few minutes) sums each
# key's rows into one. No foreign keys: a log row is only a number, and a
# check on every insert would slow every bulk write.
class OpenTaskCount(models.Model):
    """+n / -n open (alive, status open) tasks of a clinic's rule with this overdue date."""

    id = models.BigAutoField(primary_key=True)
    clinic_id = models.UUIDField()
    rule = models.CharField(max_length=48)
    overdue_from = models.DateField()
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["clinic_id", "rule"], name="opentaskcount_clinic_rule")]

    def __str__(self) -> str:
        return f"{self.n:+d} open {self.rule} tasks overdue from {self.overdue_from}"


class ActivePhaseCount(models.Model):
    """+n / -n active (alive, status active) episodes of a clinic in this phase."""

    id = models.BigAutoField(primary_key=True)
    clinic_id = models.UUIDField()
    phase = models.CharField(max_length=24)
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["clinic_id"], name="activephasecount_clinic")]

    def __str__(self) -> str:
        return f"{self.n:+d} active episodes in {self.phase}"
