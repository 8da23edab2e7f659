"""Browser sessions and the HTML page frame shared by the login, admin and OAuth pages."""

from __future__ import annotations

import secrets
import threading
import time
from html import escape
from typing import Any

from werkzeug.wrappers import Request, Response

# Canvas's own cookie name: the portal's Django session is `sessionid` on the same host, and
# browsers share cookies between ports, so the names must differ.
SESSION_COOKIE = "_normandy_session"

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#2d3b45}
header{background:#394b58;color:#fff;padding:.6rem 1rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#fff}
main{padding:1rem 2rem;max-width:70rem}
nav.left{float:left;width:12rem;margin-right:2rem} nav.left a{display:block;padding:.3rem 0}
table{border-collapse:collapse} td,th{border:1px solid #c7cdd1;padding:.4rem .6rem;text-align:left}
fieldset{margin:.6rem 0} label{margin-right:.5rem}
.error{color:#b00} .menu[hidden]{display:none}
button[aria-pressed=true]{font-weight:bold;background:#0b874b;color:#fff}
"""


class Sessions:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The request's session, creating one when the cookie is missing or unknown."""
        if "sim.session" in request.environ:
            return request.environ["sim.session"]
        sid = request.cookies.get(SESSION_COOKIE, "")
        with self._lock:
            session = self._data.get(sid)
            if session is None:
                sid = secrets.token_urlsafe(24)
                session = self._data[sid] = {"csrf": secrets.token_urlsafe(16), "created": time.time()}
        request.environ["sim.session"] = (sid, session)
        return sid, session

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def with_session(response: Response, sid: str) -> Response:
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax", path="/")
    return response


def page(title: str, body: str, *, user: dict | None = None) -> Response:
    nav = ""
    if user:
        nav = (
            f'<a href="/accounts">Admin</a><a href="/">Dashboard</a>'
            f"<span>Logged in as {escape(user.get('name', ''))}</span>"
        )
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><header><strong>Canvas</strong>{nav}</header>"
        f"<main>{body}</main></body></html>"
    )
    return Response(html, content_type="text/html; charset=utf-8")


def csrf_field(session: dict) -> str:
    return f'<input type="hidden" name="authenticity_token" value="{escape(session["csrf"])}">'


def csrf_ok(request: Request, session: dict) -> bool:
    return secrets.compare_digest(request.form.get("authenticity_token", ""), session["csrf"])
