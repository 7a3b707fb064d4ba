"""Session limits, the sign-in lockout's answer and ``Cache-Control: no-store``.

- A web session ends after ``SESSION_IDLE_MINUTES`` (30) without a request
  and ``SESSION_MAX_HOURS`` (12) after sign-in, whatever happens: a shared
  ward computer left signed in does not stay open on a patient list.
- Too many wrong passwords (django-axes, counted in the database so every
  process sees them) lock the account for a while; the sign-in page says so
  in plain words.
- Every answer that is not a static file carries ``Cache-Control: no-store``
  (patient pages, htmx partials, API answers, CSV and FHIR exports): no
  browser or proxy keeps a copy of patient data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from vcftrack.core.error_pages import api_error, is_api

LOGIN_AT = "vcftrack_login_at"
SEEN_AT = "vcftrack_seen_at"
# Why the last session ended, shown once on the sign-in page.
SIGNED_OUT = "vcftrack_signed_out"
# The idle clock is written at most this often (seconds): not a session
# write on every request.
SEEN_RESOLUTION = 60

IDLE_MESSAGE = "You were signed out after {minutes} minutes without activity. Sign in again."
MAX_MESSAGE = (
    "You were signed out because you signed in more than {hours} hours ago. Sign in again."
)
LOCKED_MESSAGE = (
    "Too many wrong passwords for this account. For your patients' safety it is locked "
    "for {minutes} minutes; try again then, or ask your administrator."
)


def session_expiry(*, login_at: float, seen_at: float, now: float) -> str | None:
    """Why a session has ended at ``now`` (``"idle"`` or ``"max"``), or None."""
    if now - login_at >= settings.SESSION_MAX_HOURS * 3600:
        return "max"
    if now - seen_at >= settings.SESSION_IDLE_MINUTES * 60:
        return "idle"
    return None


def signed_out_message(reason: str | None) -> str:
    if reason == "idle":
        return IDLE_MESSAGE.format(minutes=settings.SESSION_IDLE_MINUTES)
    if reason == "max":
        return MAX_MESSAGE.format(hours=settings.SESSION_MAX_HOURS)
    return ""


def start_session_clock(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """On sign-in (``user_logged_in``): the session's absolute and idle clocks
    start now, written with the sign-in's own session save (no extra query)."""
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session[LOGIN_AT] = now
        request.session[SEEN_AT] = now


class SessionLimitsMiddleware:
    """Ends a signed-in session that has been idle or open too long; the
    request then goes on as anonymous (a page redirects to sign-in, an htmx
    request gets its 401, the API its JSON 401)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if session.session_key and request.user.is_authenticated:
            now = timezone.now().timestamp()
            login_at = session.get(LOGIN_AT)
            seen_at = session.get(SEEN_AT)
            if login_at is None or seen_at is None:
                session[LOGIN_AT] = login_at = now
                session[SEEN_AT] = seen_at = now
            reason = session_expiry(login_at=login_at, seen_at=seen_at, now=now)
            if reason is not None:
                logout(request)
                request.session[SIGNED_OUT] = reason
            elif now - seen_at >= SEEN_RESOLUTION:
                session[SEEN_AT] = now
        return self.get_response(request)


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: the sign-in page with a sentence."""
    message = LOCKED_MESSAGE.format(minutes=settings.AXES_COOLOFF_MINUTES)
    if is_api(request):
        return api_error(429, "throttled", message)
    form = AuthenticationForm(request, data=None)
    return render(
        request,
        "registration/login.html",
        {"form": form, "locked_out": message},
        status=429,
    )


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every dynamic answer (static files are
    answered earlier, by WhiteNoise, and stay cacheable)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(settings.STATIC_URL):
            # max-age=0, no-cache, no-store, must-revalidate, private
            add_never_cache_headers(response)
        return response
