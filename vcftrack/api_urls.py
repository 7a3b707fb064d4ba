"""Routes of the REST API: ``/api/v1/...``, ``/api/schema/``, ``/api/docs/``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from notifications import api as notifications_api
from pathways import api as pathways_api
from patients import api as patients_api
from vcftrack.core.api.docs import ApiDocsView
from vcftrack.core.api.errors import error_body, not_found
from vcftrack.core.api.views import UUID_REGEX
from vcftrack.core.audit.trail import exempt as audit_exempt

router = SimpleRouter()
router.register("clinics", patients_api.ClinicViewSet, basename="clinic")
router.register("patients", patients_api.PatientViewSet, basename="patient")
router.register(
    rf"patients/(?P<patient_pk>{UUID_REGEX})/medications",
    patients_api.PatientMedicationViewSet,
    basename="patient-medication",
)
router.register(
    rf"patients/(?P<patient_pk>{UUID_REGEX})/bone-density",
    patients_api.PatientBoneDensityViewSet,
    basename="patient-bone-density",
)
router.register("medications", patients_api.MedicationViewSet, basename="medication")
router.register("bone-density", patients_api.BoneDensityViewSet, basename="bone-density")
router.register("episodes", pathways_api.EpisodeViewSet, basename="episode")
for segment, nested, flat in (
    ("observations", pathways_api.EpisodeObservationViewSet, pathways_api.ObservationViewSet),
    ("imaging", pathways_api.EpisodeImagingViewSet, pathways_api.ImagingViewSet),
    ("procedures", pathways_api.EpisodeProcedureViewSet, pathways_api.ProcedureViewSet),
):
    router.register(
        rf"episodes/(?P<episode_pk>{UUID_REGEX})/{segment}", nested, basename=f"episode-{segment}"
    )
    router.register(segment, flat, basename=segment)
router.register("tasks", pathways_api.TaskViewSet, basename="task")


@csrf_exempt  # it writes nothing: a write to a malformed id is a 404, not a CSRF page
def unknown_path(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other /api/ path (a malformed id, a typo): a 404 in the API's error format."""
    return JsonResponse(error_body(not_found()), status=404)


webhook_urls: list[URLPattern] = [
    path("", notifications_api.SubscriptionList.as_view(), name="webhook-list"),
    path("<uuid:id>/", notifications_api.SubscriptionDetail.as_view(), name="webhook-detail"),
    path(
        "<uuid:id>/rotate-secret/",
        notifications_api.RotateSecret.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "<uuid:id>/deliveries/", notifications_api.DeliveryList.as_view(), name="webhook-deliveries"
    ),
    path(
        "<uuid:id>/deliveries/<uuid:delivery_id>/replay/",
        notifications_api.DeliveryReplay.as_view(),
        name="webhook-delivery-replay",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/rules/", pathways_api.RuleCatalogueView.as_view(), name="rule-list"),
    path("v1/webhooks/", include(webhook_urls)),
    path("v1/", include(router.urls)),
    path("schema/", audit_exempt(SpectacularAPIView.as_view()), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^(?P<rest>.*)$", unknown_path),
]
