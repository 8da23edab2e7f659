"""Canvas's own pages for the vendor guide's Canvas-side steps: login, Admin > account >
Developer Keys, "+ Developer Key" > "+ API Key", State ON/OFF, and Show Key."""

from __future__ import annotations

import secrets
from html import escape
from typing import TYPE_CHECKING

from werkzeug.exceptions import NotFound
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .scopes import EXTRA_SCOPE_GROUPS, SCOPE_GROUPS
from .web import csrf_field, csrf_ok, page, with_session

if TYPE_CHECKING:
    from .app import SimApp

FIRST_KEY_ID = 170000000000001


def _current_user(app: SimApp, request: Request) -> tuple[str, dict, dict | None]:
    sid, session = app.sessions.get(request)
    user = app.store.user(session["user_id"]) if "user_id" in session else None
    return sid, session, user


def _login_redirect(app: SimApp, request: Request, sid: str) -> Response:
    _, session = app.sessions.get(request)
    session["return_to"] = request.full_path.rstrip("?")
    return with_session(redirect("/login/canvas"), sid)


def login_form(app: SimApp, request: Request, error: str = "") -> Response:
    sid, session, _ = _current_user(app, request)
    unique_id = escape(request.values.get("unique_id", ""))
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>Log In to Canvas</h1>{message}"
        f'<form method="post" action="/login/canvas">{csrf_field(session)}'
        '<p><label for="pseudonym_session_unique_id">Email</label>'
        f'<input id="pseudonym_session_unique_id" name="unique_id" value="{unique_id}" autocomplete="username"></p>'
        '<p><label for="pseudonym_session_password">Password</label>'
        '<input id="pseudonym_session_password" name="password" type="password" autocomplete="current-password"></p>'
        '<button type="submit">Log In</button></form>'
    )
    response = page("Log In to Canvas", body)
    response.status_code = 400 if error else 200
    return with_session(response, sid)


def login(app: SimApp, request: Request) -> Response:
    if request.method == "GET":
        return login_form(app, request)
    sid, session, _ = _current_user(app, request)
    admin = app.store.tables["admins"].get(request.form.get("unique_id", ""))
    password = request.form.get("password", "")
    if (
        not csrf_ok(request, session)
        or admin is None
        or not secrets.compare_digest(password, str(admin.get("password", "")))
    ):
        return login_form(app, request, "Please verify your username or password and try again.")
    session["user_id"] = admin["user_id"]
    target = "/login/oauth2/confirm" if session.get("oauth") else session.pop("return_to", "/")
    return with_session(redirect(target if target.startswith("/") else "/"), sid)


def logout(app: SimApp, request: Request) -> Response:
    sid, session, _ = _current_user(app, request)
    session.pop("user_id", None)
    return with_session(redirect("/login/canvas"), sid)


def dashboard(app: SimApp, request: Request) -> Response:
    sid, _, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    body = "<h1>Dashboard</h1><p>Select Admin in the header to manage your accounts.</p>"
    return with_session(page("Dashboard", body, user=user), sid)


def accounts(app: SimApp, request: Request) -> Response:
    sid, _, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    store = app.store
    rows = [store.root_account] + sorted(store.tables["accounts"].values(), key=lambda a: a["id"])
    items = "".join(f'<li><a href="/accounts/{a["id"]}">{escape(a["name"])}</a></li>' for a in rows)
    return with_session(page("Admin", f"<h1>Admin</h1><ul>{items}</ul>", user=user), sid)


def _account_nav(app: SimApp, account: dict) -> str:
    links = ["Courses", "People", "Settings"]
    nav = "".join(f'<a href="/accounts/{account["id"]}">{name}</a>' for name in links)
    # Developer keys live on the root account only; the guide tells admins to go up a level.
    if account["id"] == app.store.root_account["id"]:
        nav += f'<a href="/accounts/{account["id"]}/developer_keys">Developer Keys</a>'
    return f'<nav class="left" aria-label="Account navigation">{nav}</nav>'


def account_page(app: SimApp, request: Request, account_id: int) -> Response:
    sid, _, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    account = app.store.account(account_id)
    if account is None:
        raise NotFound()
    children = app.store.account_children.get(account_id, [])
    subs = "".join(
        f'<li><a href="/accounts/{cid}">{escape(app.store.account(cid)["name"])}</a></li>' for cid in children
    )
    body = f"{_account_nav(app, account)}<h1>{escape(account['name'])}</h1><h2>Sub-Accounts</h2><ul>{subs}</ul>"
    return with_session(page(account["name"], body, user=user), sid)


def _root_or_404(app: SimApp, account_id: int) -> dict:
    if account_id != app.store.root_account["id"]:
        raise NotFound()
    return app.store.root_account


