"""The REST API: Django REST framework and the OpenAPI schema (drf-spectacular)."""

from __future__ import annotations

__all__ = ["REST_FRAMEWORK", "SPECTACULAR_SETTINGS"]

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "vcftrack.core.api.schema.ApiAutoSchema",
    # Token first: its WWW-Authenticate makes unauthenticated requests 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "vcftrack.core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "vcftrack.core.api.errors.exception_handler",
    # issue 9: a nesting limit on JSON bodies; throttles per token and per user.
    "DEFAULT_PARSER_CLASSES": ["vcftrack.core.api.parsers.SafeJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["vcftrack.core.api.throttling.ClientRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "vcftrack API",
    "DESCRIPTION": "Follow-up tracker for osteoporotic vertebral compression fractures. "
    "Error format, sync algorithm, ETags, idempotency and bulk writes: docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["vcftrack.core.api.schema.only_the_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "vcftrack.core.api.schema.strict_request_bodies",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ObservationKindEnum": "pathways.models.ObservationKind",
        "ProcedureKindEnum": "pathways.models.ProcedureKind",
        "VertebralLevelEnum": "pathways.levels.LEVELS",
        "TaskStatusEnum": "pathways.models.TaskStatus",
        "EpisodeStatusEnum": "pathways.models.EpisodeStatus",
        "CloseReasonEnum": "pathways.models.CloseReason",
    },
    # Swagger UI served from the sidecar package's static files (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}
