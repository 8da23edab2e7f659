"""Passwords that support never types: a reset link by email, and an invitation to a new institution admin.

Both links carry Django's password-reset token: it is valid for PASSWORD_RESET_TIMEOUT and works
once, because it is made from the password hash that setting a password replaces. Reset requests
are limited per client address and per email address in Django's cache (shared through Redis in
production), and the answer is the same whether or not the address has an account.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.clientip import client_ip
from portal.models import Institution, InstitutionAdmin

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 3600


def link_lifetime() -> str:
    """PASSWORD_RESET_TIMEOUT in words, for pages and emails ("3 days", "12 hours")."""
    hours = max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def email_context() -> dict[str, str]:
    return {"site_url": settings.SITE_URL.rstrip("/"), "lifetime": link_lifetime()}


def _allowed(scope: str, key: str, limit: int) -> bool:
    """Count one attempt; False once more than `limit` fell in the current window.

    The window is in the key (a fixed window by the clock), so it ends at the same moment on every cache
    backend and in every web process; the timeout only lets the cache drop finished windows."""
    window = int(time.time() // RATE_WINDOW_SECONDS)
    cache_key = f"ratelimit:{scope}:{hashlib.sha256(key.encode()).hexdigest()}:{window}"
    cache.add(cache_key, 0, timeout=RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window ended between add and incr
        cache.set(cache_key, 1, timeout=RATE_WINDOW_SECONDS)
        count = 1
    return count <= limit


def reset_allowed_from(request: HttpRequest) -> bool:
    return _allowed("reset-ip", client_ip(request) or "unknown", settings.PASSWORD_RESET_LIMIT_PER_IP)


def reset_allowed_for(email: str) -> bool:
    return _allowed("reset-email", email.strip().casefold(), settings.PASSWORD_RESET_LIMIT_PER_EMAIL)


def set_password_path(user: User, url_name: str = "password_reset_confirm") -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse(url_name, kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


def invite_admin(
    *, institution: Institution, email: str, first_name: str = "", last_name: str = "", invited_by=None
) -> User:
    """A new user without a password, an admin of `institution`, emailed a link to set one."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=email, email=email, first_name=first_name, last_name=last_name, password=None
        )
        InstitutionAdmin.objects.create(user=user, institution=institution)
    send_invitation(user, institution, invited_by)
    return user


def send_invitation(user, institution: Institution, invited_by=None) -> None:
    """Email `user` a link to set their password. A password they already set stops working only once
    they use the link, so support can resend to someone who lost it."""
    ctx = {
        **email_context(),
        "user": user,
        "institution": institution,
        "invited_by": (invited_by.get_full_name() or invited_by.email) if invited_by else "Support",
        "link": settings.SITE_URL.rstrip("/") + set_password_path(user, "invitation"),
    }
    subject = render_to_string("portal/email/invitation_subject.txt", ctx).strip()
    body = render_to_string("portal/email/invitation.txt", ctx)
    send_mail(subject, body, None, [user.email])
    logger.info("Invitation sent to user %s for %s", user.pk, institution.slug)
