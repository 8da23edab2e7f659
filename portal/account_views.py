"""Password reset and invitation pages: Django's auth views with the portal's templates, and a limit."""

from __future__ import annotations

from axes.utils import reset as reset_lockouts
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.views.decorators.http import require_http_methods

from portal import accounts
from portal.forms import PasswordResetForm

LIFETIME = {"lifetime": lazy(accounts.link_lifetime, str)()}

_reset = auth_views.PasswordResetView.as_view(
    form_class=PasswordResetForm,
    template_name="portal/password_reset.html",
    email_template_name="portal/email/password_reset.txt",
    subject_template_name="portal/email/password_reset_subject.txt",
    success_url=reverse_lazy("password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="portal/password_reset_sent.html", extra_context=LIFETIME
)


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Django's set-password page from an emailed link, which also lifts the account's login lockout:
    whoever holds the link owns the mailbox, so the admin locked out after wrong passwords who resets the
    password logs in with the new one at once, not after the lockout's 15 minutes."""

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_lockouts(username=form.user.get_username())
        return response


password_reset_confirm = SetPasswordView.as_view(template_name="portal/set_password.html", extra_context=LIFETIME)
invitation = SetPasswordView.as_view(
    template_name="portal/set_password.html", extra_context={**LIFETIME, "welcome": True}
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_set.html")


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponseBase:
    """Django's reset view behind a per-address limit (the per-email one is in the form, and silent)."""
    if request.method == "POST" and not accounts.reset_allowed_from(request):
        ctx = {"form": PasswordResetForm(request.POST), "limited": True}
        return render(request, "portal/password_reset.html", ctx, status=429)
    return _reset(request)
