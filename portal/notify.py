"""Emails to an institution's admins. Callers decide when; this only sends."""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from portal.models import Institution

logger = logging.getLogger(__name__)


def email_admins(institution: Institution, subject: str, body: str) -> int:
    recipients = institution.admin_emails()
    if not recipients:
        logger.warning("No admin email for %s; not sent: %s", institution.slug, subject)
        return 0
    return send_mail(f"[LMS Sync Portal] {subject}", body, None, recipients)
