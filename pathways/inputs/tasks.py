"""The parsers of a person's actions on a task: complete, not applicable,
snooze, reopen, assign, a phone call.

What depends on the task (the outcomes its rule offers, a date after the
clinic's today, an assignee of its clinic) is the service's to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict

from pathways.models import CallOutcome
from patients.inputs import parse_date, parse_text, refuse_unknown
from vcftrack.core.errors import FieldErrors

MAX_TEXT = 2000
# A user id: a positive integer a JSON number holds exactly and the database stores.
MAX_USER_ID = 2**31 - 1
# Calls that need another try (a retry date); the others stand on their own.
RETRY_OUTCOMES = (CallOutcome.NO_ANSWER, CallOutcome.LEFT_MESSAGE)


class CompleteValues(TypedDict):
    outcome: str
    note: str


class ReasonValues(TypedDict):
    """Not applicable, reopen: why."""

    reason: str


class SnoozeValues(TypedDict):
    until: date | None
    reason: str


class AssignValues(TypedDict):
    # None: unassign.
    assignee: int | None


class CallValues(TypedDict):
    outcome: str
    retry_on: date | None
    note: str


def _reason(errors: FieldErrors, data: Mapping[str, Any]) -> str:
    return parse_text(errors, "reason", data.get("reason"), max_length=MAX_TEXT, required=True)


def parse_complete(data: Mapping[str, Any], errors: FieldErrors) -> CompleteValues:
    refuse_unknown(errors, data, CompleteValues.__annotations__)
    return CompleteValues(
        outcome=parse_text(errors, "outcome", data.get("outcome"), max_length=48, required=False),
        note=parse_text(errors, "note", data.get("note"), max_length=MAX_TEXT, required=False),
    )


def parse_reason(data: Mapping[str, Any], errors: FieldErrors) -> ReasonValues:
    refuse_unknown(errors, data, ReasonValues.__annotations__)
    return ReasonValues(reason=_reason(errors, data))


def parse_snooze(data: Mapping[str, Any], errors: FieldErrors) -> SnoozeValues:
    refuse_unknown(errors, data, SnoozeValues.__annotations__)
    return SnoozeValues(
        until=parse_date(errors, "until", data.get("until")), reason=_reason(errors, data)
    )


def parse_assign(data: Mapping[str, Any], errors: FieldErrors) -> AssignValues:
    """A user id (an integer; the web form turns its choice into one) or null."""
    refuse_unknown(errors, data, AssignValues.__annotations__)
    if "assignee" not in data:
        errors.add("assignee", "This field is required.")
    value = data.get("assignee")
    if value is None:
        return AssignValues(assignee=None)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_USER_ID:
        errors.add("assignee", "Must be a user id (integer) or null.")
        return AssignValues(assignee=None)
    return AssignValues(assignee=value)


def parse_call(data: Mapping[str, Any], errors: FieldErrors) -> CallValues:
    """A phone call: what happened, when to try again (required for a call
    to try again), a note."""
    refuse_unknown(errors, data, CallValues.__annotations__)
    outcome = data.get("outcome")
    if outcome not in CallOutcome.values:
        errors.add("call_outcome", "Choose what happened on the call.")
        outcome = ""
    retry = parse_date(errors, "retry_on", data.get("retry_on"), required=outcome in RETRY_OUTCOMES)
    return CallValues(
        outcome=str(outcome),
        retry_on=retry,
        note=parse_text(errors, "note", data.get("note"), max_length=MAX_TEXT, required=False),
    )
