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

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Value,
    When,
)

from pathways.dashboard.definitions import BY_CODE, Indicator
from pathways.dashboard.facts import (
    FALLS_RULE,
    REVIEW_CLOSED,
    REVIEW_RULE,
    record_facts,
    review_due_live,
    stored_facts,
    windows,
)
from pathways.models import Episode, TaskStatus

EXCLUDED_ETIOLOGIES = ("pathologic_suspected", "pathologic_confirmed", "traumatic")


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
        .annotate(**windows())
    )


def _live_cohort(qs: QuerySet[Episode], today: date) -> QuerySet[Episode]:
    """Every test computed from the record (the reference implementation)."""
    facts = record_facts()
    return (
        qs.annotate(
            review3m=_task_join(REVIEW_RULE),
            falls=_task_join(FALLS_RULE),
            # Version 2: falls prevention is the patient's programme task.
            programme_falls=FilteredRelation(
                "patient__tasks",
                condition=Q(
                    patient__tasks__rule=FALLS_RULE,
                    patient__tasks__occurrence=1,
                    patient__tasks__episode__isnull=True,
                    patient__tasks__deleted_at__isnull=True,
                ),
            ),
        )
        .annotate(first_rx=facts["first_rx"])
        .annotate(
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
            review_due=_boolean(
                Q(review3m__status__in=REVIEW_CLOSED)
                | Q(review3m__status=TaskStatus.OPEN, review3m__overdue_from__lte=today)
            ),
            review_on_time=_boolean(
                Q(
                    review3m__status=TaskStatus.DONE,
                    review3m__closed_on__lt=F("review3m__overdue_from"),
                )
            ),
            followup=facts["followup"],
        )
    )


def _stored_cohort(qs: QuerySet[Episode], today: date, start: date, end: date) -> QuerySet[Episode]:
    """Every test read from the episode's ``CohortFacts`` row when there is
    one computed for its identification date, else computed live (a
    subquery in a CASE branch runs only for the episodes that take it)."""
    have = Q(stored__episode__isnull=False)

    def pick(name: str, live: object, output: DateField | BooleanField) -> Case:
        return Case(When(have, then=F(f"stored__{name}")), default=live, output_field=output)

    facts = {
        name: pick(name, live, DateField() if name.endswith(("_rx", "_from")) else BooleanField())
        for name, live in stored_facts().items()
    }
    stored_due = Q(stored__review_closed=True) | Q(
        stored__review_open=True, stored__review_overdue_from__lte=today
    )
    return (
        qs.annotate(
            # The period's bounds on the stored rows too (implied by the
            # episode's, which the row must equal): PostgreSQL then joins
            # only the period's rows, not every episode's.
            stored=FilteredRelation(
                "cohort_facts",
                condition=Q(
                    cohort_facts__identified_date=F("identified_date"),
                    cohort_facts__identified_date__gte=start,
                    cohort_facts__identified_date__lte=end,
                ),
            )
        )
        .annotate(first_rx=facts["first_rx"])
        .annotate(
            rx_16w=_boolean(Q(first_rx__lte=F("d112"))),
            rx_52w=facts["rx_52w"],
            dxa_12w=facts["dxa_12w"],
            falls_12w=facts["falls_12w"],
            review_due=Case(
                When(have & stored_due, then=Value(True)),
                When(have, then=Value(False)),
                default=review_due_live(today),
                output_field=BooleanField(),
            ),
            review_on_time=facts["review_on_time"],
            followup=facts["followup"],
        )
    )


def cohort(
    clinic_ids: list[uuid.UUID], start: date, end: date, today: date, *, stored: bool = True
) -> QuerySet[Episode]:
    """The period's cohort, each episode annotated with what the indicators test.

    ``stored=False`` computes every test from the record (the reference
    implementation the stored rows must agree with).
    """
    qs = _in_period(clinic_ids, start, end)
    return _stored_cohort(qs, today, start, end) if stored else _live_cohort(qs, today)


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
