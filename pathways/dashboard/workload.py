"""What the clinic has open now: overdue tasks by rule, episodes by phase,
and the augmentation candidates a physician decides on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from pathways.dashboard.definitions import OVERDUE_AMBER, OVERDUE_GREEN, band
from pathways.engine import get_ruleset
from pathways.levels import mask_to_levels
from pathways.models import (
    ActivePhaseCount,
    Episode,
    FollowUpTask,
    Observation,
    OpenTaskCount,
    Phase,
)
from vcftrack.core.scoping import per_clinic_day


@dataclass
class RuleOverdue:
    rule: str
    title: str
    overdue: int
    open: int

    @property
    def pct(self) -> float | None:
        return round(100.0 * self.overdue / self.open, 1) if self.open else None

    @property
    def band(self) -> str:
        return band(self.pct, OVERDUE_GREEN, OVERDUE_AMBER, lower_is_better=True)


def overdue_by_rule(
    clinic_ids: list[uuid.UUID], todays: dict[uuid.UUID, date], *, live: bool = False
) -> list[RuleOverdue]:
    """Open (raised) tasks per rule and how many are overdue, in one query:
    summed from the log the task table's triggers keep (pathways/dashboard/
    counts.py), or counted over the open tasks (``live=True``: the
    reference the log must agree with)."""
    overdue = per_clinic_day(clinic_ids, todays, lambda today: Q(overdue_from__lte=today))
    rows: list[tuple[str, int, int]]
    if live:
        rows = list(
            FollowUpTask.objects.open()
            .filter(clinic_id__in=clinic_ids)
            .order_by()
            .values("rule")
            # Counting a column of the task_open_by_rule index (not the id)
            # keeps this an index-only scan.
            .annotate(open=Count("overdue_from"), overdue=Count("overdue_from", filter=overdue))
            .values_list("rule", "open", "overdue")
        )
    else:
        rows = list(
            OpenTaskCount.objects.filter(clinic_id__in=clinic_ids)
            .order_by()
            .values("rule")
            .annotate(open=Sum("n"), overdue=Coalesce(Sum("n", filter=overdue), 0))
            .filter(open__gt=0)
            .values_list("rule", "open", "overdue")
        )
    titles = {r.code: r.title for r in get_ruleset("v1").rules}
    out = [
        RuleOverdue(rule, titles.get(rule, rule), overdue_n, open_n)
        for rule, open_n, overdue_n in rows
    ]
    out.sort(key=lambda r: (-r.overdue, r.title))
    return out


def phase_distribution(clinic_ids: list[uuid.UUID], *, live: bool = False) -> list[tuple[str, int]]:
    """Active episodes per phase: summed from the episode table's log, or
    counted (``live=True``, the reference)."""
    pairs: list[tuple[str, int]]
    if live:
        pairs = list(
            Episode.objects.active()
            .filter(clinic_id__in=clinic_ids)
            .order_by()
            .values_list("phase")
            .annotate(n=Count("id"))
        )
    else:
        pairs = list(
            ActivePhaseCount.objects.filter(clinic_id__in=clinic_ids)
            .order_by()
            .values_list("phase")
            .annotate(n=Sum("n"))
        )
    counts = dict(pairs)
    return [(p.value, counts.get(p.value, 0) or 0) for p in Phase if p.value != Phase.CLOSED]


@dataclass
class Candidate:
    task: FollowUpTask
    pain: list[tuple[date, float]]
    levels: list[str]


CANDIDATE_RULES = ("augmentation_review_3m", "augmentation_consider_early")
# Reviews due within this many days are listed already.
CANDIDATE_LOOKAHEAD = timedelta(days=14)


def _pain_by_episode(episode_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[date, float]]]:
    pain: dict[uuid.UUID, list[tuple[date, float]]] = {}
    for eid, day, value in (
        Observation.objects.alive()
        .filter(episode_id__in=episode_ids, kind="pain_nrs")
        .order_by("effective_date")
        .values_list("episode_id", "effective_date", "value_number")
    ):
        pain.setdefault(eid, []).append((day, float(value or 0)))
    return pain


def augmentation_candidates(
    clinic_ids: list[uuid.UUID], todays: dict[uuid.UUID, date], *, limit: int = 25, offset: int = 0
) -> tuple[list[Candidate], bool]:
    """Open 3-month reviews that are due (or due within 14 days) and early
    augmentation tasks, with each episode's pain trajectory; and whether a
    next page exists (3 queries; no COUNT over a large backlog)."""
    visible = per_clinic_day(
        clinic_ids, todays, lambda today: Q(due_date__lte=today + CANDIDATE_LOOKAHEAD)
    )
    qs = (
        FollowUpTask.objects.open()
        .filter(clinic_id__in=clinic_ids, rule__in=list(CANDIDATE_RULES))
        .filter(visible)
    )
    # Ids first (a narrow sort), then the rows of this page. Deadline order
    # (overdue_from), which the task_open_by_rule index serves; ORDER BY
    # due_date would tempt the planner into walking a (due_date, ...) index
    # across every clinic.
    ids = list(
        qs.order_by("overdue_from", "due_date", "id").values_list("id", flat=True)[
            offset : offset + limit + 1
        ]
    )
    has_next = len(ids) > limit
    ids = ids[:limit]
    by_id = {
        t.id: t
        for t in FollowUpTask.objects.filter(id__in=ids).select_related(
            "patient", "episode", "assignee"
        )
    }
    tasks = [by_id[i] for i in ids if i in by_id]
    pain = _pain_by_episode([t.episode_id for t in tasks if t.episode_id is not None])
    return (
        [
            # Candidates come from episode rules: every task here has an episode.
            Candidate(t, pain.get(t.episode.id, []), mask_to_levels(t.episode.levels_mask))
            for t in tasks
            if t.episode is not None
        ],
        has_next,
    )
