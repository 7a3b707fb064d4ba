from __future__ import annotations

from django.urls import URLPattern, path

from pathways import views
from pathways.dashboard import views as dashboard_views
from pathways.worklist import actions as task_views
from pathways.worklist import views as worklist_views

urlpatterns: list[URLPattern] = [
    path("", worklist_views.worklist, name="worklist"),
    path("worklist.csv", worklist_views.worklist_csv, name="worklist_csv"),
    path("tasks/bulk-assign/", task_views.bulk_assign, name="bulk_assign"),
    path("tasks/<uuid:task_id>/actions/", task_views.task_actions, name="task_actions"),
    path("tasks/<uuid:task_id>/<slug:action>/", task_views.task_action, name="task_action"),
    path("rules/", views.rule_catalogue, name="rule_catalogue"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path(
        "dashboard/indicators/<slug:code>/",
        dashboard_views.indicator_drilldown,
        name="indicator_drilldown",
    ),
]
