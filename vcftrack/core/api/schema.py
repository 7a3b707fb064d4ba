"""OpenAPI generation: the error answers, headers and strict request bodies.

Every operation documents each error status it can return (in the one
error format of ``vcftrack.core.api.errors``), the ``ETag`` it returns, and the
``If-Match`` / ``Idempotency-Key`` headers it honours.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from vcftrack.core.api.concurrency import IF_MATCH
from vcftrack.core.api.errors import ErrorSerializer
from vcftrack.core.api.idempotency import MAX_KEY_LENGTH

# What the headers accept (vcftrack.core.api.idempotency, vcftrack.core.api.concurrency),
# as ECMA regular expressions: printable ASCII, no space at either end (HTTP
# strips it); one or more entity tags, or *.
IDEMPOTENCY_KEY_PATTERN = "^[!-~]([ -~]*[!-~])?$"
IF_MATCH_PATTERN = f"^({IF_MATCH.pattern})$"

OBJECT_ACTIONS = frozenset({"retrieve", "create", "update", "partial_update"})

ERROR_DESCRIPTIONS = {
    "400": "Bad input: malformed JSON, unknown or invalid fields, bad query parameters. "
    "`errors` names every bad field.",
    "401": "No credentials, or an invalid or revoked token.",
    "403": "Your role in the object's clinic does not allow this.",
    "404": "No such object in your clinics (another clinic's object is not found either).",
    "406": "The Accept header does not allow JSON.",
    "409": "The change is not allowed in the object's current state.",
    "412": "If-Match does not match the object's current ETag: fetch it and retry.",
    "415": "The body is not JSON (send Content-Type: application/json).",
    "422": "The Idempotency-Key was already used with another method, path or body.",
}


class ApiAutoSchema(AutoSchema):
    def _action(self) -> str:
        return str(getattr(self.view, "action", "") or "")

    def _is_detail(self) -> bool:
        return "{" in self.path

    def _is_object_action(self) -> bool:
        action = self._action()
        return action in OBJECT_ACTIONS or action in getattr(self.view, "object_actions", ())

    def _has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH")

    def _error_codes(self) -> list[str]:
        codes = ["400", "401", "403", "406"]
        if self._is_detail() or self.method == "POST":
            codes.append("404")
        if self.method != "GET":
            codes.append("409")
        if self.method in ("PUT", "PATCH", "DELETE") or (
            self.method == "POST" and self._is_detail()
        ):
            codes.append("412")
        if self._has_body():
            codes.append("415")
        if self.method == "POST":
            codes.append("422")
        return codes

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method in ("PUT", "PATCH", "DELETE") or (
            self.method == "POST" and self._is_detail() and self._is_object_action()
        ):
            params.append(
                OpenApiParameter(
                    "If-Match",
                    {"type": "string", "pattern": IF_MATCH_PATTERN},
                    OpenApiParameter.HEADER,
                    description='The ETag you last saw (e.g. `"v3"`); a stale one gets 412.',
                )
            )
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_KEY_LENGTH,
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                    },
                    OpenApiParameter.HEADER,
                    description="A unique key per logical request (e.g. a UUID): a retry with "
                    "the same key and body replays the first answer and creates nothing. "
                    f"1 to {MAX_KEY_LENGTH} printable ASCII characters (letters, digits, "
                    "punctuation; spaces only inside).",
                )
            )
        if self._is_object_action() and self.method != "DELETE":
            params.append(
                OpenApiParameter(
                    "ETag",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    response=["200", "201"],
                    description="The object's version; send it back in If-Match.",
                )
            )
        return params

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if not self.path.startswith("/api/v1/"):
            return responses
        for code in self._error_codes():
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = body
        return responses


def strict_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Request bodies refuse unknown fields (the API answers 400), so say so."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component.setdefault("additionalProperties", False)
    return result


def only_the_api(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """The schema documents /api/v1/ only (the web UI has DRF-free views)."""
    return [e for e in endpoints if e[0].startswith("/api/v1/")]
