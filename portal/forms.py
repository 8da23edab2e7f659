"""Forms of the portal's own pages: password reset, and support's invitation of an institution admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from portal import accounts

ALREADY_ADMIN = "{email} already administers {institution}."
ALREADY_USER = (
    "A user with this email already exists ({username}). Choose them under Institution admins on the "
    "institution's page instead."
)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, for institution admins and support only, including an invited admin who has not
    set a password yet; at most PASSWORD_RESET_LIMIT_PER_EMAIL emails an hour to one address."""

    def get_users(self, email: str):
        users = (
            get_user_model()
            ._default_manager.filter(email__iexact=email, is_active=True)
            .filter(Q(is_staff=True) | Q(institution_membership__isnull=False))
        )
        return (u for u in users if u.email.casefold() == email.casefold())

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Counted whether or not the address has an account, and silent: the page says the same either way.
        if not accounts.reset_allowed_for(self.cleaned_data["email"]):
            return
        kwargs["extra_email_context"] = {**(kwargs.get("extra_email_context") or {}), **accounts.email_context()}
        super().save(*args, **kwargs)


class InviteAdminForm(forms.Form):
    email = forms.EmailField(max_length=150, help_text="They log in with it; the invitation goes there.")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)

    def clean_email(self) -> str:
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"].strip())
        existing = (
            get_user_model()
            .objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
            .select_related("institution_membership__institution")
            .first()
        )
        if existing is not None:
            membership = getattr(existing, "institution_membership", None)
            if membership is not None:
                raise forms.ValidationError(ALREADY_ADMIN.format(email=email, institution=membership.institution))
            raise forms.ValidationError(ALREADY_USER.format(username=existing.get_username()))
        return email
