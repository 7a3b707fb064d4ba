from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from vcftrack.core import web

# JSON under /api/, pages elsewhere (vcftrack.core.error_pages).
handler400 = "vcftrack.core.error_pages.bad_request"
handler403 = "vcftrack.core.error_pages.permission_denied"
handler404 = "vcftrack.core.error_pages.page_not_found"
handler500 = "vcftrack.core.error_pages.server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # REST API (issue 3): /api/v1/..., /api/schema/, /api/docs/.
    path("api/", include("vcftrack.api_urls")),
    # Web app (issue 4): sign-in, clinic switcher, worklist, dashboard, patients.
    path("accounts/login/", web.LoginView.as_view(), name="login"),
    path("accounts/logout/", web.LogoutView.as_view(), name="logout"),
    path("accounts/clinic/", web.switch_clinic, name="switch_clinic"),
    path("patients/", include("pathways.chart.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("pathways.urls")),
]
