"""Canvas's OAuth2 endpoints: key preflight, authorize URL, code exchange, refresh, revoke.

Together with client.py, the only code that speaks to Canvas over HTTP, and through the same
guarded transport (lms_canvas.egress): no redirect is followed, so a secret never travels on to
where a token endpoint points. Every failure comes back as a `Finding` (one sentence of what
happened, one of what to do) or a typed CanvasError.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from oauthlib.oauth2 import OAuth2Error
from oauthlib.oauth2.rfc6749.errors import raise_from_error
from requests_oauthlib import OAuth2Session

from lms_canvas.egress import NoRedirects, Refused, guard
from lms_canvas.errors import AddressRefused, CanvasUnavailable, TokenInvalid, UnexpectedResponse
from lms_canvas.http import build_session, canvas_timeout, user_agent
from lms_canvas.models import CanvasConnection, ConnectionStatus, LmsType
from lms_canvas.notify import notify_reauth_once
from lms_canvas.scopes import REQUIRED_SCOPES

logger = logging.getLogger(__name__)

PURPOSE = "LMS Sync Portal"
# Canvas's invalid_scope description ends with the missing scopes as a Ruby to_sentence list.
_NOT_GRANTED = re.compile(r"requested, but not granted:\s*(?P<list>.+?)\.?\s*$", re.S)
REDIRECTED_OAUTH = (
    "Canvas's token endpoint answered with a redirect (HTTP {status}); the portal follows no redirect, "
    "so nothing secret was sent on."
)
REFRESH_REFUSED = (
    "Canvas refused to renew the portal's access: the authorization given in Canvas was revoked or has ended."
)
REDIRECTED_OAUTH_FIX = (
    "Check that Canvas Server is your Canvas address itself, such as https://yourschool.instructure.com "
    "(not an address that forwards to it); if it is, contact support."
)


@dataclass(frozen=True)
class Finding:
    """One thing that stops the connection from working: what happened, and what to do."""

    message: str
    fix: str


def redirect_uri() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("canvas-callback")


def auth_url(conn: CanvasConnection) -> str:
    return conn.server_url.rstrip("/") + "/login/oauth2/auth"


def token_url(conn: CanvasConnection) -> str:
    return conn.server_url.rstrip("/") + "/login/oauth2/token"


def missing_scopes_from(description: str) -> list[str]:
    """The scopes named in Canvas's invalid_scope description ("a", "a and b", "a, b, and c")."""
    match = _NOT_GRANTED.search(description or "")
    if not match:
        return []
    text = match.group("list").replace(", and ", ", ").replace(" and ", ", ")
    return [s.strip() for s in text.split(",") if s.strip()]


def finding_for_oauth_error(error: str | None, description: str = "") -> Finding:
    """Canvas's OAuth error codes, as an admin needs to read them."""
    if error == "invalid_scope":
        scopes = missing_scopes_from(description)
        named = ", ".join(scopes) if scopes else "one or more of the required scopes"
        return Finding(
            f"The developer key does not grant {len(scopes) or 'some'} required scope"
            f"{'s' if len(scopes) != 1 else ''}: {named}.",
            "In Canvas, go to Admin > Developer Keys, edit the portal's key, tick the missing scope"
            f"{'s' if len(scopes) != 1 else ''} under Enforce Scopes, select Save, then try Generate Key again.",
        )
    if error == "unauthorized_client":
        return Finding(
            "The developer key is switched OFF, or is not enabled for this Canvas account.",
            "In Canvas, go to Admin > Developer Keys and set the key's State to ON, then try again.",
        )
    if error == "access_denied":
        return Finding(
            "Canvas says the authorization was cancelled, so the portal was not connected.",
            "Choose Generate Key again, and select Authorize (not Cancel) on the Canvas page.",
        )
    if error == "invalid_client":
        return Finding(
            "Canvas does not recognise this Client ID and Client Secret pair.",
            "Copy the Client ID (the number above Show Key) and the key shown by Show Key from Canvas again.",
        )
    if error in {"invalid_grant", "invalid_request"}:
        return Finding(
            f"Canvas refused the authorization code ({description or error}); it may have expired or been used.",
            "Choose Generate Key again and finish the Canvas steps within ten minutes.",
        )
    return Finding(
        f"Canvas answered the authorization with the error “{error}”{': ' + description if description else ''}.",
        "Check the developer key in Canvas, then try Generate Key again; contact support if it persists.",
    )


