from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # REST API (issue 3): /api/v1/..., /api/schema/, /api/docs/.
    path("api/", include("vcftrack.api.urls")),
]
