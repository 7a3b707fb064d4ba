"""Error answers outside the views: JSON under /api/, pages elsewhere.

Django answers a refused CSRF check, a bad request (a disallowed host, a
body too large), an unknown URL and an uncaught exception itself, with HTML.
A REST client gets the API's one error format on every /api/ path instead
(``vcftrack.core.api.errors``), whatever went wrong and wherever.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from vcftrack.core.api.errors import ApiError, error_body

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(
        error_body(ApiError(detail, status_code=status, code=code)),
        status=status,
        headers={"Cache-Control": "no-store"},
    )


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if is_api(request):
        return api_error(400, "invalid", "The request could not be read.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if is_api(request):
        return api_error(403, "permission_denied", "You do not have permission.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if is_api(request):
        return api_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return api_error(
            500, "server_error", "Something went wrong on our side; it has been logged."
        )
    return defaults.server_error(request)


CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "invalid",
    415: "unsupported_media_type",
    429: "throttled",
}


class ApiJsonErrorsMiddleware:
    """The last guard of the error contract: an error answer under /api/ that
    is not JSON (the schema view's 405 in YAML, the docs page's HTML 405)
    becomes the API's error format, with the same status and headers."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        if (
            is_api(request)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            replaced = api_error(
                status,
                CODES.get(status, "server_error" if status >= 500 else "invalid"),
                response.reason_phrase or "Error.",
            )
            for header in ("Allow", "WWW-Authenticate", "Retry-After", "X-Request-ID"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response
