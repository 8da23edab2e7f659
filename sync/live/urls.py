from __future__ import annotations

from django.urls import path

from sync.live import views

urlpatterns = [
    path("live-events/canvas/<str:token>/", views.webhook, name="live-events-webhook"),
    path("admin-settings/lms/instant-sync/", views.instant_sync_switch, name="instant-sync-switch"),
    path("admin-settings/lms/instant-sync/new-address/", views.instant_sync_rotate, name="instant-sync-rotate"),
]
