"""Forms of the portal's own pages: password reset, support's invitation of an institution admin, and
an admin's schedule and notifications."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.validators import validate_email
from django.db.models import Q

from portal import accounts
from portal.clock import clock_text
from portal.models import TIMEZONE_CHOICES

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


MAX_NOTIFICATION_EMAILS = 20


class ScheduleForm(forms.Form):
    """An institution's nightly hour and time zone, who else is emailed, and the roster guard's threshold."""

    timezone = forms.ChoiceField(
        label="Time zone",
        choices=TIMEZONE_CHOICES,
        error_messages={
            "invalid_choice": "“%(value)s” is not a time zone name; choose one from the list, such as America/New_York."
        },
    )
    nightly_sync_hour = forms.TypedChoiceField(
        label="Nightly sync starts at",
        coerce=int,
        choices=[(h, clock_text(h)) for h in range(24)],
        error_messages={"invalid_choice": "Choose the hour from the list (midnight to 11:00 p.m.)."},
    )
    notification_emails = forms.CharField(
        label="Also email",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Other addresses to tell, one a line (a help desk, say). Your institution's admins are always told.",
    )
    sync_hold_percent = forms.IntegerField(
        label="Hold a course when a sync would deactivate more than (%) of its exam-takers",
        min_value=0,
        max_value=100,
        error_messages={
            "min_value": "Enter a percentage from 0 to 100.",
            "max_value": "Enter a percentage from 0 to 100.",
            "invalid": "Enter a whole number from 0 to 100.",
        },
    )
    sync_hold_min_people = forms.IntegerField(
        label="…in courses of at least (exam-takers)",
        min_value=1,
        max_value=10000,
        error_messages={
            "min_value": "Enter a number of exam-takers from 1 to 10000.",
            "max_value": "Enter a number of exam-takers from 1 to 10000.",
            "invalid": "Enter a whole number of exam-takers, such as 10.",
        },
    )

    def clean_notification_emails(self) -> str:
        """One address a line, trimmed, each once; every line that is not an address is named."""
        addresses: list[str] = []
        bad: list[str] = []
        for n, line in enumerate(self.cleaned_data["notification_emails"].splitlines(), 1):
            address = line.strip()
            if not address:
                continue
            try:
                validate_email(address)
            except forms.ValidationError:
                bad.append(f"line {n} (“{address[:60]}”)")
                continue
            if address.casefold() not in {a.casefold() for a in addresses}:
                addresses.append(address)
        if bad:
            raise forms.ValidationError(
                "These are not email addresses: " + ", ".join(bad) + ". Put one address on each line."
            )
        if len(addresses) > MAX_NOTIFICATION_EMAILS:
            raise forms.ValidationError(
                f"At most {MAX_NOTIFICATION_EMAILS} addresses; for more, use a mailing list's address."
            )
        return "\n".join(addresses)
