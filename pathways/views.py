"""Web views of the pathways app: the worklist, task actions, the dashboard.

Views are thin: read the clock once, parse, call one selector or service,
render. Task actions answer htmx with the task's row (422 with the errors
beside the fields, 403 when the role may not act); without JavaScript they
redirect back to the worklist.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from pathways import catalogue, indicators, selectors
from pathways.engine.dates import add_months
from pathways.forms import RESULT_LABELS, result_data
from pathways.models import CallOutcome, FollowUpTask, TaskPriority
from pathways.services import (
    task_assign,
    task_call,
    task_complete,
    task_not_applicable,
    task_reopen,
    task_snooze,
    task_undo,
)
from pathways.services.locks import lock_rows
from pathways.services.tasks import PHYSICIAN_DECISIONS, task_record_result
from patients.models import Drug, DxaSite
from vcftrack.core import audit
from vcftrack.core.errors import DomainError, PermissionDenied
from vcftrack.core.labels import FIELD_NAMES, label
from vcftrack.core.web import Scope, get_scope


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _int(value: str | None, default: int = 1) -> int:
    try:
        return max(1, int(value or default))
    except ValueError:
        return default


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


def _query(
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
        page=_int(params.get("page")),
        group="patient" if params.get("group") == "patient" else "",
    )


def _filters_qs(params: QueryDict, **override: Any) -> str:
    kept = {k: params.get(k, "") for k in FILTER_KEYS if params.get(k)}
    kept.update({k: v for k, v in override.items() if v not in (None, "")})
    for k, v in override.items():
        if v in (None, ""):
            kept.pop(k, None)
    return urlencode(kept)


def _worklist_context(
    request: HttpRequest, params: QueryDict, scope: Scope, now: Any
) -> dict[str, Any]:
    todays = scope.todays(now)
    query = _query(request, params, scope, todays)
    page = selectors.worklist_page(query)
    audit.note(
        request,
        patient_ids=[row.task.patient_id for row in page.rows],
        action="worklist.search" if params.get("q") else "worklist.list",
    )
    by_clinic = selectors.assignable_by_clinic(scope.clinic_ids)
    for row in page.rows:
        row.assignees = by_clinic.get(row.task.clinic_id, [])
    assignees = selectors.distinct_users(by_clinic)
    filter_count = sum(
        1 for k in ("rule", "priority", "assignee", "mine", "q", "clinic") if params.get(k)
    )
    return {
        **task_action_context(scope, todays, now),
        "query": query,
        "page": page,
        "params": params,
        "filters_qs": _filters_qs(params),
        "export_qs": _filters_qs(params, page=None),
        "filter_count": filter_count,
        "prev_qs": _filters_qs(params, page=page.page - 1),
        "next_qs": _filters_qs(params, page=page.page + 1),
        "state_links": [
            (state, text, page.counts.get(state, 0), _filters_qs(params, state=state, page=None))
            for state, text in selectors.GROUPS
        ],
        "all_qs": _filters_qs(params, state=None, page=None),
        "group_qs": _filters_qs(params, group=None if query.group else "patient", page=None),
        "rules": selectors.rule_choices(),
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


@login_required
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope = get_scope(request)
    context = _worklist_context(request, request.GET, scope, now)
    if _is_htmx(request) and request.headers.get("HX-Target") == "results":
        return render(request, "pathways/_worklist_results.html", context)
    return render(request, "pathways/worklist.html", context)


@login_required
@require_GET
def worklist_csv(request: HttpRequest) -> StreamingHttpResponse:
    now = timezone.now()
    scope = get_scope(request)
    query = _query(request, request.GET, scope, scope.todays(now))

    def rows() -> Iterator[list[str]]:
        yield [
            "state",
            "patient",
            "mrn",
            "levels",
            "task",
            "rule",
            "due_date",
            "days_overdue",
            "priority",
            "assignee",
            "clinic_today",
        ]
        for row in selectors.worklist_export(query):
            t = row.task
            p = t.patient
            # Noted as streamed; the middleware writes them when the file ends.
            audit.note(request, patient_ids=[p.id], action="worklist.export")
            yield [
                row.state,
                f"{p.family_name}, {p.given_name}",
                p.mrn,
                "/".join(row.levels),
                t.title,
                t.rule,
                t.effective_due.isoformat(),
                str(row.days_overdue),
                t.priority,
                t.assignee.get_username() if t.assignee else "",
                query.todays[t.clinic_id].isoformat(),
            ]

    return _csv_response(rows(), f"worklist-{now:%Y%m%d}.csv")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(rows: Iterator[list[str]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([_csv_safe(c) for c in r]) for r in rows), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_safe(value: str) -> str:
    # Cells starting with = + - @ run as formulas in spreadsheets (CSV injection).
    if value and value[0] in "=+-@" and not value.lstrip("-").replace(".", "").isdigit():
        return "'" + value
    return value


# ------------------------------------------------------------ task actions --
ACTIONS = (
    "complete",
    "not-applicable",
    "snooze",
    "assign",
    "call",
    "record",
    "reopen",
    "undo",
)
# One click snoozes: (value, button label, days, months).
SNOOZE_PRESETS = (
    ("1w", "+1 week", 7, 0),
    ("2w", "+2 weeks", 14, 0),
    ("1m", "+1 month", 0, 1),
)
# The browser shows "undo" this long after an action (the server allows a
# little more, see services.tasks.UNDO_SECONDS).
UNDO_SHOWN_SECONDS = 10


def _preset_until(preset: str, today: date) -> date | None:
    for value, _label, days, months in SNOOZE_PRESETS:
        if value == preset:
            return add_months(today, months) + timedelta(days=days)
    return None


def _task_or_404(request: HttpRequest, task_id: uuid.UUID) -> FollowUpTask:
    # Any of the user's clinics, whatever the switcher shows.
    task = selectors.task_row(task_id, [c.id for c in get_scope(request).all_clinics])
    if task is None:
        raise Http404("No such task")
    return task


def _render_row(
    request: HttpRequest,
    task: FollowUpTask,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    action: str = "",
    message: str = "",
    undo: bool = False,
    now: Any,
) -> HttpResponse:
    context = _row_context(request, task, now=now, errors=errors, action=action, message=message)
    context["undo"] = undo
    return render(request, "pathways/_task_row.html", context, status=status)


def _row_context(
    request: HttpRequest,
    task: FollowUpTask,
    *,
    now: Any,
    errors: dict[str, list[str]] | None = None,
    action: str = "",
    message: str = "",
) -> dict[str, Any]:
    scope = get_scope(request)
    todays = scope.todays(now)
    row = selectors.make_row(task, todays)
    row.assignees = selectors.assignable_by_clinic([task.clinic_id])[task.clinic_id]
    context = {
        "row": row,
        **task_action_context(scope, todays, now),
        # "__all__" cannot be looked up in a template.
        "errors": {("all" if k == "__all__" else k): v for k, v in (errors or {}).items()},
        "open_action": action,
        "message": message,
        "min_snooze": todays[task.clinic_id] + timedelta(days=1),
        "form_data": request.POST,
        # A row of the worklist posts the worklist's filters with its actions,
        # so the answer is the refreshed list (counts, groups, next row).
        "filters_qs": request.POST.get("filters", None),
    }
    return context


def task_action_context(scope: Scope, todays: dict[uuid.UUID, date], now: Any) -> dict[str, Any]:
    """What every task row needs to offer the right actions to this person."""
    today = min(todays.values(), default=now.date())
    return {
        "writable_ids": {c.id for c in scope.all_clinics if scope.can_write(c.id)},
        "physician_ids": {c.id for c in scope.all_clinics if scope.is_physician(c.id)},
        "physician_decisions": PHYSICIAN_DECISIONS,
        "snooze_presets": [
            (value, label, _preset_until(value, today)) for value, label, _d, _m in SNOOZE_PRESETS
        ],
        "call_outcomes": CallOutcome.choices,
        "retry_default": today + timedelta(days=2),
        "drug_choices": Drug.choices,
        "dxa_sites": DxaSite.choices,
        "today_iso": today.isoformat(),
        "undo_seconds": UNDO_SHOWN_SECONDS,
    }


@login_required
@require_GET
def task_actions(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    """A task on a page of its own (without JavaScript, or from a link)."""
    now = timezone.now()
    task = _task_or_404(request, task_id)
    audit.note(request, patient_ids=[task.patient_id], action="task.view")
    context = _row_context(request, task, now=now)
    context["back_url"] = reverse("worklist")
    return render(request, "pathways/task_page.html", context)


def _who(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def _act(request: HttpRequest, task: FollowUpTask, action: str, now: Any) -> tuple[Any, str]:
    """Call the service of one action; return the task and what to tell the person."""
    post = request.POST
    actor = request.user
    title = task.title
    if action == "complete":
        task = task_complete(
            task=task,
            actor=actor,
            outcome=post.get("outcome", ""),
            note=post.get("note", ""),
            now=now,
        )
        return task, f"Done: {title}" + (f" ({label(task.outcome)})" if task.outcome else "")
    if action == "not-applicable":
        task = task_not_applicable(task=task, actor=actor, reason=post.get("reason", ""), now=now)
        return task, f"Not applicable: {title}"
    if action == "snooze":
        until: Any = post.get("until", "")
        reason = post.get("reason", "")
        preset = _preset_until(post.get("preset", ""), task.clinic.today(now))
        if preset is not None:
            until = preset.isoformat()
            reason = reason or "Snoozed from the worklist"
        task = task_snooze(task=task, actor=actor, until=until, reason=reason, now=now)
        return task, f"Snoozed to {task.snoozed_until:%-d %b %Y}: {title}"
    if action == "assign":
        task = task_assign(task=task, actor=actor, assignee=post.get("assignee") or None, now=now)
        if task.assignee is None:
            return task, f"Unassigned: {title}"
        verb = "Sent to" if post.get("send") else "Assigned to"
        return task, f"{verb} {_who(task.assignee)}: {title}"
    if action == "call":
        task = task_call(
            task=task,
            actor=actor,
            outcome=post.get("call_outcome", ""),
            retry_on=post.get("retry_on", ""),
            note=post.get("note", ""),
            now=now,
        )
        return task, f"Call recorded ({label(task.call_outcome).lower()}): {title}"
    if action == "record":
        row = selectors.make_row(task, {task.clinic_id: task.clinic.today(now)})
        task_record_result(
            task=task,
            actor=actor,
            form=row.result_form,
            data=result_data(row.result_form, post),
            now=now,
        )
        return task, f"{RESULT_LABELS.get(row.result_form, 'Result')} recorded: {title}"
    if action == "reopen":
        task = task_reopen(task=task, actor=actor, reason=post.get("reason", ""), now=now)
        return task, f"Reopened: {title}"
    task = task_undo(task=task, actor=actor, now=now)
    return task, f"Undone: {title}"


@login_required
@require_POST
def task_action(request: HttpRequest, task_id: uuid.UUID, action: str) -> HttpResponse:
    now = timezone.now()
    task = _task_or_404(request, task_id)
    audit.note(request, patient_ids=[task.patient_id], action="task.act")
    scope = get_scope(request)
    if action not in ACTIONS:
        raise Http404("Unknown action")
    if not scope.can_write(task.clinic_id):
        return _respond_error(
            request,
            task,
            now,
            action,
            403,
            {"__all__": ["Your role in this clinic can read but not change tasks."]},
        )
    try:
        task, message = _act(request, task, action, now)
    except ValidationError as exc:
        return _respond_error(request, task, now, action, 422, exc.message_dict)
    except PermissionDenied as exc:
        return _respond_error(request, task, now, action, 403, {"__all__": [exc.message]})
    except DomainError as exc:
        field = "__all__" if exc.field in (None, "status") else exc.field
        return _respond_error(request, task, now, action, 409, {field: [exc.message]})
    if not _is_htmx(request):
        messages.success(request, f"{message}.")
        return HttpResponseRedirect(_back(request))
    undo = action not in ("undo", "record", "reopen")
    if "filters" in request.POST:
        context = _worklist_context(request, QueryDict(request.POST["filters"]), scope, now)
        context["flash"] = {"text": message, "id": task.id, "undo": undo}
        return render(request, "pathways/_worklist_results.html", context)
    task = _task_or_404(request, task.id)
    return _render_row(request, task, message=message, undo=undo, now=now)


def _respond_error(
    request: HttpRequest,
    task: FollowUpTask,
    now: Any,
    action: str,
    status: int,
    errors: dict[str, list[str]],
) -> HttpResponse:
    texts = [t for field_texts in errors.values() for t in field_texts]
    if status == 403:
        # A refused write is a 403 whatever the client: a short message the
        # page shows in the row (never a page inside a fragment).
        return HttpResponse(" ".join(texts), status=403, content_type="text/plain")
    if not _is_htmx(request):
        for field, field_texts in errors.items():
            for text in field_texts:
                name = "" if field == "__all__" else f"{FIELD_NAMES.get(field, label(field))}: "
                messages.error(request, f"{task.title}: {name}{text}")
        return HttpResponseRedirect(_back(request))
    response = _render_row(request, task, status=status, errors=errors, action=action, now=now)
    # The worklist's forms target the whole list; an error belongs in the row.
    response["HX-Retarget"] = f"#task-{task.id}"
    response["HX-Reswap"] = "outerHTML"
    return response


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return reverse("worklist")


@login_required
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign the ticked tasks to one person (each through ``task_assign``)."""
    now = timezone.now()
    scope = get_scope(request)
    filters = QueryDict(request.POST.get("filters", ""))
    ids: list[uuid.UUID] = []
    for raw in request.POST.getlist("task"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    tasks = selectors.tasks_for_bulk(ids, [c.id for c in scope.all_clinics])
    audit.note(request, patient_ids=[t.patient_id for t in tasks], action="task.act")
    choice = request.POST.get("assignee", "")
    # No default: "nobody" is a choice a person makes, never what an
    # untouched select sends.
    assignee = None if choice == "none" else choice
    problems: list[str] = []
    done = ""
    if not tasks:
        problems.append("Tick at least one task.")
    elif not choice:
        problems.append("Choose who to assign the selected tasks to (or “Nobody”).")
    elif any(not scope.can_write(t.clinic_id) for t in tasks):
        return HttpResponse(
            "Your role cannot assign these tasks.", status=403, content_type="text/plain"
        )
    else:
        try:
            # All or nothing: one bad assignee leaves every task as it was.
            with transaction.atomic():
                # Every task's programme, episode and row in the lock order
                # before the first assignment takes the change counter.
                lock_rows(task_ids=[t.id for t in tasks])
                for task in tasks:
                    task = task_assign(task=task, actor=request.user, assignee=assignee, now=now)
            n = f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}"
            done = (
                f"Assigned {n} to {_who(task.assignee)}." if task.assignee else f"Unassigned {n}."
            )
        except ValidationError as exc:
            problems.extend(t for texts in exc.message_dict.values() for t in texts)
        except DomainError as exc:
            problems.append(exc.message)
    if not _is_htmx(request):
        for p in problems:
            messages.error(request, p)
        if done:
            messages.success(request, done)
        return HttpResponseRedirect(reverse("worklist") + "?" + filters.urlencode())
    context = _worklist_context(request, filters, scope, now)
    context["bulk_problems"] = problems
    context["bulk_message"] = done
    return render(
        request, "pathways/_worklist_results.html", context, status=422 if problems else 200
    )


