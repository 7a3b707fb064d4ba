"""Cross-cutting pieces of the web app: sign-in, the clinic switcher, the scope.

A signed-in user sees the clinics they are a member of. Someone in several
clinics picks one with the switcher (kept in the session) or "all my
clinics"; every page reads that choice through ``get_scope(request)``, which
costs one query per request and primes the role cache that the services use.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from vcftrack.core.audit.trail import exempt as audit_exempt
from vcftrack.core.error_pages import api_error
from vcftrack.core.scoping import ClinicLike, Role, clinic_today, may_write, remember_roles
from vcftrack.core.sessions import SIGNED_OUT, signed_out_message

SESSION_KEY = "vcftrack_clinic"


class MembershipLike(Protocol):
    """A user's membership of one clinic (``patients.models.Membership``)."""

    @property
    def clinic(self) -> ClinicLike: ...
    @property
    def clinic_id(self) -> uuid.UUID: ...
    @property
    def role(self) -> str: ...


@dataclass
class Scope:
    """The clinics a request may see, and the user's role in each."""

    memberships: list[MembershipLike]
    selected: ClinicLike | None = None
    roles: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def all_clinics(self) -> list[ClinicLike]:
        return [m.clinic for m in self.memberships]

    @property
    def clinics(self) -> list[ClinicLike]:
        return [self.selected] if self.selected else self.all_clinics

    @property
    def clinic_ids(self) -> list[uuid.UUID]:
        return [c.id for c in self.clinics]

    def clinic(self, clinic_id: uuid.UUID) -> ClinicLike | None:
        for c in self.all_clinics:
            if c.id == clinic_id:
                return c
        return None

    def role(self, clinic_id: uuid.UUID) -> str | None:
        return self.roles.get(clinic_id)

    def can_write(self, clinic_id: uuid.UUID) -> bool:
        return may_write(self.roles.get(clinic_id))

    @property
    def can_write_any(self) -> bool:
        return any(self.can_write(c.id) for c in self.clinics)

    @property
    def writable_clinics(self) -> list[ClinicLike]:
        return [c for c in self.clinics if self.can_write(c.id)]

    def is_physician(self, clinic_id: uuid.UUID) -> bool:
        return self.roles.get(clinic_id) == Role.PHYSICIAN

    def todays(self, now: datetime) -> dict[uuid.UUID, date]:
        """Each clinic's calendar date: due dates are dates in the clinic's zone."""
        return {c.id: clinic_today(c.timezone, now) for c in self.all_clinics}


def get_scope(request: HttpRequest) -> Scope:
    cached = getattr(request, "_vcftrack_scope", None)
    if cached is not None:
        return cached
    user = request.user
    memberships: list[MembershipLike] = []
    if user.is_authenticated:
        related = user.memberships
        memberships = list(related.select_related("clinic").order_by("clinic__name"))
        # Prime the scoping caches: the services ask for roles again.
        remember_roles(user, {m.clinic_id: m.role for m in memberships})
    scope = Scope(memberships=memberships, roles={m.clinic_id: m.role for m in memberships})
    wanted = request.session.get(SESSION_KEY) if user.is_authenticated else None
    if wanted:
        scope.selected = next((c for c in scope.all_clinics if str(c.id) == wanted), None)
    request._vcftrack_scope = scope  # type: ignore[attr-defined]
    return scope


def clinic_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the scope (lazily, so anonymous pages cost nothing)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"scope": get_scope(request)}


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    audit_exempt = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # Why the last session ended (idle, too long), said once.
        context["signed_out"] = signed_out_message(self.request.session.pop(SIGNED_OUT, None))
        return context


class LogoutView(auth_views.LogoutView):
    audit_exempt = True


@audit_exempt
@login_required
@require_POST
def switch_clinic(request: HttpRequest) -> HttpResponse:
    """Remember the clinic to work in ("" = all my clinics); unknown ids are ignored."""
    scope = get_scope(request)
    wanted = request.POST.get("clinic", "")
    if wanted and any(str(c.id) == wanted for c in scope.all_clinics):
        request.session[SESSION_KEY] = wanted
    else:
        request.session.pop(SESSION_KEY, None)
    target = request.POST.get("next") or reverse("worklist")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("worklist")
    # Filters in the old URL may name the other clinic: drop the query string.
    return HttpResponseRedirect(target.split("?")[0])


def is_htmx(request: HttpRequest) -> bool:
    """The request comes from htmx (it wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def page_number(value: str | None, default: int = 1) -> int:
    """A ``?page=`` value as a page number: 1 or more, the default when unreadable."""
    try:
        return max(1, int(value or default))
    except ValueError:
        return default


class _Echo:
    """A file-like object that hands back what is written (for streaming CSV)."""

    def write(self, value: str) -> str:
        return value


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: cells starting with = + - @ run as
    formulas (CSV injection); plain numbers are left alone."""
    if value and value[0] in "=+-@" and not value.lstrip("-").replace(".", "").isdigit():
        return "'" + value
    return value


def csv_response(
    rows: Iterator[list[str]], filename: str, content_type: str = "text/csv"
) -> StreamingHttpResponse:
    """Stream ``rows`` as a CSV download, each cell made safe for spreadsheets."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([csv_safe(c) for c in r]) for r in rows), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class HtmxSignedOutMiddleware:
    """A request from a page whose session has ended answers 401 with one
    sentence, not the sign-in page: htmx would follow the redirect and put the
    whole sign-in page inside a task row. The page's script turns the 401 into
    "signed out, sign in again" with a link back to the same page."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        if (
            is_htmx(request)
            and response.status_code == 302
            and response.get("Location", "").startswith(settings.LOGIN_URL)
        ):
            return HttpResponse(
                "You were signed out; sign in again.", status=401, content_type="text/plain"
            )
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (stale or missing security token): a sentence, never
    Django's debug page, and for a page request a page that says what to do."""
    if request.path.startswith("/api/"):
        # An API client (a session-cookie client without the token, or any
        # write to an unknown path) gets the API's error format.
        return api_error(
            403,
            "permission_denied",
            "CSRF check failed: a request signed in with a session cookie must send "
            "the X-CSRFToken header (or use an API token).",
        )
    text = "This page's security check has expired. Reload the page and try again."
    if is_htmx(request):
        return HttpResponse(text, status=403, content_type="text/plain")
    return render(request, "403.html", {"message": text}, status=403)
