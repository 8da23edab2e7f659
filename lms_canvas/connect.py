"""Connection workflows that views, admin actions and commands share: verify, check, disconnect."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

from django.utils import timezone

from lms_canvas import visibility
from lms_canvas.client import CanvasClient, StaticToken
from lms_canvas.errors import CanvasError, TokenInvalid
from lms_canvas.models import CanvasConfig, CanvasConnection, ConnectionStatus
from lms_canvas.oauth import ConnectionTokens, Finding, revoke
from lms_canvas.objects import ProbeResult, Role

logger = logging.getLogger(__name__)


class Capability(TypedDict):
    """One of Verify's checks as `CanvasConnection.capabilities` stores it."""

    label: str
    ok: bool
    message: str
    fix: str


@dataclass(frozen=True)
class Unanswered(Finding):
    """Canvas did not answer Verify's calls (down, slow or throttling): the connection was left as it was."""


def client_for(conn: CanvasConnection, **kwargs: Any) -> CanvasClient:
    return CanvasClient(conn.server_url, ConnectionTokens(conn.id), **kwargs)


def verify(conn: CanvasConnection, user=None) -> list[Finding]:
    """Verified means live calls with the stored token worked: the account, and its roles, which
    Configure needs. A Canvas error leaves the connection Not verified with the cause, except one
    that retrying later can cure (Canvas down, slow or throttling) on a Verified connection: that is
    no proof the token stopped working, so it stays Verified and syncs go on. The capability checks
    only report what else does not work yet."""
    client = client_for(conn)
    try:
        account = client.get_account("self")
        capabilities = check_capabilities(client, account.id)
        roles = client.list_roles(account.id)
    except CanvasError as exc:
        conn.refresh_from_db()
        if conn.is_verified and not exc.permanent:
            return [Unanswered(exc.message, exc.fix)]
        if conn.status != ConnectionStatus.NEEDS_REAUTH:
            conn.status = ConnectionStatus.NOT_VERIFIED
            conn.status_reason = exc.message
            conn.save(update_fields=["status", "status_reason", "updated_at"])
        return [Finding(exc.message, exc.fix)]
    conn.refresh_from_db()
    conn.status = ConnectionStatus.VERIFIED
    conn.status_reason = ""
    conn.verified_at = timezone.now()
    conn.verified_by = user
    conn.root_account_id = account.id
    conn.root_account_uuid = account.uuid
    conn.reauth_notified_at = None
    conn.capabilities = capabilities
    conn.save()
    store_roles(conn, roles)
    return [Finding(c["message"], c["fix"]) for c in conn.capabilities.values() if not c["ok"]]


class _NewToken(StaticToken):
    """A token Canvas has just issued, tried before it replaces a working one: never refreshed."""

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        raise TokenInvalid(
            "Canvas refused the token it had just issued.",
            refresh_may_help=False,
            fix="Choose Generate Key again and authorize as a Canvas admin of the account.",
        )


def new_token_problem(conn: CanvasConnection, access_token: str) -> Finding | None:
    """Why a token Canvas has just issued could not replace `conn`'s (None: it reads what Verify
    reads, the account and its roles). A re-authorization by someone without access to the account,
    such as a teacher, would otherwise throw away the admin's working tokens."""
    return _token_problem(conn, _NewToken(access_token), "Canvas authorized the portal, but the new token")


def pasted_token_problem(conn: CanvasConnection, access_token: str) -> Finding | None:
    """The same for a pasted access token that would replace a working connection's."""
    return _token_problem(conn, StaticToken(access_token), "The pasted access token")


def _token_problem(conn: CanvasConnection, token: StaticToken, said: str) -> Finding | None:
    client = CanvasClient(conn.server_url, token)
    try:
        account = client.get_account("self")
        client.list_roles(account.id)
    except CanvasError as exc:
        return Finding(
            f"{said} could not read the Canvas account: {exc.message}",
            exc.fix or "Choose Generate Key again and authorize as a Canvas admin of the account.",
        )
    return None


def check_capabilities(client: CanvasClient, account_id: int | str = "self") -> dict[str, Capability]:
    """Cheap per_page=1 calls, one per thing the portal does, so a missing scope shows up now."""
    results: dict[str, Capability] = {}

    def probe(name: str, label: str, course_id: int | str = "") -> ProbeResult | None:
        try:
            found = client.probe(name, account_id=account_id, course_id=course_id)
        except CanvasError as exc:
            results[name] = {"label": label, "ok": False, "message": exc.message, "fix": exc.fix}
            return None
        results[name] = {"label": label, "ok": True, "message": "", "fix": ""}
        return found

    probe("accounts", "Accounts")
    probe("roles", "Roles")
    courses = probe("courses", "Courses")
    if courses is not None and courses.first_id is not None:
        results[visibility.INCLUDES] = visibility.includes_capability(bool(courses.includes_honoured))  # type: ignore[assignment]
        cid = courses.first_id
        probe("sections", "Sections", cid)
        probe("enrollments", "Enrollments", cid)
        probe("users", "Users", cid)
        probe("passback", "Grade passback", cid)
    sis = visibility.check_sis(client, account_id, courses.first_fields if courses and courses.first_id else None)
    if sis is not None:
        results[visibility.SIS] = sis  # type: ignore[assignment]
    return results


def load_roles(conn: CanvasConnection, client: CanvasClient | None = None) -> CanvasConfig:
    """Read the account's roles from Canvas for Configure."""
    client = client or client_for(conn)
    return store_roles(conn, client.list_roles(conn.account_ref))


def store_roles(conn: CanvasConnection, roles: list[Role]) -> CanvasConfig:
    """Keep the enrollment roles Canvas reported; keep the admin's choices, fill defaults the first time."""
    config, _ = CanvasConfig.objects.get_or_create(institution=conn.institution)
    config.available_roles = [
        {"id": r.id, "label": r.label, "name": r.name, "base_role_type": r.base_role_type, "built_in": r.built_in}
        for r in roles
        if r.base_role_type.endswith("Enrollment")
    ]
    config.roles_loaded_at = timezone.now()
    config.apply_default_roles()
    config.save()
    return config


def disconnect(conn: CanvasConnection) -> bool:
    """Revoke at Canvas and forget the tokens; mappings and the sync list stay. True if Canvas confirmed."""
    confirmed = revoke(conn)
    conn.reset("Disconnected by an admin.")
    conn.save()
    return confirmed
