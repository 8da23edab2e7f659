"""OAuth2 as Canvas does it (CANVAS_API.md section 1): authorize, token, revoke, and the tokens."""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .web import csrf_field, csrf_ok, page, with_session

if TYPE_CHECKING:
    from .app import SimApp

OOB = "urn:ietf:wg:oauth:2.0:oob"
INVALID_SCOPE = (
    "A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource "
    "owner. The following scopes were requested, but not granted: "
)
NO_ACCOUNT_ACCESS = "Client does not have access to the specified Canvas account."
TOKEN_ALPHABET = string.ascii_letters + string.digits
OAUTH_COST = 200.0


class Clock:
    """The simulator's clock; tests move it forward to expire codes and tokens."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class TokenRecord:
    key_id: int
    user_id: int
    scopes: list[str]
    access_token: str
    refresh_token: str | None
    expires_at: float
    purpose: str = ""
    created_at: float = field(default_factory=time.time)


class AuthState:
    """Authorization codes and tokens. Codes are single use; a refresh replaces the access token."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._codes: dict[str, dict[str, Any]] = {}
        self._by_access: dict[str, TokenRecord] = {}
        self._by_refresh: dict[str, TokenRecord] = {}
        self._lock = threading.Lock()
        self.issued = 0
        self.refreshed = 0

    def new_code(self, grant: dict[str, Any], ttl: float) -> str:
        code = secrets.token_hex(64)
        with self._lock:
            self._codes[code] = {**grant, "expires_at": self.clock.now() + ttl}
        return code

    def take_code(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant["expires_at"] <= self.clock.now():
            return None
        return grant

    def issue(self, key_id: int, user_id: int, scopes: list[str], ttl: float, purpose: str) -> TokenRecord:
        record = TokenRecord(key_id, user_id, scopes, _token(), _token(), self.clock.now() + ttl, purpose)
        with self._lock:
            self._by_access[record.access_token] = record
            self._by_refresh[record.refresh_token] = record
            self.issued += 1
        return record

    def refresh(self, record: TokenRecord, ttl: float) -> TokenRecord:
        with self._lock:
            self._by_access.pop(record.access_token, None)
            record.access_token = _token()
            record.expires_at = self.clock.now() + ttl
            self._by_access[record.access_token] = record
            self.refreshed += 1
        return record

    def by_refresh(self, refresh_token: str) -> TokenRecord | None:
        return self._by_refresh.get(refresh_token)

    def lookup(self, access_token: str) -> TokenRecord | None:
        """A usable token: known, not revoked and not expired on the simulator's clock."""
        record = self._by_access.get(access_token)
        if record is None or record.expires_at <= self.clock.now():
            return None
        return record

    def revoke(self, record: TokenRecord) -> None:
        with self._lock:
            self._by_access.pop(record.access_token, None)
            if record.refresh_token:
                self._by_refresh.pop(record.refresh_token, None)

    def revoke_where(self, predicate: Any) -> int:
        with self._lock:
            doomed = [r for r in self._by_refresh.values() if predicate(r)]
        for record in doomed:
            self.revoke(record)
        return len(doomed)

    def live_tokens(self) -> int:
        return len(self._by_access)


def _token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(64))


def to_sentence(words: list[str]) -> str:
    """Ruby's Array#to_sentence in English: `a`, `a and b`, `a, b, and c`."""
    if len(words) <= 2:
        return " and ".join(words)
    return f"{', '.join(words[:-1])}, and {words[-1]}"


