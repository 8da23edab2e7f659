"""Run the simulator on a background thread, and get tokens through the real OAuth flow."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from .app import SimApp, build_store, make_sim_server
from .generator import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    DEMO_KEY_ID,
    DEMO_REDIRECT_URIS,
    DEMO_SECRET,
    demo_developer_key,
)
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

    def reset(self, dataset: dict | None = None, *, generate: int | None = None, seed: int = 1) -> None:
        """As if started afresh on the same port: a new store from `dataset` (or a generated institution),
        and a new clock, tokens, browser sessions, throttle, statistics, faults and fault randomness."""
        self.app.replace_store(build_store(dataset, generate=generate, seed=seed))
        self.app.fault_rng = random.Random()

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
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="canvas-simulator", daemon=True
    )
    thread.start()
    try:
        yield RunningSimulator(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def small_dataset() -> dict[str, Any]:
    """A small institution with the awkward cases: a sub-sub-account, courses without SIS ids,
    unpublished and deleted courses, a cross-listed section, a custom role, users without SIS id
    or email, an invited-only user, an inactive and a completed enrollment, accented and
    apostrophe names, and the demo developer key and admin login."""
    users = [
        (1, "Canvas Admin", "Admin, Canvas", None, "canvas-admin", "canvas-admin@demo.edu"),
        (101, "Ada Lovelace", "Lovelace, Ada", "S0001", "ada", "ada@demo.edu"),
        (102, "Seán O'Brien", "O'Brien, Seán", "S0002", "sobrien", "sobrien@demo.edu"),
        (103, "Zoë Müller", "Müller, Zoë", None, "zmuller", "zmuller@demo.edu"),
        (104, "José García", "García, José", "S0004", "jgarcia", None),
        (105, "Ngozi N'Diaye", "N'Diaye, Ngozi", "S0005", "nndiaye", "nndiaye@demo.edu"),
        (106, "Priya Patel", "Patel, Priya", "S0006", "ppatel", "ppatel@demo.edu"),
        (201, "Grace Hopper", "Hopper, Grace", "E0001", "ghopper", "ghopper@demo.edu"),
        (202, "Alan Turing", "Turing, Alan", "E0002", "aturing", "aturing@demo.edu"),
        (900, "Test Student", "Student, Test", None, None, None),
    ]
    enrollments = [
        (9001, 101, 501, 801, "StudentEnrollment", 3, "active"),
        (9002, 102, 501, 801, "StudentEnrollment", 3, "active"),
        (9003, 103, 501, 802, "StudentEnrollment", 20, "active"),
        (9004, 104, 501, 802, "StudentEnrollment", 3, "invited"),
        (9005, 105, 501, 801, "StudentEnrollment", 3, "inactive"),
        (9006, 106, 501, 802, "StudentEnrollment", 3, "completed"),
        (9007, 201, 501, 801, "TeacherEnrollment", 4, "active"),
        (9008, 202, 501, 802, "TaEnrollment", 5, "active"),
        (9009, 900, 501, 801, "StudentViewEnrollment", 3, "active"),
        (9010, 101, 502, 803, "StudentEnrollment", 3, "active"),
        (9011, 105, 502, 803, "StudentEnrollment", 3, "active"),
        (9012, 202, 502, 803, "TeacherEnrollment", 4, "active"),
        (9013, 106, 502, 804, "StudentEnrollment", 3, "active"),
        (9014, 102, 503, 805, "StudentEnrollment", 3, "active"),
        (9015, 201, 503, 805, "TeacherEnrollment", 4, "active"),
    ]
    return {
        "root_account": {"id": 1, "name": "Demo University", "default_time_zone": "America/New_York"},
        "accounts": [
            {"id": 2, "name": "School of Law", "parent_account_id": 1, "sis_account_id": "LAW"},
            {"id": 3, "name": "College of Arts & Sciences", "parent_account_id": 1, "sis_account_id": "CAS"},
            {"id": 4, "name": "Department of History", "parent_account_id": 3, "sis_account_id": None},
        ],
        "terms": [
            {"id": 1, "name": "Default Term", "sis_term_id": None, "start_at": None, "end_at": None},
            {
                "id": 2,
                "name": "Fall 2026",
                "sis_term_id": "2026FA",
                "start_at": "2026-08-24T00:00:00Z",
                "end_at": "2026-12-18T00:00:00Z",
            },
        ],
        "roles": [
            {"id": 20, "label": "Auditor", "base_role_type": "StudentEnrollment", "workflow_state": "active", "account_id": 1},
            {"id": 21, "label": "Course Director", "base_role_type": "TeacherEnrollment", "workflow_state": "active", "account_id": 1},
        ],
        "users": [
            {"id": uid, "name": name, "sortable_name": sortable, "short_name": name.split()[0],
             "sis_user_id": sis, "integration_id": None, "login_id": login, "email": email}
            for uid, name, sortable, sis, login, email in users
        ],
        "courses": [
            _course(501, 2, "Contracts I", "LAW-101", "LAW-101-F26", "available", 2),
            _course(502, 4, "History of Science", "HIST-210", None, "available", 2),
            _course(503, 3, "Philosophy II", "PHIL-202", "PHIL-202-F26", "unpublished", 2),
            _course(504, 2, "Torts (old)", "LAW-102", "LAW-102-F25", "deleted", 1),
            _course(505, 3, "Statistics I", "STAT-101", "STAT-101-F26", "completed", 1),
        ],
        "sections": [
            {"id": 801, "course_id": 501, "name": "Section A", "sis_section_id": "LAW-101-F26-A", "integration_id": None, "nonxlist_course_id": None},
            {"id": 802, "course_id": 501, "name": "Section B", "sis_section_id": None, "integration_id": None, "nonxlist_course_id": None},
            {"id": 803, "course_id": 502, "name": "History of Science", "sis_section_id": None, "integration_id": None, "nonxlist_course_id": None},
            {"id": 804, "course_id": 502, "name": "Philosophy II (cross-listed)", "sis_section_id": "PHIL-202-F26-X", "integration_id": None, "nonxlist_course_id": 503},
            {"id": 805, "course_id": 503, "name": "Philosophy II", "sis_section_id": "PHIL-202-F26-A", "integration_id": None, "nonxlist_course_id": None},
        ],
        "enrollments": [
            {"id": eid, "user_id": uid, "course_id": cid, "course_section_id": sid, "type": kind,
             "role_id": role, "enrollment_state": state}
            for eid, uid, cid, sid, kind, role, state in enrollments
        ],
        "admins": [{"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD, "user_id": 1}],
        "developer_keys": [demo_developer_key()],
        "assignments": [],
        "submissions": [],
        "live_assessments": [{"id": 61, "course_id": 501, "key": "osce-1", "title": "OSCE station 1"}],
        "live_assessment_results": [
            {"id": 71, "assessment_id": 61, "user_id": 101, "assessor_id": 201, "passed": True,
             "assessed_at": "2026-09-01T10:00:00Z"},
            {"id": 72, "assessment_id": 61, "user_id": 102, "assessor_id": 201, "passed": False,
             "assessed_at": "2026-09-01T10:05:00Z"},
        ],
    }  # fmt: skip


def _course(course_id: int, account_id: int, name: str, code: str, sis: str | None, state: str, term: int) -> dict:
    return {
        "id": course_id,
        "account_id": account_id,
        "name": name,
        "course_code": code,
        "sis_course_id": sis,
        "integration_id": None,
        "workflow_state": state,
        "enrollment_term_id": term,
        "start_at": None,
        "end_at": None,
    }
