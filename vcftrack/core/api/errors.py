"""One error format for every answer that is not a success.

```json
{"status": 400, "code": "invalid", "detail": "2 fields are invalid.",
 "errors": {"levels": ["'L6' is not a vertebral level (T1-L5)."],
            "onset_date": ["Must not be in the future (today is 2026-11-22)."]}}
```

``errors`` maps each bad field (or query parameter, or header) to its
messages; bulk requests add ``items``: ``[{"index": 3, "errors": {...}}]``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from vcftrack.core import errors as domain

NON_FIELD = "non_field_errors"


class ApiError(exceptions.APIException):
    """An error answer with a code and optional per-field messages."""

    def __init__(
        self,
        detail: str,
        *,
        status_code: int,
        code: str,
        errors: dict[str, list[str]] | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.code = code
        self.message = detail
        self.errors = errors or {}
        self.items = items


def field_error(field: str, message: str, *, status_code: int = 400) -> ApiError:
    return ApiError(
        f"Invalid {field}.", status_code=status_code, code="invalid", errors={field: [message]}
    )


def invalid(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(_summary(errors), status_code=400, code="invalid", errors=errors)


def not_found(detail: str = "Not found.") -> ApiError:
    return ApiError(detail, status_code=404, code="not_found")


def precondition_failed(current_etag: str) -> ApiError:
    return ApiError(
        f"The object has changed (current ETag {current_etag}); fetch it and retry.",
        status_code=412,
        code="precondition_failed",
        errors={"If-Match": [f"Does not match the current version {current_etag}."]},
    )


def _summary(errors: dict[str, list[str]]) -> str:
    if len(errors) == 1:
        return f"Invalid {next(iter(errors))}."
    return f"{len(errors)} fields are invalid."


def messages_of(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {NON_FIELD: [str(m) for m in exc.messages]}


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"a.b.0": [..]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = NON_FIELD if key == "non_field_errors" and not prefix else str(key)
            for k, v in flatten(value, f"{prefix}.{name}" if prefix else name).items():
                out.setdefault(k, []).extend(v)
    elif (
        isinstance(detail, list) and detail and all(not isinstance(d, dict | list) for d in detail)
    ):
        out[prefix or NON_FIELD] = [str(d) for d in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            for k, v in flatten(value, f"{prefix}.{index}" if prefix else str(index)).items():
                out.setdefault(k, []).extend(v)
    else:
        out[prefix or NON_FIELD] = [str(detail)]
    return out


def as_api_error(exc: Exception) -> ApiError | None:
    """Map service and framework exceptions to an ApiError."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DjangoValidationError):
        return invalid(messages_of(exc))
    if isinstance(exc, domain.NotFound):
        return not_found(exc.message)
    if isinstance(exc, domain.PermissionDenied):
        return ApiError(exc.message, status_code=403, code="permission_denied")
    if isinstance(exc, domain.DomainError):
        # A state change that is not allowed now (closing a closed task, ...).
        return ApiError(
            exc.message,
            status_code=409,
            code="conflict",
            errors={exc.field or NON_FIELD: [exc.message]},
        )
    if isinstance(exc, Http404 | exceptions.NotFound):
        return not_found()
    if isinstance(exc, DjangoPermissionDenied):
        return ApiError("You do not have permission.", status_code=403, code="permission_denied")
    if isinstance(exc, exceptions.ValidationError):
        return invalid(flatten(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return ApiError(
            f"Malformed request body: {exc.detail}",
            status_code=400,
            code="parse_error",
            errors={"body": [str(exc.detail)]},
        )
    if isinstance(exc, exceptions.APIException):
        codes = {
            401: "not_authenticated",
            403: "permission_denied",
            405: "method_not_allowed",
            406: "not_acceptable",
            415: "unsupported_media_type",
            429: "throttled",
        }
        code = codes.get(exc.status_code, str(exc.default_code))
        return ApiError(str(exc.detail), status_code=exc.status_code, code=code)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    error = as_api_error(exc)
    if error is None:
        return drf_exception_handler(exc, context)
    response = error_response(error)
    # Keep the framework's headers (WWW-Authenticate, Allow, Retry-After).
    base = drf_exception_handler(exc, context) if isinstance(exc, exceptions.APIException) else None
    if base is not None:
        for header in ("WWW-Authenticate", "Allow", "Retry-After"):
            if header in base:
                response[header] = base[header]
    if error.status_code == 401 and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def error_body(error: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": error.status_code,
        "code": error.code,
        "detail": error.message,
        "errors": error.errors,
    }
    if error.items is not None:
        body["items"] = error.items
    return body


def error_response(error: ApiError) -> Response:
    return Response(error_body(error), status=error.status_code)


# ----------------------------------------------------------------- schema --
class ItemErrorSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="Position of the item in the request's `items`.")
    errors = serializers.DictField(  # type: ignore[assignment]  # schema only
        child=serializers.ListField(child=serializers.CharField())
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every error answer."""

    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.ChoiceField(
        choices=[
            "invalid",
            "parse_error",
            "not_authenticated",
            "permission_denied",
            "not_found",
            "method_not_allowed",
            "not_acceptable",
            "conflict",
            "precondition_failed",
            "unsupported_media_type",
            "idempotency_key_reused",
            "throttled",
            "server_error",
        ],
        help_text="Machine-readable kind of error.",
    )
    detail = serializers.CharField(help_text="Human-readable summary.")
    errors = serializers.DictField(  # type: ignore[assignment]  # schema only
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each bad field, query parameter or header, with its messages "
        "(`non_field_errors` for the request as a whole).",
    )
    items = ItemErrorSerializer(
        many=True, required=False, help_text="Bulk requests only: the errors of each bad item."
    )

    class Meta:
        ref_name = "Error"