def developer_keys(app: SimApp, request: Request, account_id: int) -> Response:
    sid, session, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    account = _root_or_404(app, account_id)
    keys = sorted(app.store.tables["developer_keys"].values(), key=lambda k: k["id"])
    rows = "".join(_key_row(account_id, key, session) for key in keys if key.get("workflow_state") != "deleted")
    body = (
        f"{_account_nav(app, account)}<h1>Developer Keys</h1>"
        '<button type="button" aria-haspopup="true" aria-controls="key-menu" '
        "onclick=\"var m=document.getElementById('key-menu');m.hidden=!m.hidden\">+ Developer Key</button>"
        f'<div id="key-menu" class="menu" hidden><a href="/accounts/{account_id}/developer_keys/new">+ API Key</a></div>'
        "<h2>Account</h2><table><thead><tr><th>Name</th><th>Details</th><th>Stats</th><th>Type</th>"
        f"<th>State</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return with_session(page("Developer Keys", body, user=user), sid)


def _key_row(account_id: int, key: dict, session: dict) -> str:
    kid = key["id"]
    state = key.get("state", "off")
    buttons = "".join(
        f'<button type="submit" name="state" value="{value}" aria-pressed="{str(state == value).lower()}">'
        f"{value.upper()}</button>"
        for value in ("on", "off")
    )
    reveal = (
        f"var s=document.getElementById('secret-{kid}');s.hidden=!s.hidden;"
        "this.textContent=s.hidden?'Show Key':'Hide Key'"
    )
    return (
        f'<tr data-key-id="{kid}"><td>{escape(key.get("name") or "Unnamed Tool")}</td>'
        f'<td><div class="client-id">{kid}</div>'
        f'<button type="button" onclick="{reveal}">Show Key</button>'
        f'<div id="secret-{kid}" class="secret" hidden>{escape(key.get("api_key", ""))}</div></td>'
        f"<td>{len(key.get('scopes', []))} scopes</td><td>API Key</td>"
        f'<td><form method="post" action="/accounts/{account_id}/developer_keys/{kid}/state">'
        f"{csrf_field(session)}<fieldset><legend>State</legend>{buttons}</fieldset></form></td></tr>"
    )


def new_developer_key(app: SimApp, request: Request, account_id: int, error: str = "") -> Response:
    sid, session, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    account = _root_or_404(app, account_id)
    groups = _merge_groups()
    scope_boxes = "".join(_scope_group(name, scopes, index) for index, (name, scopes) in enumerate(groups))
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"{_account_nav(app, account)}<h1>Key Settings</h1>{message}"
        f'<form method="post" action="/accounts/{account_id}/developer_keys">{csrf_field(session)}'
        '<p><label for="key-name">Key Name</label><input id="key-name" name="name"></p>'
        '<p><label for="key-email">Owner Email</label><input id="key-email" name="email" type="email"></p>'
        '<p><label for="key-redirect-uris">Redirect URIs</label>'
        '<textarea id="key-redirect-uris" name="redirect_uris" rows="3" cols="60" '
        'aria-describedby="redirect-help"></textarea> <small id="redirect-help">One per line</small></p>'
        '<p><label for="key-notes">Notes</label><textarea id="key-notes" name="notes"></textarea></p>'
        '<p><input type="checkbox" role="switch" id="key-require-scopes" name="require_scopes" value="1">'
        '<label for="key-require-scopes">Enforce Scopes</label></p>'
        '<p><input type="checkbox" id="key-allow-includes" name="allow_includes" value="1">'
        '<label for="key-allow-includes">Allow Include Parameters</label></p>'
        f"{scope_boxes}"
        '<p><button type="submit">Save</button> '
        f'<a href="/accounts/{account_id}/developer_keys">Cancel</a></p></form>'
    )
    response = page("Key Settings", body, user=user)
    response.status_code = 400 if error else 200
    return with_session(response, sid)


def _merge_groups() -> list[tuple[str, list[str]]]:
    merged: dict[str, list[str]] = {name: list(scopes) for name, scopes in SCOPE_GROUPS}
    for name, scopes in EXTRA_SCOPE_GROUPS:
        merged.setdefault(name, []).extend(scopes)
    return list(merged.items())


def _scope_group(name: str, scopes: list[str], index: int) -> str:
    boxes = "".join(
        f'<div><input type="checkbox" id="scope-{index}-{n}" name="scopes" value="{escape(scope)}">'
        f'<label for="scope-{index}-{n}">{escape(scope)}</label></div>'
        for n, scope in enumerate(scopes)
    )
    return f"<fieldset><legend>{escape(name)}</legend>{boxes}</fieldset>"


def create_developer_key(app: SimApp, request: Request, account_id: int) -> Response:
    sid, session, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    _root_or_404(app, account_id)
    form = request.form
    if not csrf_ok(request, session):
        return new_developer_key(app, request, account_id, "Your session expired; please try again.")
    redirect_uris = [line.strip() for line in form.get("redirect_uris", "").splitlines() if line.strip()]
    if not redirect_uris:
        return new_developer_key(app, request, account_id, "Redirect URIs: enter at least one redirect URI.")
    with app.store.lock:
        key_id = app.store.next_id("developer_keys", FIRST_KEY_ID)
        app.store.tables["developer_keys"][key_id] = {
            "id": key_id,
            "name": form.get("name", "").strip() or "Unnamed Tool",
            "email": form.get("email", ""),
            "notes": form.get("notes", ""),
            "api_key": secrets.token_urlsafe(48)[:64],
            "redirect_uris": redirect_uris,
            "scopes": form.getlist("scopes"),
            "require_scopes": form.get("require_scopes") == "1",
            "allow_includes": form.get("allow_includes") == "1",
            "workflow_state": "active",
            "state": "off",
        }
    return with_session(redirect(f"/accounts/{account_id}/developer_keys"), sid)


def set_key_state(app: SimApp, request: Request, account_id: int, key_id: int) -> Response:
    sid, session, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    _root_or_404(app, account_id)
    state = request.form.get("state")
    if not csrf_ok(request, session) or state not in ("on", "off") or app.store.developer_key(key_id) is None:
        raise NotFound()
    app.update_key(key_id, {"state": state})
    return with_session(redirect(f"/accounts/{account_id}/developer_keys"), sid)
