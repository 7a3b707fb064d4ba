"""Routes of the REST API: ``/api/v1/...``, ``/api/schema/``, ``/api/docs/``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from notifications import api as notifications_api
from pathways.api import episodes, facts, patient_facts, patients, rules, tasks
from patients.api import clinics
from patients.api import facts as patient_fact_reads
from vcftrack.core.api.docs import ApiDocsView
from vcftrack.core.api.errors import error_body, not_found
from vcftrack.core.api.views import UUID_REGEX
from vcftrack.core.audit.trail import exempt as audit_exempt

router = SimpleRouter()
router.register("clinics", clinics.ClinicViewSet, basename="clinic")
router.register("patients", patients.PatientViewSet, basename="patient")
router.register(
    rf"patients/(?P<patient_pk>{UUID_REGEX})/medications",
    patient_facts.PatientMedicationViewSet,
    basename="patient-medication",
)
router.register(
    rf"patients/(?P<patient_pk>{UUID_REGEX})/bone-density",
    patient_facts.PatientBoneDensityViewSet,
    basename="patient-bone-density",
)
router.register("medications", patient_fact_reads.MedicationViewSet, basename="medication")
router.register("bone-density", patient_fact_reads.BoneDensityViewSet, basename="bone-density")
router.register("episodes", episodes.EpisodeViewSet, basename="episode")
for segment, nested, flat in (
    ("observations", facts.EpisodeObservationViewSet, facts.ObservationViewSet),
    ("imaging", facts.EpisodeImagingViewSet, facts.ImagingViewSet),
    ("procedures", facts.EpisodeProcedureViewSet, facts.ProcedureViewSet),
):
    router.register(
        rf"episodes/(?P<episode_pk>{UUID_REGEX})/{segment}", nested, basename=f"episode-{segment}"
    )
    router.register(segment, flat, basename=segment)
router.register("tasks", tasks.TaskViewSet, basename="task")


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
    path("v1/rules/", rules.RuleCatalogueView.as_view(), name="rule-list"),
    path("v1/webhooks/", include(webhook_urls)),
    path("v1/", include(router.urls)),
    path("schema/", audit_exempt(SpectacularAPIView.as_view()), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^(?P<rest>.*)$", unknown_path),
]
