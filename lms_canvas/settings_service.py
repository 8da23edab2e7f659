"""LMS Settings' save: what changing the key details does to the connection, and what to tell the admin.

The view validates the form and shows the notices; the workflow (forget the tokens when the key
details change, verify a pasted token, preflight a developer key) is here, callable without a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from lms_canvas import connect, oauth
from lms_canvas.models import CanvasConnection, ConnectionStatus, LmsType


@dataclass(frozen=True)
class Notice:
    level: Literal["success", "info", "warning", "error"]
    text: str
    not_saved: bool = False  # the Save was refused: the page keeps what the admin typed


# Fixes are written for any page ("Open LMS Settings and choose Generate Key"); these notices are
# read on LMS Settings itself, where the button is below them.
_ON_THIS_PAGE = (
    (re.compile(r"Open LMS Settings and choose "), "Choose "),
    (re.compile(r"In LMS Settings, set "), "Set "),
    (re.compile(r" in LMS Settings\b"), " below"),
)


def on_this_page(fix: str) -> str:
    for pattern, replacement in _ON_THIS_PAGE:
        fix = pattern.sub(replacement, fix)
    return fix


def finding_notices(findings: list[oauth.Finding]) -> list[Notice]:
    """One notice per problem, numbered when there is more than one, so all can be fixed in one go."""
    if len(findings) == 1:
        return [Notice("error", f"{findings[0].message} What to do: {on_this_page(findings[0].fix)}")]
    n = len(findings)
    return [
        Notice("error", f"Problem {i} of {n}: {f.message} What to do: {on_this_page(f.fix)}")
        for i, f in enumerate(findings, 1)
    ]


def findings_reason(findings: list[oauth.Finding]) -> str:
    """The connection's status reason after Canvas refused the key. Several problems: a first line that
    counts them, then one line each with what to do (LMS Settings lists them; text elsewhere reads on)."""
    if len(findings) == 1:
        return findings[0].message
    lines = [f"{f.message} What to do: {f.fix}" for f in findings]
    return "\n".join([f"Canvas showed {len(findings)} problems with the developer key:", *lines])


def refused_notices(findings: list[oauth.Finding]) -> list[Notice]:
    """What to say when the key was refused and the connection now keeps the reason: several problems are
    listed once, under Connection, each with what to do."""
    if len(findings) == 1:
        return finding_notices(findings)
    return [
        Notice(
            "error",
            f"Canvas showed {len(findings)} problems with the developer key, each listed under Connection below "
            "with what to do. Fix them all in Canvas, then Save again.",
        )
    ]


KEPT_CONNECTION = (
    "Your existing connection is unchanged: it is still Verified, and Refresh, Sync Now and the nightly sync "
    "go on with it."
)


def verify_notices(conn: CanvasConnection, findings: list[oauth.Finding]) -> list[Notice]:
    """What a verification (connect.verify) came to, in words for the admin."""
    conn.refresh_from_db()
    if any(isinstance(f, connect.Unanswered) for f in findings):
        return [
            *finding_notices(findings),
            Notice("info", f"{KEPT_CONNECTION} Check connection again once Canvas answers."),
        ]
    if not conn.is_verified:
        return finding_notices(findings)
    notices = [Notice("success", "Verified: the portal can read Canvas.")]
    if findings:
        notices.append(Notice("warning", "Some things the portal needs do not work yet; see the checks below."))
    return notices


def save_settings(conn: CanvasConnection, data: dict[str, Any], user=None) -> list[Notice]:
    """Save LMS Settings' cleaned form data (lms_type, server_url, client_id, client_secret,
    access_token). New key details reset the connection; a pasted token is verified at once, a
    developer key is preflighted so a wrong secret or scope shows before Generate Key.

    A working connection (Verified, with a token) is only replaced by key details Canvas accepts (a
    developer key's preflight passes, a pasted token reads the account): details it refuses are not
    saved, since saving them would throw away the tokens that work (issue 15's blocker, the Save half).
    The secret typed again unchanged is no change."""
    working = conn.is_verified and conn.has_token
    secret = data["client_secret"].strip()
    new_secret = bool(secret) and secret != conn.client_secret
    # First, so a secret typed now is kept and the one saved for another server is not.
    moved = conn.change_server_url(data["server_url"])
    changed = (
        moved
        or data["lms_type"] != conn.lms_type
        or data["client_id"] != conn.client_id
        or new_secret
        or bool(data["access_token"])
    )
    conn.lms_type = data["lms_type"]
    conn.client_id = data["client_id"] if conn.lms_type == LmsType.DEV_KEY else ""
    if secret:
        conn.client_secret = secret
    asked = working and changed
    if asked and (findings := _refused(conn, data["access_token"].strip())):
        conn.refresh_from_db()  # nothing of the refused details is kept
        return _not_saved_notices(findings)
    if changed:
        # New key details mean the old tokens no longer speak for this configuration.
        conn.reset("")
    if conn.lms_type == LmsType.ACCESS_TOKEN and data["access_token"]:
        conn.access_token = data["access_token"].strip()
    conn.save()
    if conn.lms_type == LmsType.ACCESS_TOKEN:
        if conn.has_token and changed:
            return verify_notices(conn, connect.verify(conn, user))
        return [Notice("success", "Saved.")]
    findings = oauth.preflight(conn) if not asked and (changed or conn.status != ConnectionStatus.VERIFIED) else []
    if findings:
        conn.status_reason = findings_reason(findings)
        conn.save(update_fields=["status_reason", "updated_at"])
        return refused_notices(findings)
    if conn.status == ConnectionStatus.NOT_VERIFIED and conn.status_reason:
        # What an earlier Save or Generate Key recorded against the key (its State OFF, a scope missing)
        # is no longer true now that Canvas accepts it: the status card must not go on saying it.
        conn.status_reason = ""
        conn.save(update_fields=["status_reason", "updated_at"])
    if conn.is_verified:
        return [Notice("success", "Saved.")]
    return [Notice("success", "Saved. Canvas accepts this developer key: choose Generate Key to authorize the portal.")]


def _refused(conn: CanvasConnection, access_token: str) -> list[oauth.Finding]:
    """What Canvas says against the new details in `conn` (not saved yet), asked before they replace
    a working connection: the developer key's preflight, or a read with the pasted token."""
    if conn.lms_type == LmsType.DEV_KEY:
        return oauth.preflight(conn)
    problem = connect.pasted_token_problem(conn, access_token) if access_token else None
    return [problem] if problem else []


def _not_saved_notices(findings: list[oauth.Finding]) -> list[Notice]:
    if all(isinstance(f, oauth.Unreachable) for f in findings):
        # No Canvas answered, so nothing is known against the key: do not blame it.
        lead = (
            "Not saved: the portal could not reach a Canvas server at that Canvas Server address, so the "
            "connection keeps the details it works with. Check the address and Save again."
        )
    else:
        lead = (
            "Not saved: Canvas refuses these key details, so the connection keeps the ones it works with. "
            "Fix what is listed and Save again; to switch to another key anyway, choose Disconnect first."
        )
    return [
        Notice("error", lead, not_saved=True),
        *finding_notices(findings),
        Notice("info", KEPT_CONNECTION),
    ]
