"""Task actions from the worklist and the patient page, and bulk assignment.

Task actions answer htmx with the task's row (422 with the errors beside the
fields, 403 when the role may not act); without JavaScript they redirect back
to the worklist.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

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
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from pathways.inputs.tasks import (
    parse_assign,
    parse_call,
    parse_complete,
    parse_reason,
    parse_snooze,
)
from pathways.models import FollowUpTask
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
from pathways.services.task_results import task_record_result
from pathways.worklist import lookups, selectors
from pathways.worklist.context import (
    preset_until,
    task_action_context,
    worklist_context,
)
from pathways.worklist.forms import RESULT_LABELS, result_data, user_choice
from vcftrack.core import audit
from vcftrack.core.errors import DomainError, FieldErrors, PermissionDenied
from vcftrack.core.labels import FIELD_NAMES, label
from vcftrack.core.web import get_scope, is_htmx

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
def _task_or_404(request: HttpRequest, task_id: uuid.UUID) -> FollowUpTask:
    # Any of the user's clinics, whatever the switcher shows.
    task = lookups.task_row(task_id, [c.id for c in get_scope(request).all_clinics])
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
    now: datetime,
) -> HttpResponse:
    context = _row_context(request, task, now=now, errors=errors, action=action, message=message)
    context["undo"] = undo
    return render(request, "pathways/_task_row.html", context, status=status)


def _row_context(
    request: HttpRequest,
    task: FollowUpTask,
    *,
    now: datetime,
    errors: dict[str, list[str]] | None = None,
    action: str = "",
    message: str = "",
) -> dict[str, Any]:
    scope = get_scope(request)
    todays = scope.todays(now)
    row = selectors.make_row(task, todays)
    row.assignees = lookups.assignable_by_clinic([task.clinic_id])[task.clinic_id]
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


def _act(
    request: HttpRequest, task: FollowUpTask, action: str, now: datetime
) -> tuple[FollowUpTask, str]:
    """Call the service of one action; return the task and what to tell the person."""
    post = request.POST
    actor = request.user
    title = task.title
    # Each action's one parser, as the API's.
    found = FieldErrors()
    if action == "complete":
        done = parse_complete({"outcome": post.get("outcome"), "note": post.get("note")}, found)
        task = task_complete(task=task, actor=actor, **done, now=now, errors=found)
        return task, f"Done: {title}" + (f" ({label(task.outcome)})" if task.outcome else "")
    if action == "not-applicable":
        why = parse_reason({"reason": post.get("reason")}, found)
        task = task_not_applicable(task=task, actor=actor, **why, now=now, errors=found)
        return task, f"Not applicable: {title}"
    if action == "snooze":
        until: Any = post.get("until", "")
        reason = post.get("reason", "")
        preset = preset_until(post.get("preset", ""), task.clinic.today(now))
        if preset is not None:
            until = preset.isoformat()
            reason = reason or "Snoozed from the worklist"
        snooze = parse_snooze({"until": until, "reason": reason}, found)
        task = task_snooze(task=task, actor=actor, **snooze, now=now, errors=found)
        return task, f"Snoozed to {task.snoozed_until:%-d %b %Y}: {title}"
    if action == "assign":
        chosen = parse_assign({"assignee": user_choice(post.get("assignee"))}, found)
        task = task_assign(task=task, actor=actor, **chosen, now=now, errors=found)
        if task.assignee is None:
            return task, f"Unassigned: {title}"
        verb = "Sent to" if post.get("send") else "Assigned to"
        return task, f"{verb} {_who(task.assignee)}: {title}"
    if action == "call":
        call = parse_call(
            {
                "outcome": post.get("call_outcome"),
                "retry_on": post.get("retry_on"),
                "note": post.get("note"),
            },
            found,
        )
        task = task_call(task=task, actor=actor, **call, now=now, errors=found)
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
        why = parse_reason({"reason": post.get("reason")}, found)
        task = task_reopen(task=task, actor=actor, **why, now=now, errors=found)
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
    if not is_htmx(request):
        messages.success(request, f"{message}.")
        return HttpResponseRedirect(_back(request))
    undo = action not in ("undo", "record", "reopen")
    if "filters" in request.POST:
        context = worklist_context(request, QueryDict(request.POST["filters"]), scope, now)
        context["flash"] = {"text": message, "id": task.id, "undo": undo}
        return render(request, "pathways/_worklist_results.html", context)
    task = _task_or_404(request, task.id)
    return _render_row(request, task, message=message, undo=undo, now=now)


def _respond_error(
    request: HttpRequest,
    task: FollowUpTask,
    now: datetime,
    action: str,
    status: int,
    errors: dict[str, list[str]],
) -> HttpResponse:
    texts = [t for field_texts in errors.values() for t in field_texts]
    if status == 403:
        # A refused write is a 403 whatever the client: a short message the
        # page shows in the row (never a page inside a fragment).
        return HttpResponse(" ".join(texts), status=403, content_type="text/plain")
    if not is_htmx(request):
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
    tasks = lookups.tasks_for_bulk(ids, [c.id for c in scope.all_clinics])
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
                found = FieldErrors()
                chosen = parse_assign({"assignee": user_choice(assignee)}, found)
                for task in tasks:
                    task = task_assign(
                        task=task, actor=request.user, **chosen, now=now, errors=found
                    )
            n = f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}"
            done = (
                f"Assigned {n} to {_who(task.assignee)}." if task.assignee else f"Unassigned {n}."
            )
        except ValidationError as exc:
            problems.extend(t for texts in exc.message_dict.values() for t in texts)
        except DomainError as exc:
            problems.append(exc.message)
    if not is_htmx(request):
        for p in problems:
            messages.error(request, p)
        if done:
            messages.success(request, done)
        return HttpResponseRedirect(reverse("worklist") + "?" + filters.urlencode())
    context = worklist_context(request, filters, scope, now)
    context["bulk_problems"] = problems
    context["bulk_message"] = done
    return render(
        request, "pathways/_worklist_results.html", context, status=422 if problems else 200
    )