def preflight(conn: CanvasConnection) -> list[Finding]:
    """Everything Canvas checks before its login page, asked before the admin leaves the portal: every
    problem with the key that Canvas reveals, in one go.

    Canvas's authorize endpoint stops at the first thing wrong, in this order: the Client ID, the
    redirect URI, the scopes, the key's State (CANVAS_API.md 1.1). A key missing scopes is asked again
    for only the scopes it grants, which reaches the State check. The secret is checked at the token
    endpoint, which looks at the key and its secret only, never at the redirect URI, scopes or State
    (Canvas's GrantTypes::BaseType#validate_client_id_and_secret), so it is checked whatever authorize
    said, once Canvas knows the Client ID. What Canvas cannot show yet is said in that finding's fix."""
    session = build_session()
    try:
        answer = _authorize_answer(conn, _ask_authorize(conn, session, REQUIRED_SCOPES))
    except _Unanswered as exc:
        return [exc.finding]
    if answer.finding is None:
        return _secret_check(conn, session)
    if answer.stops:
        return [answer.finding]
    findings = [answer.finding]
    if answer.error == "invalid_scope":
        findings += _state_behind_scopes(conn, session, answer.missing)
    return list(dict.fromkeys(findings + _secret_check(conn, session)))  # one "unreachable", not two


@dataclass(frozen=True)
class _Authorize:
    """What Canvas's authorize endpoint said about the key."""

    finding: Finding | None  # None: Canvas went on to its login page, every pre-login check passed
    error: str = ""  # Canvas's OAuth error code, when it named one
    missing: tuple[str, ...] = ()  # the scopes an invalid_scope answer names
    stops: bool = False  # Canvas does not know the key (or is not Canvas): nothing else can be asked


class _Unanswered(Exception):
    def __init__(self, finding: Finding) -> None:
        self.finding = finding


def _ask_authorize(conn: CanvasConnection, session: requests.Session, scopes: Sequence[str]) -> requests.Response:
    # Canvas: GET /login/oauth2/auth (CANVAS_API.md 1.1); its answer is read, never followed.
    params = {
        "client_id": conn.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri(),
        "scope": " ".join(scopes),
        "state": "preflight",
    }
    try:
        return session.get(auth_url(conn), params=params, allow_redirects=False, timeout=canvas_timeout())
    except Refused as exc:
        raise _Unanswered(Finding(str(exc), AddressRefused.fix)) from None
    except requests.RequestException as exc:
        raise _Unanswered(_unreachable(conn.server_url.rstrip("/"), exc)) from None


def _state_behind_scopes(conn: CanvasConnection, session: requests.Session, missing: tuple[str, ...]) -> list[Finding]:
    """The key's State, which Canvas checks only once every scope asked for is granted."""
    granted = [s for s in REQUIRED_SCOPES if s not in missing]
    if not missing or not granted:
        return [
            Finding(
                "The portal could not check the key's State yet: Canvas checks it only once the key grants "
                "the scopes it is asked for.",
                "After you tick the missing scopes in Canvas and select Save there, Save here again to check "
                "that the key's State is ON.",
            )
        ]
    try:
        again = _authorize_answer(conn, _ask_authorize(conn, session, granted))
    except _Unanswered as exc:
        return [exc.finding]
    if again.finding is None or again.error == "invalid_scope":
        return []
    return [again.finding]


class Unreachable(Finding):
    """The portal got no answer from a Canvas server at the address: nothing Canvas said about the key."""


UNREACHABLE_FIX = (
    "Check Canvas Server: it is the address your browser shows when you use Canvas, starting with https:// "
    "(such as https://yourschool.instructure.com). Correct it, then Save again."
)


def _unreachable(base: str, exc: Exception) -> Unreachable:
    if isinstance(exc, requests.exceptions.SSLError):
        # A TLS handshake that fails: often an https address on a server that speaks only http.
        logger.info("TLS with the Canvas Server %s failed: %s", base, exc)
        return Unreachable(
            f"The portal could not reach the Canvas Server {base} securely: no Canvas server there completed "
            "a secure (https) connection.",
            UNREACHABLE_FIX,
        )
    reason = "it did not answer in time" if isinstance(exc, requests.Timeout) else "the connection failed"
    return Unreachable(f"The portal could not reach the Canvas Server {base} ({reason}).", UNREACHABLE_FIX)


def _json_error(r: requests.Response) -> tuple[str, str]:
    try:
        body = r.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error", "")), str(body.get("error_description", ""))


