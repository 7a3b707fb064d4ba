from __future__ import annotations

from django.urls import URLPattern, path

from notifications import views

urlpatterns: list[URLPattern] = [
    path("", views.inbox, name="inbox"),
    path("read-all/", views.mark_all_read, name="inbox_read_all"),
    path("<int:notification_id>/read/", views.mark_read, name="inbox_read"),
    path("preferences/", views.preferences, name="notification_preferences"),
]
