"""The cohort of a period, with what the indicators test, and eligibility
rendered from ``definitions`` as a ``Q`` (drill-down) and as SQL (the board).

The cohort of a period
    Alive episodes of the selected clinic(s) whose ``identified_date`` lies in
    [start, end], excluding pathologic (suspected or confirmed) and traumatic
    fractures: the indicators measure secondary prevention of fragility
    fractures, which those episodes are not on (they branch to work-up or
    surgery; pathway-spec "Branches").

"Anti-osteoporosis drug" is ``patients.models.ANTI_OSTEOPOROSIS``
(bisphosphonates, denosumab, teriparatide, romosozumab, strontium ranelate);
a drug already active at identification counts as started on day 0.
Medications and DXA scans belong to the patient (they span episodes).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from pathways.dashboard.definitions import (
    BY_CODE,
    WEEKS_12,
    WEEKS_16,
    WEEKS_18,
    WEEKS_52,
    Indicator,
)
from pathways.models import Episode, FollowUpTask, Observation, TaskStatus
from patients.models import ANTI_OSTEOPOROSIS, BoneDensity, Medication

EXCLUDED_ETIOLOGIES = ("pathologic_suspected", "pathologic_confirmed", "traumatic")
DXA_LOOKBACK_DAYS = 365


def _plus(days: int) -> ExpressionWrapper:
    return ExpressionWrapper(F("identified_date") + timedelta(days=days), output_field=DateField())


def _boolean(q: Q) -> Case:
    # Never NULL (a missing task or drug is "no"), so exclude() and the
    # outer SUM(CASE ...) treat it as false.
    return Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField())


def _task_join(rule: str) -> FilteredRelation:
    # (episode, rule, occurrence) is unique: a LEFT JOIN of at most one row,
    # one index probe for every test on that task.
    return FilteredRelation(
        "tasks",
        condition=Q(tasks__rule=rule, tasks__occurrence=1, tasks__deleted_at__isnull=True),
    )


def _in_period(clinic_ids: list[uuid.UUID], start: date, end: date) -> QuerySet[Episode]:
    return (
        Episode.objects.alive()
        .filter(clinic_id__in=clinic_ids, identified_date__gte=start, identified_date__lte=end)
        .exclude(etiology__in=EXCLUDED_ETIOLOGIES)
        .annotate(
            **windows(),
            review3m=_task_join("augmentation_review_3m"),
            falls=_task_join("falls_prevention"),
            # Version 2: falls prevention is the patient's programme task.
            programme_falls=FilteredRelation(
                "patient__tasks",
                condition=Q(
                    patient__tasks__rule="falls_prevention",
                    patient__tasks__occurrence=1,
                    patient__tasks__episode__isnull=True,
                    patient__tasks__deleted_at__isnull=True,
                ),
            ),
        )
    )


def _review_flags(today: date) -> dict[str, Case]:
    closed = [TaskStatus.DONE, TaskStatus.NOT_APPLICABLE, TaskStatus.MISSED]
    return {
        "review_due": _boolean(
            Q(review3m__status__in=closed)
            | Q(review3m__status=TaskStatus.OPEN, review3m__overdue_from__lte=today)
        ),
        "review_on_time": _boolean(
            Q(
                review3m__status=TaskStatus.DONE,
                review3m__closed_on__lt=F("review3m__overdue_from"),
            )
        ),
    }


def _followup() -> Q:
    person_done = FollowUpTask.objects.filter(
        episode_id=OuterRef("pk"), status=TaskStatus.DONE, deleted_at__isnull=True
    )
    return Exists(
        Observation.objects.filter(
            episode_id=OuterRef("pk"),
            deleted_at__isnull=True,
            effective_date__gte=OuterRef("d84"),
            effective_date__lte=OuterRef("d126"),
        )
    ) | Exists(
        person_done.filter(
            closed_by_person=True,
            closed_on__gte=OuterRef("d84"),
            closed_on__lte=OuterRef("d126"),
        )
    )


def windows() -> dict[str, ExpressionWrapper]:
    """The dates the facts are measured against, counted from identification."""
    return {
        "d84": _plus(WEEKS_12),
        "d112": _plus(WEEKS_16),
        "d126": _plus(WEEKS_18),
        "d364": _plus(WEEKS_52),
        "dxa_from": _plus(-DXA_LOOKBACK_DAYS),
    }


def live_facts() -> dict[str, Any]:
    """The stored facts (``CohortFacts``) computed from the record, over a
    queryset of episodes annotated with ``windows()``: the reference the
    stored rows are checked against, and what a missing row falls back to."""
    meds = Medication.objects.filter(
        patient_id=OuterRef("patient_id"), deleted_at__isnull=True, drug__in=list(ANTI_OSTEOPOROSIS)
    )
    not_stopped_before_identified = Q(stop_date__isnull=True) | Q(
        stop_date__gte=OuterRef("identified_date")
    )
    first_rx = (
        meds.filter(not_stopped_before_identified)
        .order_by()
        .values("patient_id")
        .annotate(first=Min("start_date"))
        .values("first")
    )
    return {
        "first_rx": Subquery(first_rx[:1], output_field=DateField()),
        "rx_52w": Exists(
            meds.filter(start_date__lte=OuterRef("d364")).filter(
                Q(stop_date__isnull=True) | Q(stop_date__gt=OuterRef("d364"))
            )
        ),
        "dxa_12w": Exists(
            BoneDensity.objects.filter(
                patient_id=OuterRef("patient_id"),
                deleted_at__isnull=True,
                performed_date__gte=OuterRef("dxa_from"),
                performed_date__lte=OuterRef("d84"),
            )
        ),
        "followup": ExpressionWrapper(_followup(), output_field=BooleanField()),
    }


def _stored_or_live() -> tuple[FilteredRelation, dict[str, Case]]:
    """Each stored fact from the episode's ``CohortFacts`` row when there is
    one computed for its identification date, else computed live (the
    subquery in the CASE's other branch runs only for those episodes)."""
    stored = FilteredRelation(
        "cohort_facts", condition=Q(cohort_facts__identified_date=F("identified_date"))
    )
    have = Q(stored__episode__isnull=False)
    out = {}
    for name, live in live_facts().items():
        output = DateField() if name == "first_rx" else BooleanField()
        out[name] = Case(When(have, then=F(f"stored__{name}")), default=live, output_field=output)
    return stored, out


def cohort(
    clinic_ids: list[uuid.UUID], start: date, end: date, today: date, *, stored: bool = True
) -> QuerySet[Episode]:
    """The period's cohort, each episode annotated with what the indicators test.

    ``stored=False`` computes every fact from the record (the reference
    implementation the stored rows must agree with).
    """
    qs = _in_period(clinic_ids, start, end)
    if stored:
        relation, facts = _stored_or_live()
        qs = qs.annotate(stored=relation)
    else:
        facts = live_facts()
    return qs.annotate(first_rx=facts["first_rx"]).annotate(
        # A drug active in [identified, day 112] exists exactly when the
        # earliest start of one not stopped before identification is <= day 112.
        rx_16w=_boolean(Q(first_rx__lte=F("d112"))),
        rx_52w=facts["rx_52w"],
        dxa_12w=facts["dxa_12w"],
        falls_12w=_boolean(
            Q(falls__status=TaskStatus.DONE, falls__closed_on__lte=F("d84"))
            | Q(
                programme_falls__status=TaskStatus.DONE,
                programme_falls__closed_on__lte=F("d84"),
            )
        ),
        **_review_flags(today),
        followup=facts["followup"],
    )


# ------------------------------------------------------------ eligibility --
# One definition (Indicator.window_days, .requires, .numerator_field), two
# renderings: a Q over the annotated cohort, and SQL over the derived table
# ``c`` of the board's one query. tests/dashboard/test_eligibility.py checks
# that both select the same episodes.
#
# rx_16w is derived in SQL from first_rx (selecting the annotation too would
# run the first_rx subquery twice); every other flag is a selected column.
FLAG_SQL = {"rx_16w": "(c.first_rx IS NOT NULL AND c.first_rx <= c.d112)"}
# Selected from the cohort for the board.
FLAGS = ("rx_52w", "dxa_12w", "falls_12w", "review_due", "review_on_time", "followup")


def _cut(ind: Indicator, today: date) -> date:
    return today - timedelta(days=ind.window_days)


def eligible_q(code: str, today: date) -> Q:
    ind = BY_CODE[code]
    return Q(identified_date__lte=_cut(ind, today), **dict.fromkeys(ind.requires, True))


def numerator_q(code: str, today: date) -> Q:
    return eligible_q(code, today) & Q(**{BY_CODE[code].numerator_field: True})


def flag_sql(field: str) -> str:
    return FLAG_SQL.get(field, f"c.{field}")


def eligible_sql(code: str, today: date) -> tuple[str, list[date]]:
    """``eligible_q`` as SQL over the cohort's columns, with its parameters."""
    ind = BY_CODE[code]
    sql = " AND ".join(["c.identified_date <= %s", *(flag_sql(f) for f in ind.requires)])
    return sql, [_cut(ind, today)]


def drilldown(
    code: str,
    which: str,
    clinic_ids: list[uuid.UUID],
    start: date,
    end: date,
    today: date,
    *,
    stored: bool = True,
) -> QuerySet[Episode]:
    """The episodes behind one number: ``numerator``, ``denominator`` or ``gap``
    (in the denominator but not the numerator: the patients to act on)."""
    qs = cohort(clinic_ids, start, end, today, stored=stored)
    if which == "numerator":
        qs = qs.filter(numerator_q(code, today))
    elif which == "gap":
        qs = qs.filter(eligible_q(code, today)).exclude(**{BY_CODE[code].numerator_field: True})
    else:
        qs = qs.filter(eligible_q(code, today))
    return qs.select_related("patient").order_by("identified_date", "id")