def _authorize_answer(conn: CanvasConnection, r: requests.Response) -> _Authorize:
    error, description = _json_error(r)
    if r.status_code == 401 and error == "invalid_client":
        finding = Finding(
            f"Canvas has no active developer key with Client ID {conn.client_id}.",
            "In Canvas, Admin > Developer Keys, copy the number above the Show Key button into Client ID. "
            "Canvas checks nothing else about a key (its scopes, State or secret) until it knows its Client ID, "
            "so Save again afterwards to check the rest.",
        )
        return _Authorize(finding, error, stops=True)
    if r.status_code == 400 and "redirect_uri" in description:
        finding = Finding(
            "The developer key does not list the portal's redirect URI.",
            f"In Canvas, edit the key and add {redirect_uri()} under Redirect URIs, then select Save. Canvas "
            "checks the key's scopes and State only once the redirect URI matches, so Save here again "
            "afterwards to check them.",
        )
        return _Authorize(finding, error or "invalid_request")
    if r.status_code in (301, 302, 303, 307):
        redirected = _error_on_redirect_uri(r)
        if not redirected:
            return _Authorize(None)  # on to Canvas's login page: every pre-login check passed
        error, description = redirected
        return _Authorize(finding_for_oauth_error(error, description), error, tuple(missing_scopes_from(description)))
    finding = Finding(
        f"The server at {conn.server_url} answered (HTTP {r.status_code}), but not the way Canvas does.",
        "Check that Canvas Server is your Canvas address itself, such as https://yourschool.instructure.com.",
    )
    return _Authorize(finding, stops=True)


def _error_on_redirect_uri(r: requests.Response) -> tuple[str, str] | None:
    """Canvas's (error, description) when it answers by redirecting to the portal's redirect URI."""
    location = r.headers.get("Location", "")
    if not location.startswith(redirect_uri()):
        return None
    query = parse_qs(urlsplit(location).query)
    error = query.get("error", [""])[0]
    return (error, query.get("error_description", [""])[0]) if error else None


def _secret_check(conn: CanvasConnection, session: requests.Session) -> list[Finding]:
    # A made-up code tells a wrong secret (invalid_client) apart from a right one (invalid_grant).
    data = {
        "grant_type": "authorization_code",
        "code": "preflight-check",
        "client_id": conn.client_id,
        "client_secret": conn.client_secret,
        "redirect_uri": redirect_uri(),
    }
    try:
        r = session.post(token_url(conn), data=data, timeout=canvas_timeout())
    except Refused as exc:
        return [Finding(str(exc), AddressRefused.fix)]
    except requests.RequestException as exc:
        return [_unreachable(conn.server_url, exc)]
    # Canvas without no_redirect_on_oauth_token_method answers on the redirect URI: read it, never follow.
    redirected = 300 <= r.status_code < 400
    error, _ = (_error_on_redirect_uri(r) or ("", "")) if redirected else _json_error(r)
    if redirected and not error:
        return [Finding(REDIRECTED_OAUTH.format(status=r.status_code), REDIRECTED_OAUTH_FIX)]
    if error == "invalid_client":
        return [
            Finding(
                "Canvas refused the Client Secret for this Client ID.",
                "In Canvas, select Show Key on the developer key and paste that value into Client Secret, then Save.",
            )
        ]
    if error in {"invalid_grant", "invalid_request"}:
        return []
    return [
        Finding(
            f"Canvas's token endpoint answered unexpectedly (HTTP {r.status_code}).",
            "Check the Canvas Server address; if it is right, contact support.",
        )
    ]


class CanvasOAuth2Session(NoRedirects, OAuth2Session):
    """requests-oauthlib's session on the guarded transport."""


def _oauth_session(conn: CanvasConnection, **kwargs) -> OAuth2Session:
    session = CanvasOAuth2Session(conn.client_id, redirect_uri=redirect_uri(), **kwargs)
    session.headers.update({"User-Agent": user_agent(), "Accept": "application/json"})
    session.register_compliance_hook("access_token_response", _refuse_redirect)
    session.register_compliance_hook("refresh_token_response", _refuse_redirect)
    guard(session)
    return session


def _refuse_redirect(r: requests.Response) -> requests.Response:
    """A token endpoint's 3xx is an answer, not a place to go: Canvas's error, or a refusal."""
    if not 300 <= r.status_code < 400:
        return r
    redirected = _error_on_redirect_uri(r)
    if redirected:
        error, description = redirected
        raise_from_error(error, {"error_description": description})
    raise UnexpectedResponse(
        REDIRECTED_OAUTH.format(status=r.status_code), fix=REDIRECTED_OAUTH_FIX, status=r.status_code
    )


def authorization_url(conn: CanvasConnection, state: str) -> str:
    url, _ = _oauth_session(conn, scope=list(REQUIRED_SCOPES), state=state).authorization_url(
        auth_url(conn), purpose=PURPOSE
    )
    return url


def exchange_code(conn: CanvasConnection, code: str) -> dict:
    """Trade the callback's code for tokens; raises OAuth2Error or CanvasUnavailable."""
    try:
        return _oauth_session(conn).fetch_token(
            token_url(conn),
            code=code,
            client_secret=conn.client_secret,
            include_client_id=True,
            timeout=canvas_timeout(),
        )
    except Refused as exc:
        raise AddressRefused(str(exc)) from None
    except requests.RequestException as exc:
        raise CanvasUnavailable("Canvas could not be reached to exchange the code (POST /login/oauth2/token).") from exc