# --------------------------------------------------------------- dashboard --
def _period(params: QueryDict, today: date) -> tuple[date, date, str]:
    """The period asked for, or the last 12 months, with what was wrong with it."""
    problems: list[str] = []

    def parse(name: str, default: date, label_: str) -> date:
        raw = params.get(name, "")
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(f"“{raw}” is not a date ({label_}).")
            return default

    end = parse("to", today, "to")
    if end > today:
        problems.append(f"The end date is after today; showing up to today ({today:%-d %b %Y}).")
        end = today
    start = parse("from", end - timedelta(days=365), "from")
    if start > end:
        problems.append(
            f"The start date ({start:%-d %b %Y}) is after the end date ({end:%-d %b %Y}); "
            "showing the 12 months up to the end date instead."
        )
        start = end - timedelta(days=365)
    # A bounded period keeps the month-by-month chart and the query small.
    if start < end - timedelta(days=3 * 366):
        start = end - timedelta(days=3 * 366)
        problems.append(f"At most three years: showing from {start:%-d %b %Y}.")
    return start, end, " ".join(problems)


def _dashboard_scope(
    request: HttpRequest, now: Any
) -> tuple[Scope, list[uuid.UUID], dict[uuid.UUID, date], date]:
    scope = get_scope(request)
    clinic_ids = scope.clinic_ids
    wanted = request.GET.get("clinic", "")
    if wanted:
        clinic_ids = [c for c in clinic_ids if str(c) == wanted]
    todays = scope.todays(now)
    # Clinics in several zones: the earliest date, so no window counts as
    # elapsed before it has everywhere.
    today = min((todays[c] for c in clinic_ids), default=now.date())
    return scope, clinic_ids, todays, today


