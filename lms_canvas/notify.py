"""The one email that says Canvas needs re-authorizing, sent once per loss of access."""

from __future__ import annotations

from django.utils import timezone

from lms_canvas.models import CanvasConnection, LmsType
from portal.notify import email_admins


def notify_reauth_once(connection_id: int, *, details_url: str = "") -> bool:
    """Email the admins that the portal lost its Canvas access, unless they were told since the last
    verification (a conditional UPDATE claims the email, so a refresh failing in several workers and
    the nightly run that then skips send one). True if this call sent it."""
    claimed = CanvasConnection.objects.filter(id=connection_id, reauth_notified_at__isnull=True).update(
        reauth_notified_at=timezone.now()
    )
    if not claimed:
        return False
    conn = CanvasConnection.objects.select_related("institution").get(id=connection_id)
    fix = "paste a new access token" if conn.lms_type == LmsType.ACCESS_TOKEN else "choose Generate Key"
    email_admins(
        conn.institution,
        "Canvas needs re-authorization",
        f"The portal can no longer read {conn.server_url} for {conn.institution.name}.\n\n"
        f"What happened: {conn.status_reason or 'Canvas refused the portal access token.'}\n"
        f"What to do: sign in to the portal, open Admin > Global Settings > LMS Settings and {fix}.\n"
        "Nightly syncs are paused until then; nothing already synced has been changed.\n"
        + (f"Details: {details_url}\n" if details_url else ""),
    )
    return True
