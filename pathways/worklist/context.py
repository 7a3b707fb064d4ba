"""What the worklist page and every task row need: the query, the filters, the actions offered.

Shared by the worklist (``pathways.worklist.views``), the task actions
(``pathways.worklist.actions``) and the patient chart, which shows the same
task rows.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import (
    HttpRequest,
    QueryDict,
)

from pathways.engine.dates import add_months
from pathways.models import CallOutcome, TaskPriority
from pathways.services.tasks import PHYSICIAN_DECISIONS
from pathways.worklist import lookups, selectors
from patients.models import Drug, DxaSite
from vcftrack.core import audit
from vcftrack.core.web import Scope, page_number

# ---------------------------------------------------------------- worklist --


FILTER_KEYS = (
    "rule",
    "priority",
    "assignee",
    "mine",
    "state",
    "q",
    "sort",
    "clinic",
    "group",
    "page",
)


def parse_query(
    request: HttpRequest, params: QueryDict, scope: Scope, todays: dict[uuid.UUID, date]
) -> selectors.WorklistQuery:
    clinic_ids = scope.clinic_ids
    wanted = params.get("clinic", "")
    if wanted:
        clinic_ids = [c for c in clinic_ids if str(c) == wanted]
    return selectors.WorklistQuery(
        clinic_ids=clinic_ids,
        todays=todays,
        user_id=request.user.pk,
        rule=params.get("rule", ""),
        priority=params.get("priority", ""),
        assignee=params.get("assignee", ""),
        mine=params.get("mine") == "1",
        state=params.get("state", ""),
        q=params.get("q", "").strip()[:100],
        sort=str(params.get("sort")) if params.get("sort") in selectors.SORTS else "priority",
        page=page_number(params.get("page")),
        group="patient" if params.get("group") == "patient" else "",
    )


def filters_qs(params: QueryDict, **override: Any) -> str:
    kept = {k: params.get(k, "") for k in FILTER_KEYS if params.get(k)}
    kept.update({k: v for k, v in override.items() if v not in (None, "")})
    for k, v in override.items():
        if v in (None, ""):
            kept.pop(k, None)
    return urlencode(kept)


def worklist_context(
    request: HttpRequest, params: QueryDict, scope: Scope, now: Any
) -> dict[str, Any]:
    todays = scope.todays(now)
    query = parse_query(request, params, scope, todays)
    page = selectors.worklist_page(query)
    audit.note(
        request,
        patient_ids=[row.task.patient_id for row in page.rows],
        action="worklist.search" if params.get("q") else "worklist.list",
    )
    by_clinic = lookups.assignable_by_clinic(scope.clinic_ids)
    for row in page.rows:
        row.assignees = by_clinic.get(row.task.clinic_id, [])
    assignees = lookups.distinct_users(by_clinic)
    filter_count = sum(
        1 for k in ("rule", "priority", "assignee", "mine", "q", "clinic") if params.get(k)
    )
    return {
        **task_action_context(scope, todays, now),
        "query": query,
        "page": page,
        "params": params,
        "filters_qs": filters_qs(params),
        "export_qs": filters_qs(params, page=None),
        "filter_count": filter_count,
        "prev_qs": filters_qs(params, page=page.page - 1),
        "next_qs": filters_qs(params, page=page.page + 1),
        "state_links": [
            (state, text, page.counts.get(state, 0), filters_qs(params, state=state, page=None))
            for state, text in selectors.GROUPS
        ],
        "all_qs": filters_qs(params, state=None, page=None),
        "group_qs": filters_qs(params, group=None if query.group else "patient", page=None),
        "rules": lookups.rule_choices(),
        "priorities": TaskPriority.choices,
        "assignees": assignees,
        "sorts": SORT_LABELS,
        "min_snooze": min(todays.values(), default=now.date()) + timedelta(days=1),
    }


SORT_LABELS = [
    ("priority", "Priority, then most overdue"),
    ("due", "Most overdue first"),
    ("-due", "Latest deadline first"),
    ("patient", "Patient name"),
    ("rule", "Task"),
    ("assignee", "Assignee"),
]


SNOOZE_PRESETS = (
    ("1w", "+1 week", 7, 0),
    ("2w", "+2 weeks", 14, 0),
    ("1m", "+1 month", 0, 1),
)
# The browser shows "undo" this long after an action (the server allows a
# little more, see services.tasks.UNDO_SECONDS).
UNDO_SHOWN_SECONDS = 10


def preset_until(preset: str, today: date) -> date | None:
    for value, _label, days, months in SNOOZE_PRESETS:
        if value == preset:
            return add_months(today, months) + timedelta(days=days)
    return None


def task_action_context(scope: Scope, todays: dict[uuid.UUID, date], now: Any) -> dict[str, Any]:
    """What every task row needs to offer the right actions to this person."""
    today = min(todays.values(), default=now.date())
    return {
        "writable_ids": {c.id for c in scope.all_clinics if scope.can_write(c.id)},
        "physician_ids": {c.id for c in scope.all_clinics if scope.is_physician(c.id)},
        "physician_decisions": PHYSICIAN_DECISIONS,
        "snooze_presets": [
            (value, label, preset_until(value, today)) for value, label, _d, _m in SNOOZE_PRESETS
        ],
        "call_outcomes": CallOutcome.choices,
        "retry_default": today + timedelta(days=2),
        "drug_choices": Drug.choices,
        "dxa_sites": DxaSite.choices,
        "today_iso": today.isoformat(),
        "undo_seconds": UNDO_SHOWN_SECONDS,
    }