def _presets(today: date) -> list[tuple[str, str]]:
    year = today.year
    return [
        (
            "Last 12 months",
            urlencode({"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}),
        ),
        (
            "Last 24 months",
            urlencode({"from": (today - timedelta(days=730)).isoformat(), "to": today.isoformat()}),
        ),
        (str(year - 1), urlencode({"from": f"{year - 1}-01-01", "to": f"{year - 1}-12-31"})),
        (str(year), urlencode({"from": f"{year}-01-01", "to": today.isoformat()})),
    ]


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope, clinic_ids, todays, today = _dashboard_scope(request, now)
    start, end, period_problem = _period(request.GET, today)
    board, computed_at = indicators.dashboard_cached(
        clinic_ids, start, end, today, now=now, fresh=request.GET.get("fresh") == "1"
    )
    cand_page = _int(request.GET.get("cpage"))
    candidates, cand_next = indicators.augmentation_candidates(
        clinic_ids, todays, limit=20, offset=(cand_page - 1) * 20
    )
    # The indicators are counts; the candidates list names patients.
    audit.note(
        request, patient_ids=[c.task.patient_id for c in candidates], action="dashboard.list"
    )
    period_qs = urlencode(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            **({"clinic": request.GET["clinic"]} if request.GET.get("clinic") else {}),
        }
    )
    chart = {
        "labels": [m["month"].strftime("%b %Y") for m in board.months],
        "series": [
            {"label": ind.title, "data": [m[ind.code] for m in board.months]}
            for ind in indicators.INDICATORS
        ],
        # Most indicators' target (the 3-month review's is 90 %).
        "target": 80,
    }
    phases = indicators.phase_distribution(clinic_ids)
    return render(
        request,
        "pathways/dashboard.html",
        {
            "board": board,
            "computed_at": computed_at,
            "start": start,
            "end": end,
            "today": today,
            "period_qs": period_qs,
            "presets": _presets(today),
            "selected_clinic": request.GET.get("clinic", ""),
            "phases": phases,
            "phase_max": max((n for _p, n in phases), default=0) or 1,
            "overdue": indicators.overdue_by_rule(clinic_ids, todays),
            "candidates": candidates,
            "period_problem": period_problem,
            "small_denominator": indicators.SMALL_DENOMINATOR,
            # The physician's own to-do list leads the page for a physician.
            "candidates_first": any(scope.is_physician(c) for c in clinic_ids),
            "cand_next": cand_next,
            "cand_page": cand_page,
            "chart": chart,
        },
    )


DRILL_PAGE = 50


@login_required
@require_GET
def indicator_drilldown(request: HttpRequest, code: str) -> HttpResponse | StreamingHttpResponse:
    now = timezone.now()
    if code not in indicators.BY_CODE:
        raise Http404("No such indicator")
    scope, clinic_ids, todays, today = _dashboard_scope(request, now)
    start, end, _problem = _period(request.GET, today)
    which = request.GET.get("which", "gap")
    if which not in ("numerator", "denominator", "gap"):
        which = "gap"
    qs = indicators.drilldown(code, which, clinic_ids, start, end, today)
    if request.GET.get("format") == "csv":

        def rows() -> Iterator[list[str]]:
            yield [
                "patient",
                "mrn",
                "birth_date",
                "levels",
                "identified_date",
                "phase",
                "etiology",
                "in_numerator",
            ]
            field = indicators.NUMERATOR_FIELD[code]
            for ep in qs.iterator(chunk_size=2000):
                p = ep.patient
                audit.note(request, patient_ids=[p.id], action="drilldown.export")
                yield [
                    f"{p.family_name}, {p.given_name}",
                    p.mrn,
                    p.birth_date.isoformat(),
                    "/".join(ep.levels),
                    ep.identified_date.isoformat(),
                    ep.phase,
                    ep.etiology,
                    "yes" if getattr(ep, field) else "no",
                ]

        return _csv_response(rows(), f"{code}-{which}-{start}-{end}.csv")
    total = qs.count()
    page = _int(request.GET.get("page"))
    pages = max(1, -(-total // DRILL_PAGE))
    page = min(page, pages)
    episodes = list(qs[(page - 1) * DRILL_PAGE : page * DRILL_PAGE])
    audit.note(request, patient_ids=[e.patient_id for e in episodes], action="drilldown.list")
    base = {"from": start.isoformat(), "to": end.isoformat()}
    if request.GET.get("clinic"):
        base["clinic"] = request.GET["clinic"]
    return render(
        request,
        "pathways/drilldown.html",
        {
            "indicator": indicators.BY_CODE[code],
            "which": which,
            "episodes": episodes,
            "numerator_field": indicators.NUMERATOR_FIELD[code],
            "total": total,
            "page": page,
            "pages": pages,
            "start": start,
            "end": end,
            "tabs": [
                (w, label, urlencode({**base, "which": w}))
                for w, label in (
                    ("gap", "Not met (to act on)"),
                    ("numerator", "Numerator"),
                    ("denominator", "Denominator"),
                )
            ],
            "base_qs": urlencode({**base, "which": which}),
            "prev_qs": urlencode({**base, "which": which, "page": page - 1}),
            "next_qs": urlencode({**base, "which": which, "page": page + 1}),
        },
    )


# -------------------------------------------------------- rule catalogue --
@audit.exempt
@login_required
@require_GET
def rule_catalogue(request: HttpRequest) -> HttpResponse:
    """Every rule of every pathway version, generated from the rule sets."""
    return render(request, "pathways/rules.html", {"versions": catalogue.build_catalogue()})
