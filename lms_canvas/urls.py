from __future__ import annotations

from django.urls import path

from lms_canvas import views

urlpatterns = [
    path("admin-settings/lms/", views.lms_settings, name="lms-settings"),
    path("admin-settings/lms/generate-key/", views.generate_key, name="canvas-generate-key"),
    path("admin-settings/lms/reverify/", views.reverify, name="canvas-reverify"),
    path("admin-settings/lms/disconnect/", views.disconnect, name="canvas-disconnect"),
    path("admin-settings/lms/configure/", views.configure, name="canvas-configure"),
    path("lms/canvas/callback/", views.callback, name="canvas-callback"),
]
