from __future__ import annotations

from django.urls import URLPattern, path

from pathways import views

urlpatterns: list[URLPattern] = [
    path("", views.worklist, name="worklist"),
    path("worklist.csv", views.worklist_csv, name="worklist_csv"),
    path("tasks/bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("tasks/<uuid:task_id>/actions/", views.task_actions, name="task_actions"),
    path("tasks/<uuid:task_id>/<slug:action>/", views.task_action, name="task_action"),
    path("rules/", views.rule_catalogue, name="rule_catalogue"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path(
        "dashboard/indicators/<slug:code>/", views.indicator_drilldown, name="indicator_drilldown"
    ),
]
