"""The browsable API reference at ``/api/docs/`` (Swagger UI, self-hosted)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

# Swagger UI's script comes from our static files and its initialiser from a
# separate URL (the "split" view), so scripts stay 'self'; it styles elements
# from script, which needs inline styles.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)


class ApiDocsView(SpectacularSwaggerSplitView):
    audit_exempt = True
    schema = None

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_POLICY
        return response