def store_tokens(conn: CanvasConnection, token: dict) -> None:
    conn.access_token = token["access_token"]
    if token.get("refresh_token"):
        conn.refresh_token = token["refresh_token"]
    expires_in = token.get("expires_in")
    conn.token_expires_at = timezone.now() + timedelta(seconds=int(expires_in)) if expires_in else None
    user = token.get("user") or {}
    if user:
        conn.canvas_user_name = str(user.get("name", ""))[:255]
        conn.canvas_user_id = user.get("id")


def refresh_access_token(connection_id: int, rejected_token: str | None = None) -> str:
    """Single-flight refresh: Canvas invalidates the old access token on every refresh, so only one
    process may refresh at a time; the row lock makes the others wait and then reuse the new token."""
    failure: TokenInvalid | None = None
    with transaction.atomic():
        conn = CanvasConnection.objects.select_for_update().select_related("institution").get(id=connection_id)
        if conn.token_is_fresh() and conn.access_token != rejected_token:
            return conn.access_token
        if conn.lms_type == LmsType.ACCESS_TOKEN or not conn.refresh_token:
            failure = _needs_reauth(conn, "The access token was refused or has expired, and it cannot be renewed.")
        else:
            try:
                token = _refresh_call(conn)
            except OAuth2Error as exc:
                # Canvas's own words (such as "refresh_token not found") are for the log, not the admin.
                logger.warning("Canvas refused the token refresh: %s %s", exc.error, exc.description or "")
                failure = _needs_reauth(conn, REFRESH_REFUSED)
            else:
                store_tokens(conn, token)
                conn.save(update_fields=["access_token", "refresh_token", "token_expires_at", "updated_at"])
                return conn.access_token
    notify_reauth_once(connection_id)
    raise failure


def _refresh_call(conn: CanvasConnection) -> dict:
    try:
        return _oauth_session(conn).refresh_token(
            token_url(conn),
            refresh_token=conn.refresh_token,
            client_id=conn.client_id,
            client_secret=conn.client_secret,
            timeout=canvas_timeout(),
        )
    except Refused as exc:
        raise AddressRefused(str(exc)) from None
    except requests.RequestException as exc:
        raise CanvasUnavailable("Canvas could not be reached to renew the access (POST /login/oauth2/token).") from exc
    except (ValueError, KeyError) as exc:
        raise UnexpectedResponse("Canvas answered the token refresh with something that is not a token.") from exc


def _needs_reauth(conn: CanvasConnection, reason: str) -> TokenInvalid:
    conn.status = ConnectionStatus.NEEDS_REAUTH
    conn.status_reason = reason
    conn.clear_tokens()
    conn.save(update_fields=["status", "status_reason", "access_token", "refresh_token", "token_expires_at"])
    fix = (
        "Paste a new access token in LMS Settings."
        if conn.lms_type == LmsType.ACCESS_TOKEN
        else "Open LMS Settings and choose Generate Key to authorize the portal again."
    )
    return TokenInvalid(reason, refresh_may_help=False, fix=fix)


def revoke(conn: CanvasConnection, access_token: str | None = None) -> bool:
    """Ask `conn`'s Canvas to delete its token, or `access_token` (one it has just issued for `conn`), with
    the refresh token that goes with it; True when Canvas confirmed it."""
    access_token = conn.access_token if access_token is None else access_token
    if not access_token:
        return True
    session = build_session()
    try:
        r = session.delete(
            token_url(conn), headers={"Authorization": f"Bearer {access_token}"}, timeout=canvas_timeout()
        )
    except requests.RequestException:
        return False
    return r.status_code == 200


class ConnectionTokens:
    """The TokenSource for a stored connection: refreshes before expiry and after a rejection."""

    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id
        self._token = ""
        self._conn: CanvasConnection | None = None

    def __repr__(self) -> str:
        return f"ConnectionTokens(connection_id={self.connection_id})"

    def access_token(self) -> str:
        if self._conn is None or not self._conn.token_is_fresh():
            self._conn = CanvasConnection.objects.get(id=self.connection_id)
            if not self._conn.has_token:
                raise TokenInvalid(
                    "The portal holds no Canvas access token for this institution.",
                    refresh_may_help=False,
                    fix="Open LMS Settings and choose Generate Key to authorize the portal.",
                )
            if not self._conn.token_is_fresh():
                refresh_access_token(self.connection_id)
                self._conn = CanvasConnection.objects.get(id=self.connection_id)
        return self._conn.access_token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        token = refresh_access_token(self.connection_id, rejected_token=rejected_token)
        self._conn = CanvasConnection.objects.get(id=self.connection_id)
        return token
