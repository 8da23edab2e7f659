from __future__ import annotations

from django.urls import path

from sync.audit import views

urlpatterns = [
    path("admin-settings/audit/", views.audit_trail, name="audit-trail"),
    path("admin-settings/audit/audit-trail.csv", views.audit_trail_csv, name="audit-trail-csv"),
]
