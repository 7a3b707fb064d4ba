from __future__ import annotations

from django.urls import URLPattern, path

from pathways.chart import facts, history_views, views

urlpatterns: list[URLPattern] = [
    path("", views.patient_list, name="patient_list"),
    path("new/", views.patient_new, name="patient_new"),
    path("<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("<uuid:patient_id>/episodes/", views.episode_new, name="episode_new"),
    path("<uuid:patient_id>/facts/<slug:form_key>/", facts.record_fact, name="record_fact"),
    path("<uuid:patient_id>/void/<slug:kind>/<uuid:fact_id>/", facts.void_fact, name="void_fact"),
    path("<uuid:patient_id>/history/", history_views.patient_history_page, name="patient_history"),
    path(
        "<uuid:patient_id>/episodes/<uuid:episode_id>/history/",
        history_views.episode_history_page,
        name="episode_history",
    ),
    path("access-audit/", history_views.audit_export, name="audit_export"),
]
