"""Writes the access audit of every request that touched patient data.

A view (or API viewset) notes the patients it showed or changed
(``vcftrack.core.audit.note``); at the end of the request this middleware writes
those notes in one INSERT, with the actor, the outcome (the HTTP status), the
IP and the request id. A request that noted nothing is still written when it
was aimed at patient data: denied or failed (403, 404, 400 ...) as an attempt,
and a success as ``unnoted:<route>`` with a warning - the URLconf test fails
on those, so a new view cannot forget its audit silently.

Not written: routes marked ``audit.exempt`` (sign-in, the rule catalogue,
the API schema ...), admin pages of models without patient data, and
requests by someone not signed in (they are sent to sign in and see nothing).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import ResolverMatch
from django.utils import timezone

from vcftrack.core.audit.services import access_record_many, client_of
from vcftrack.core.audit.trail import Trail

log = logging.getLogger(__name__)

PATIENT_KWARGS = ("patient_id", "patient_pk")


def _request_id(request: HttpRequest) -> uuid.UUID:
    try:
        return uuid.UUID(request.headers.get("X-Request-ID", ""))
    except ValueError:
        return uuid.uuid4()


def is_exempt(match: ResolverMatch) -> bool:
    func = match.func
    for holder in (func, getattr(func, "cls", None), getattr(func, "view_class", None)):
        if holder is not None and getattr(holder, "audit_exempt", False):
            return True
    return False


def route_name(match: ResolverMatch) -> str:
    return match.view_name or match._func_path


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        trail = Trail(request_id=_request_id(request))
        request.audit_trail = trail  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = str(trail.request_id)
        if isinstance(response, StreamingHttpResponse):
            # A streamed export notes its rows as it produces them.
            response.streaming_content = self._after(
                request, response, trail, response.streaming_content
            )
        else:
            self.write(request, response, trail)
        return response

    def _after(
        self,
        request: HttpRequest,
        response: StreamingHttpResponse,
        trail: Trail,
        content: Iterable[Any],
    ) -> Iterator[Any]:
        try:
            yield from content
        finally:
            self.write(request, response, trail)

    def write(self, request: HttpRequest, response: HttpResponse | Any, trail: Trail) -> None:
        if trail.written:
            return
        user = getattr(request, "user", None)
        match = request.resolver_match
        if user is None or not user.is_authenticated or match is None or is_exempt(match):
            return
        status = int(response.status_code)
        entries = list(trail.entries)
        if not entries:
            if match.namespace == "admin":
                return
            name = route_name(match)
            if status < 400:
                log.warning("audit: %s showed patient data without noting it", name)
                name = f"unnoted:{name}"
            patient = next(
                (str(match.kwargs[k]) for k in PATIENT_KWARGS if k in match.kwargs), None
            )
            try:
                pid = uuid.UUID(patient) if patient else None
            except ValueError:
                pid = None
            entries = [(name, pid)]
        access_record_many(
            trail=trail,
            entries=entries,
            user=user,
            client=client_of(getattr(request, "auth", None)),
            outcome=status,
            ip=request.META.get("REMOTE_ADDR"),
            path=request.get_full_path(),
            now=timezone.now(),
        )
