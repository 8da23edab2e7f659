from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from portal import account_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("admin-settings/", views.global_settings, name="global-settings"),
    path("admin-settings/schedule/", views.schedule_settings, name="schedule-settings"),
    path("admin-settings/setup-guide/", views.setup_guide, name="setup-guide"),
    path("departments/<int:department_id>/", views.department, name="department"),
    path("courses/<int:course_id>/", views.course, name="course"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="portal/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", account_views.password_reset, name="password_reset"),
    path("password-reset/sent/", account_views.password_reset_done, name="password_reset_done"),
    path("password-reset/done/", account_views.password_reset_complete, name="password_reset_complete"),
    path("password-reset/<uidb64>/<token>/", account_views.password_reset_confirm, name="password_reset_confirm"),
    path("welcome/<uidb64>/<token>/", account_views.invitation, name="invitation"),
    # Named as Django admin expects, so its login page offers "Forgotten your password?" too.
    path(
        "support/password-reset/",
        RedirectView.as_view(pattern_name="password_reset"),
        name="admin_password_reset",
    ),
    path("support/", admin.site.urls),
    path("", include("lms_canvas.urls")),
    path("", include("sync.urls")),
    path("", include("sync.audit.urls")),
    path("", include("sync.live.urls")),
]