def append_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def json_response(body: Any, status: int, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    headers = {"WWW-Authenticate": "Canvas OAuth 2.0"} if status == 401 else None
    return json_response({"error": error, "error_description": description}, status, headers)


def redirect_uri_allowed(key: dict, uri: str) -> bool:
    if uri == OOB or uri in key.get("redirect_uris", []):
        return True
    legacy = key.get("redirect_uri")
    if not legacy or not uri:
        return False
    wanted, given = urlsplit(legacy), urlsplit(uri)
    host, given_host = wanted.hostname or "", given.hostname or ""
    return wanted.scheme == given.scheme and (given_host == host or given_host.endswith("." + host))


def authorize(app: SimApp, request: Request) -> Response:
    args = request.args
    key = app.store.developer_key(args.get("client_id"))
    if key is None or key.get("workflow_state", "active") != "active":
        return oauth_error("invalid_client", "unknown client", 401)
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri_allowed(key, redirect_uri):
        return oauth_error("invalid_request", "redirect_uri does not match client settings")
    scopes = (args.get("scope") or args.get("scopes") or "").split()
    state = args.get("state")
    missing = [s for s in scopes if s not in key.get("scopes", [])]
    if key.get("require_scopes") and (missing or not scopes):
        return _fail(redirect_uri, "invalid_scope", INVALID_SCOPE + to_sentence(missing))
    if key.get("state", "on") != "on":
        return _fail(redirect_uri, "unauthorized_client", NO_ACCOUNT_ACCESS)
    if args.get("response_type") != "code":
        return _fail(redirect_uri, "unsupported_response_type", "Only response_type=code is permitted")
    prompt = args.get("prompt")
    if prompt not in (None, "none"):
        return _fail(redirect_uri, "unsupported_prompt_type", 'prompt must be "none" (or omitted)', state)
    sid, session = app.sessions.get(request)
    session["oauth"] = {
        "key_id": key["id"],
        "redirect_uri": redirect_uri,
        "scopes": scopes,
        "state": state,
        "purpose": args.get("purpose") or key.get("name", ""),
    }
    logged_in = "user_id" in session and args.get("force_login") != "1"
    if logged_in:
        return with_session(redirect("/login/oauth2/confirm"), sid)
    if prompt == "none":
        return _fail(redirect_uri, "login_required", "Login required", state)
    session.pop("user_id", None)
    login = "/login/canvas" + (f"?unique_id={escape(args['unique_id'])}" if args.get("unique_id") else "")
    return with_session(redirect(login), sid)


def _fail(redirect_uri: str, error: str, description: str, state: str | None = None) -> Response:
    if redirect_uri == OOB:
        return oauth_error(error, description)
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return redirect(append_query(redirect_uri, params))


def confirm(app: SimApp, request: Request) -> Response:
    sid, session = app.sessions.get(request)
    pending = session.get("oauth")
    if "user_id" not in session or not pending:
        return with_session(redirect("/login/canvas"), sid)
    key = app.store.developer_key(pending["key_id"]) or {}
    user = app.store.user(session["user_id"]) or {}
    body = (
        f"<h1>{escape(key.get('name', 'An application'))} is requesting access to your account</h1>"
        f"<p>You are logged in as {escape(user.get('name', ''))}.</p>"
        f'<form method="post" action="/login/oauth2/accept">{csrf_field(session)}'
        '<button type="submit">Authorize</button></form>'
        f'<form method="post" action="/login/oauth2/deny">{csrf_field(session)}'
        '<button type="submit">Cancel</button></form>'
    )
    return with_session(page("Authorize", body, user=user), sid)


def accept(app: SimApp, request: Request) -> Response:
    sid, session = app.sessions.get(request)
    pending = session.get("oauth")
    if "user_id" not in session or not pending or not csrf_ok(request, session):
        return json_response({"errors": [{"message": "Invalid authenticity token"}]}, 422)
    session.pop("oauth")
    grant = {**pending, "user_id": session["user_id"]}
    code = app.auth.new_code(grant, float(app.store.settings["code_ttl_s"]))
    if pending["redirect_uri"] == OOB:
        return with_session(page("Authorized", f"<p>Your code: <code>{code}</code></p>"), sid)
    params = {"code": code}
    if pending["state"] is not None:
        params["state"] = pending["state"]
    return with_session(redirect(append_query(pending["redirect_uri"], params)), sid)


def deny(app: SimApp, request: Request) -> Response:
    sid, session = app.sessions.get(request)
    pending = session.pop("oauth", None)
    if not pending:
        return with_session(redirect("/"), sid)
    params = {"error": "access_denied", "state": pending["state"] or ""}
    return with_session(redirect(append_query(pending["redirect_uri"], params)), sid)


def token(app: SimApp, request: Request) -> Response:
    form = request.form
    grant_type = form.get("grant_type") or ("authorization_code" if form.get("code") else "")
    if grant_type not in ("authorization_code", "refresh_token"):
        return oauth_error("unsupported_grant_type", "The grant_type you requested is not currently supported")
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if client_id is None and request.authorization:
        client_id, secret = request.authorization.username, request.authorization.password
    key = app.store.developer_key(client_id)
    if key is None or key.get("workflow_state", "active") != "active":
        return oauth_error("invalid_client", "unknown client", 401)
    if not secret or not secrets.compare_digest(str(secret), str(key.get("api_key", ""))):
        return oauth_error("invalid_client", "invalid client", 401)
    if grant_type == "authorization_code":
        return _code_grant(app, key, form.get("code"))
    return _refresh_grant(app, key, form.get("refresh_token"))


def _code_grant(app: SimApp, key: dict, code: str | None) -> Response:
    if not code:
        return oauth_error(
            "invalid_request", "You must provide the code parameter when using the authorization_code grant type"
        )
    grant = app.auth.take_code(code)
    if grant is None:
        return oauth_error("invalid_grant", "authorization_code not found")
    if grant["key_id"] != key["id"]:
        return oauth_error("invalid_grant", "incorrect client")
    ttl = float(app.store.settings["access_token_ttl_s"])
    record = app.auth.issue(key["id"], grant["user_id"], grant["scopes"], ttl, grant["purpose"])
    body = _token_body(app, record, ttl)
    body["refresh_token"] = record.refresh_token
    return json_response(body, 200, {"X-Request-Cost": str(OAUTH_COST)})


def _refresh_grant(app: SimApp, key: dict, refresh_token: str | None) -> Response:
    if not refresh_token:
        return oauth_error(
            "invalid_request", "You must provide the refresh_token parameter when using the refresh_token grant type"
        )
    record = app.auth.by_refresh(refresh_token)
    if record is None:
        return oauth_error("invalid_request", "refresh_token not found")
    if record.key_id != key["id"]:
        return oauth_error("invalid_grant", "incorrect client")
    ttl = float(app.store.settings["access_token_ttl_s"])
    app.auth.refresh(record, ttl)
    return json_response(_token_body(app, record, ttl), 200, {"X-Request-Cost": str(OAUTH_COST)})


def _token_body(app: SimApp, record: TokenRecord, ttl: float) -> dict[str, Any]:
    user = app.store.user(record.user_id) or {"id": record.user_id, "name": ""}
    return {
        "access_token": record.access_token,
        "token_type": "Bearer",
        "user": {
            "id": user["id"],
            "name": user.get("name", ""),
            "global_id": str(10_000_000_000_000 + user["id"]),
            "effective_locale": "en",
        },
        "canvas_region": "unknown",
        "expires_in": int(ttl),
    }


def revoke(app: SimApp, request: Request) -> Response:
    access = bearer_token(request)
    if not access:
        return json_response({"message": "can't delete OAuth access token when not using an OAuth access token"}, 400)
    record = app.auth.lookup(access)
    if record is None:
        return invalid_token()
    app.auth.revoke(record)
    return json_response({}, 200)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return request.args.get("access_token") or request.form.get("access_token") or None


def invalid_token() -> Response:
    return json_response(
        {"errors": [{"message": "Invalid access token."}]}, 401, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}
    )
