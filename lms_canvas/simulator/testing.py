"""Run the simulator on a background thread, and get tokens through the real OAuth flow."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from .app import SimApp, build_store, make_sim_server
from .generator import ADMIN_LOGIN, ADMIN_PASSWORD, DEMO_KEY_ID, DEMO_REDIRECT_URIS, DEMO_SECRET
from .scopes import SEED_SCOPES
from .store import Store

USER_AGENT = "lms-canvas-simulator-tests/1.0"


class OAuthFlowError(RuntimeError):
    """The browser part of the flow did not end with a code on the redirect URI."""


def browser_authorize(
    base_url: str,
    authorize_url: str,
    *,
    login: str = ADMIN_LOGIN,
    password: str = ADMIN_PASSWORD,
    session: requests.Session | None = None,
    cancel: bool = False,
) -> dict[str, str]:
    """Do what a browser does for `authorize_url`: log in if asked, click Authorize (or Cancel),
    and return the query parameters Canvas put on the redirect URI (`code`, `state` or `error`...)."""
    http = session or requests.Session()
    response = http.get(authorize_url, allow_redirects=False, timeout=10)
    while response.is_redirect:
        location = response.headers["Location"]
        if not location.startswith(base_url) and not location.startswith("/"):
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}
        target = location if location.startswith("http") else base_url + location
        if urlsplit(target).path == "/login/canvas":
            form = http.get(target, timeout=10).text
            response = http.post(
                f"{base_url}/login/canvas",
                data={"unique_id": login, "password": password, "authenticity_token": _csrf(form)},
                allow_redirects=False,
                timeout=10,
            )
            continue
        page = http.get(target, timeout=10)
        if urlsplit(target).path != "/login/oauth2/confirm":
            raise OAuthFlowError(f"unexpected page {target}: {page.status_code}")
        action = "/login/oauth2/deny" if cancel else "/login/oauth2/accept"
        response = http.post(
            base_url + action, data={"authenticity_token": _csrf(page.text)}, allow_redirects=False, timeout=10
        )
    raise OAuthFlowError(f"no redirect to the client: {response.status_code} {response.text[:200]}")


def _csrf(html: str) -> str:
    match = re.search(r'name="authenticity_token" value="([^"]+)"', html)
    if not match:
        raise OAuthFlowError("no authenticity_token on the page")
    return match.group(1)


@dataclass
class RunningSimulator:
    url: str
    app: SimApp

    @property
    def store(self) -> Store:
        return self.app.store

    def control(self, path: str, json: dict | None = None) -> Any:
        """POST (or GET for `stats`) a `/_sim/<path>` control endpoint and return its JSON."""
        method = "GET" if path.strip("/") == "stats" else "POST"
        response = requests.request(method, f"{self.url}/_sim/{path.strip('/')}", json=json or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def issue_token(
        self,
        scopes: list[str] | tuple[str, ...] | None = None,
        *,
        client_id: int = DEMO_KEY_ID,
        client_secret: str = DEMO_SECRET,
        redirect_uri: str = DEMO_REDIRECT_URIS[0],
    ) -> dict[str, Any]:
        """The token response of a full OAuth round trip over HTTP (login as canvas-admin,
        Authorize, code exchange). `scopes` defaults to the seed's scope list."""
        params = {
            "client_id": str(client_id),
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": "test-state",
            "scope": " ".join(SEED_SCOPES if scopes is None else scopes),
        }
        authorize = requests.Request("GET", f"{self.url}/login/oauth2/auth", params=params).prepare().url
        result = browser_authorize(self.url, authorize)
        if "code" not in result:
            raise OAuthFlowError(f"authorize failed: {result}")
        response = requests.post(
            f"{self.url}/login/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": str(client_id),
                "client_secret": client_secret,
                "redirect_uri": redirect_uri,
                "code": result["code"],
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def api(self, token: str) -> requests.Session:
        """A requests session that sends the token and a User-Agent, as a Canvas client must."""
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})
        return session


@contextmanager
def run_simulator(
    dataset: dict | None = None,
    *,
    generate: int | None = None,
    seed: int = 1,
    control: bool = True,
    latency_ms: int = 0,
) -> Iterator[RunningSimulator]:
    """Serve a dataset (or a generated institution) on 127.0.0.1 and a free port until the block ends."""
    store = build_store(dataset, generate=generate, seed=seed)
    app = SimApp(store, control=control, latency_ms=latency_ms or None)
    server = make_sim_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, name="canvas-simulator", daemon=True)
    thread.start()
    try:
        yield RunningSimulator(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
