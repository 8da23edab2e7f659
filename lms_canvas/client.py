"""The Canvas REST API client: the only module that knows Canvas's API URLs and JSON (oauth.py has the
OAuth endpoints, links.py the addresses of Canvas's pages for people).

Every answer comes back as lms_canvas.objects values (accounts, courses, sections, people,
enrollments, roles, assignments, submissions, Verify's probes), parsed here once; only `paginate` and
the generic verbs hand out Canvas's JSON (`CanvasObject`, the field names of CANVAS_API.md §5). Every
failure is a `lms_canvas.errors.CanvasError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
from requests.utils import parse_header_links

from lms_canvas import includes
from lms_canvas.errors import CanvasUnavailable, TokenInvalid, UnexpectedResponse, redact
from lms_canvas.http import (
    IDEMPOTENT,
    RetryPolicy,
    TokenSource,
    Transport,
    build_session,
    canvas_timeout,
    decode_json,
)
from lms_canvas.objects import (
    Account,
    Assignment,
    Course,
    CourseUser,
    Enrollment,
    HelpLinks,
    ProbeResult,
    Role,
    Section,
    Submission,
)
from lms_canvas.throttle import Gate, ThrottleGate, fetch_concurrently

__all__ = ["CanvasClient", "CanvasObject", "CoursePage", "StaticToken", "TokenSource", "fetch_concurrently"]

CanvasObject = dict[str, Any]
Params = Mapping[str, Any]

# Every course state, deleted included: the catalogue shows unpublished and deleted courses with the
# reason they cannot be synced instead of letting them vanish (issue 5). Canvas's default omits
# deleted ones, so the list is explicit.
ALL_COURSE_STATES = ("created", "claimed", "available", "completed", "deleted")
# Explicit because Canvas's default depends on who authorized (admins also get inactive), and the
# sync must see the same roster whoever clicked Generate Key; pending ones are reported, not synced.
ENROLLMENT_STATES = ("active", "invited", "creation_pending", "inactive", "completed")
COURSE_USER_ENROLLMENT_STATES = ("active", "invited", "inactive", "completed")
# The permissions of the authorizing user the portal reads (CANVAS_API.md §5.1-5.5): Canvas shows SIS ids
# with "SIS Data - read" or "SIS Data - manage", logins with "Users - view login IDs", else leaves them out.
VISIBILITY_PERMISSIONS = ("read_sis", "manage_sis", "view_user_logins")

# Items checked together for dropped includes: a page of Canvas's.
PER_CHECK = 100
# One call per capability Verify reports, each answered with per_page=1.
PROBES: dict[str, tuple[str, dict[str, Any]]] = {
    # Canvas: CANVAS_API.md §5.1, GET /api/v1/accounts
    "accounts": ("/api/v1/accounts", {}),
    # Canvas: CANVAS_API.md §5.6, GET /api/v1/accounts/:account_id/roles
    "roles": ("/api/v1/accounts/{account}/roles", {}),
    # Canvas: CANVAS_API.md §5.2, GET /api/v1/accounts/:account_id/courses (term only when includes work)
    "courses": ("/api/v1/accounts/{account}/courses", {"include[]": ["term"]}),
    # Canvas: CANVAS_API.md §5.5, GET /api/v1/courses/:course_id/sections
    "sections": ("/api/v1/courses/{course}/sections", {}),
    # Canvas: CANVAS_API.md §5.4, GET /api/v1/courses/:course_id/enrollments
    "enrollments": ("/api/v1/courses/{course}/enrollments", {}),
    # Canvas: CANVAS_API.md §5.3, GET /api/v1/courses/:course_id/users
    "users": ("/api/v1/courses/{course}/users", {}),
    # Canvas: CANVAS_API.md §5.7, GET /api/v1/courses/:course_id/assignments
    "passback": ("/api/v1/courses/{course}/assignments", {}),
}


@dataclass(frozen=True, slots=True)
class CoursePage:
    """One numbered page of an account's course list and its `rel="next"` link (None on the last)."""

    number: int
    courses: list[Course]
    next_url: str | None

    @property
    def next_number(self) -> int | None:
        """The page number the next link asks for, None when it names no plain number (a bookmark)."""
        if self.next_url is None:
            return None
        page = parse_qs(urlsplit(self.next_url).query).get("page", [""])[-1]
        return int(page) if page.isdigit() else None


class StaticToken:
    """A pasted access token (the "Canvas Access Token" LMS type), also handy in tests."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    def access_token(self) -> str:
        return self._token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        raise TokenInvalid(
            "Canvas rejected the pasted access token (expired, revoked or mistyped); it cannot be refreshed.",
            refresh_may_help=False,
            fix="Create a new access token in Canvas and paste it in LMS Settings.",
        )


class CanvasClient:
    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] | None = None,  # None: the CANVAS_*_TIMEOUT_S settings
        max_pages: int = 10_000,
        throttle: Gate | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_pages = max_pages
        # The includes asked for that some answer came back without (see INCLUDE_FIELDS): read by the
        # runs after their reads, so a sync or refresh says the checkbox is off instead of saving gaps.
        self.dropped_includes: set[str] = set()
        self.honoured_includes: set[str] = set()
        self.throttle = throttle or ThrottleGate()
        self._transport = Transport(
            tokens,
            session or build_session(),
            self.throttle,
            timeout=timeout or canvas_timeout(),
            policy=retry or RetryPolicy(),
            sleep=sleep,
        )

    # --- generic verbs -------------------------------------------------------------------------

    def get(self, path: str, params: Params | None = None) -> Any:
        return self._call("GET", self.base_url + path, params=params)

    def post(self, path: str, data: Params) -> Any:
        return self._call("POST", self.base_url + path, data=data)

    def put(self, path: str, data: Params) -> Any:
        return self._call("PUT", self.base_url + path, data=data)

    def paginate(self, path: str, params: Params | None = None) -> Iterator[CanvasObject]:
        """Yield every item of a paginated list, one page in memory at a time.

        Follows `rel="next"` Link URLs exactly as Canvas gives them (they can be opaque bookmarks)
        until there is none. Never stops early in silence: more than `max_pages` pages, a page that
        is not a list, or a next link already visited raise UnexpectedResponse.
        """
        url: str | None = self.base_url + path
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        visited: set[str] = set()
        pages = 0
        while url is not None:
            if pages >= self.max_pages:
                raise UnexpectedResponse(
                    f"GET {path} has more than {self.max_pages} pages (the safety cap max_pages); "
                    "stopped rather than return a partial list."
                )
            visited.add(url)
            response, page = self._request_json("GET", url, params=query)
            if not isinstance(page, list):
                raise UnexpectedResponse(f"Canvas answered GET {_path_of(url)} with an object, not a list.")
            yield from page
            pages += 1
            url, query = self._next_url(response, visited, path), None

    def _next_url(self, response: requests.Response, visited: set[str], path: str) -> str | None:
        url = _next_link(response)
        if url is None:
            return None
        if url in visited:
            raise UnexpectedResponse(f"Canvas's pagination of GET {path} links back to a page already read.")
        # The bearer token goes with every request, so never follow a link off this Canvas host.
        if urlsplit(url)[:2] != urlsplit(self.base_url)[:2]:
            raise UnexpectedResponse(f"Canvas's pagination of GET {path} points to another host.")
        return url

    def _call(self, method: str, url: str, *, params: Params | None = None, data: Params | None = None) -> Any:
        return self._request_json(method, url, params=params, data=data)[1]

    def _request_json(
        self, method: str, url: str, *, params: Params | None = None, data: Params | None = None
    ) -> tuple[requests.Response, Any]:
        """Send and decode; a JSON answer cut short (a connection dropped mid-body) is sent again,
        like a 5xx, when the request is idempotent. A body that is not JSON at all is not retried."""
        policy = self._transport.policy
        for attempt in range(policy.attempts):
            response = self._transport.request(method, url, params=params, data=data)
            try:
                return response, decode_json(method, _path_of(url), response)
            except UnexpectedResponse:
                garbled = "json" in response.headers.get("Content-Type", "")
                if not garbled or method not in IDEMPOTENT or attempt + 1 >= policy.attempts:
                    raise
                self._transport.back_off(f"{method} {_path_of(url)}: JSON cut short", policy.delay(attempt))
        raise AssertionError("unreachable")

    # --- accounts --------------------------------------------------------------------------------

    def get_account(self, account_id: str | int = "self") -> Account:
        # Canvas: CANVAS_API.md §5.1, GET /api/v1/accounts/:id ("self" is the domain root account)
        return Account.from_json(self._object(self.get(f"/api/v1/accounts/{_segment(account_id)}")))

    def list_accounts(self) -> list[Account]:
        # Canvas: CANVAS_API.md §5.1, GET /api/v1/accounts (accounts the user can view or manage)
        return [Account.from_json(a) for a in self.paginate("/api/v1/accounts")]

    def get_help_links(self, account_id: str | int = "self") -> HelpLinks:
        # Canvas: CANVAS_API.md §5.1, GET /api/v1/accounts/:account_id/help_links (cheap token check)
        return HelpLinks.from_json(self._object(self.get(f"/api/v1/accounts/{_segment(account_id)}/help_links")))

    def list_roles(self, account_id: str | int = "self") -> list[Role]:
        # Canvas: CANVAS_API.md §5.6, GET /api/v1/accounts/:account_id/roles (built-in roles included)
        params = {"state[]": ["active"], "show_inherited": "true"}
        return [Role.from_json(r) for r in self.paginate(f"/api/v1/accounts/{_segment(account_id)}/roles", params)]

    # --- courses and sections -------------------------------------------------------------------

    def iter_account_courses(
        self,
        account_id: str | int = "self",
        *,
        include: Iterable[str] = ("term", "total_students"),
        state: Iterable[str] = ALL_COURSE_STATES,
    ) -> Iterator[Course]:
        # Canvas: CANVAS_API.md §5.2, GET /api/v1/accounts/:account_id/courses (sub-accounts included)
        params = {"include[]": list(include), "state[]": list(state)}
        pages = self.paginate(f"/api/v1/accounts/{_segment(account_id)}/courses", params)
        return map(Course.from_json, self._checked(pages, include))

    def get_account_courses_page(
        self,
        page: int,
        account_id: str | int = "self",
        *,
        per_page: int = 100,
        include: Iterable[str] = ("term", "total_students"),
        state: Iterable[str] = ALL_COURSE_STATES,
    ) -> CoursePage:
        """One numbered page of the account's courses, so pages can be fetched concurrently.

        Canvas pages this collection by number and sends no `last` link (CANVAS_API.md §3): the last
        page is the one without a `next` link, and a page past the end is `[]`. The page also says
        whether its `next` link is the next number, which is what makes asking for page N directly
        safe; a Canvas that pages the list by bookmark instead must be followed link by link.
        """
        # Canvas: CANVAS_API.md §5.2, GET /api/v1/accounts/:account_id/courses?page=N&per_page=100
        params = {"include[]": list(include), "state[]": list(state), "page": page, "per_page": per_page}
        url = f"{self.base_url}/api/v1/accounts/{_segment(account_id)}/courses"
        response, body = self._request_json("GET", url, params=params)
        if not isinstance(body, list):
            raise UnexpectedResponse("Canvas answered the account's course list with an object, not a list.")
        self.note_includes(body, include)
        return CoursePage(page, [Course.from_json(c) for c in body], _next_link(response))

    def get_course(
        self,
        course_id_or_sis: str | int,
        *,
        account_id: str | int = "self",
        include: Iterable[str] = ("term", "total_students", "all_courses"),
    ) -> Course:
        """One course by Canvas id or `sis_course_id:<value>`; `all_courses` finds deleted ones too."""
        # Canvas: CANVAS_API.md §5.2, GET /api/v1/accounts/:account_id/courses/:id (the seed's scope;
        # /api/v1/courses/:id is not in it)
        path = f"/api/v1/accounts/{_segment(account_id)}/courses/{_segment(course_id_or_sis)}"
        course = self._object(self.get(path, {"include[]": list(include)}))
        self.note_includes([course], include)
        return Course.from_json(course)

    def iter_sections(self, course_id: str | int, include: Iterable[str] = ()) -> Iterator[Section]:
        # Canvas: CANVAS_API.md §5.5, GET /api/v1/courses/:course_id/sections (active sections only)
        params = {"include[]": list(include)} if include else None
        pages = self.paginate(f"/api/v1/courses/{_segment(course_id)}/sections", params)
        return map(Section.from_json, self._checked(pages, include))

    def get_section(self, section_id: str | int) -> Section:
        # Canvas: CANVAS_API.md §5.5, GET /api/v1/sections/:id (404 when it or its course is deleted)
        return Section.from_json(self._object(self.get(f"/api/v1/sections/{_segment(section_id)}")))

    # --- people ------------------------------------------------------------------------------------

    def iter_enrollments(
        self,
        course_id: str | int,
        *,
        states: Iterable[str] = ENROLLMENT_STATES,
        types: Iterable[str] = (),
        include: Iterable[str] = (),
    ) -> Iterator[Enrollment]:
        """Each enrollment embeds its `user`; `types` are e.g. StudentEnrollment (all when empty).

        `include=("email",)` adds the embedded user's email (Canvas drops it, like every include,
        when the developer key does not Allow Include Parameters)."""
        # Canvas: CANVAS_API.md §5.4, GET /api/v1/courses/:course_id/enrollments (bookmark pages)
        params: dict[str, Any] = {"state[]": list(states)}
        if types:
            params["type[]"] = list(types)
        if include:
            params["include[]"] = list(include)
        pages = self.paginate(f"/api/v1/courses/{_segment(course_id)}/enrollments", params)
        return map(Enrollment.from_json, self._checked(pages, include, embedded="user"))

    def iter_course_users(
        self,
        course_id: str | int,
        *,
        enrollment_states: Iterable[str] = COURSE_USER_ENROLLMENT_STATES,
        include: Iterable[str] = ("enrollments",),
    ) -> Iterator[CourseUser]:
        # Canvas: CANVAS_API.md §5.3, GET /api/v1/courses/:course_id/users (sis_user_id, email added)
        params = {"enrollment_state[]": list(enrollment_states), "include[]": list(include)}
        pages = self.paginate(f"/api/v1/courses/{_segment(course_id)}/users", params)
        return map(CourseUser.from_json, self._checked(pages, include))

    # --- what the authorizing user may see ---------------------------------------------------------

    def get_permissions(
        self, account_id: str | int = "self", names: Iterable[str] = VISIBILITY_PERMISSIONS
    ) -> dict[str, bool]:
        """The authorizing user's permissions on the account, each name -> True/False."""
        # Canvas: CANVAS_API.md §5.1, GET /api/v1/accounts/:account_id/permissions?permissions[]=...
        path = f"/api/v1/accounts/{_segment(account_id)}/permissions"
        body = self._object(self.get(path, {"permissions[]": list(names)}))
        return {name: body.get(name) in (True, "true") for name in names}

    # --- includes ----------------------------------------------------------------------------------

    def note_includes(self, items: list[CanvasObject], include: Iterable[str], *, embedded: str = "") -> None:
        """Record in `dropped_includes` each include that no item of one answer carries (and in
        `honoured_includes` those some item does)."""
        honoured, dropped = includes.judged(items, include, embedded=embedded)
        self.honoured_includes |= honoured
        self.dropped_includes |= dropped

    def _checked(
        self, items: Iterator[CanvasObject], include: Iterable[str], *, embedded: str = ""
    ) -> Iterator[CanvasObject]:
        """The items, each PER_CHECK of them (a page) checked by note_includes as they pass."""
        include = tuple(include)
        if not include:
            yield from items
            return
        chunk: list[CanvasObject] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= PER_CHECK:
                self.note_includes(chunk, include, embedded=embedded)
                yield from chunk
                chunk = []
        self.note_includes(chunk, include, embedded=embedded)
        yield from chunk

    # --- what Verify checks ------------------------------------------------------------------------

    def probe(self, what: str, *, account_id: str | int = "self", course_id: str | int = "") -> ProbeResult:
        """What the first item of the cheapest call behind one thing the portal does (PROBES' names)
        shows, so Verify finds a missing scope or a switched-off include at once."""
        path, params = PROBES[what]
        url = path.format(account=_segment(account_id), course=_segment(course_id))
        page = self.get(url, {"per_page": 1, **params})
        if not isinstance(page, list):
            raise UnexpectedResponse(f"Canvas answered GET {_path_of(url)} with an object, not a list.")
        return ProbeResult.from_page(page, params.get("include[]", ()))

    # --- grades --------------------------------------------------------------------------------

    def iter_assignments(self, course_id: str | int) -> Iterator[Assignment]:
        # Canvas: CANVAS_API.md §5.7, GET /api/v1/courses/:course_id/assignments
        return map(Assignment.from_json, self.paginate(f"/api/v1/courses/{_segment(course_id)}/assignments"))

    def create_assignment(self, course_id: str | int, **fields: Any) -> Assignment:
        """Create an assignment; `fields` are Canvas's (`name`, `points_possible`, `published`...)."""
        # Canvas: CANVAS_API.md §5.7, POST /api/v1/courses/:course_id/assignments (201; unpublished
        # unless published=True)
        data = _nested_form("assignment", fields)
        return Assignment.from_json(self._object(self.post(f"/api/v1/courses/{_segment(course_id)}/assignments", data)))

    def get_submission(self, course_id: str | int, assignment_id: str | int, user_id: str | int) -> Submission:
        # Canvas: CANVAS_API.md §5.8, GET .../assignments/:assignment_id/submissions/:user_id
        return Submission.from_json(self._object(self.get(_submission_path(course_id, assignment_id, user_id))))

    def grade_submission(
        self, course_id: str | int, assignment_id: str | int, user_id: str | int, posted_grade: str
    ) -> Submission:
        """Set a student's grade: points "13.5", "40%", a letter, or pass/fail (idempotent PUT)."""
        # Canvas: CANVAS_API.md §5.8, PUT .../submissions/:user_id with submission[posted_grade]
        data = {"submission[posted_grade]": posted_grade}
        return Submission.from_json(self._object(self.put(_submission_path(course_id, assignment_id, user_id), data)))

    @staticmethod
    def _object(body: Any) -> CanvasObject:
        if not isinstance(body, dict):
            raise UnexpectedResponse(f"Canvas answered with a {type(body).__name__} where an object was expected.")
        return body


def _segment(value: str | int) -> str:
    """One path segment: SIS ids like `sis_course_id:CS/101` keep their colon, escape the rest."""
    return quote(str(value), safe=":")


def _submission_path(course_id: str | int, assignment_id: str | int, user_id: str | int) -> str:
    return (
        f"/api/v1/courses/{_segment(course_id)}/assignments/{_segment(assignment_id)}/submissions/{_segment(user_id)}"
    )


def _nested_form(prefix: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Rails-style form fields: {"name": "X", "submission_types": [...]} -> assignment[name], ..."""
    form: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, bool):
            form[f"{prefix}[{key}]"] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            form[f"{prefix}[{key}][]"] = list(value)
        else:
            form[f"{prefix}[{key}]"] = value
    return form


def _next_link(response: requests.Response) -> str | None:
    """The rel="next" URL; RFC 8288 makes the header name, `rel` and its value case-insensitive."""
    for link in parse_header_links(response.headers.get("Link", "")):
        params = {key.lower(): value for key, value in link.items()}
        if "next" in params.get("rel", "").lower().split():
            return link["url"]
    return None


def _path_of(url: str) -> str:
    return redact(urlsplit(url).path)


KEYS_TIMEOUT_S = (5.0, 10.0)  # (connect, read): the webhook waits on it when a key is new


def get_live_events_keys(url: str) -> dict[str, Any]:
    """The public keys that sign Canvas's Live Events, a JWKS document ({"keys": [...]}); it is the same
    for every Canvas customer and needs no token. Any failure is a CanvasUnavailable."""
    # Canvas: the Live Events service's published key set (CANVAS_API.md §9, LIVE_EVENTS_JWKS_URL)
    try:
        response = build_session().get(url, timeout=KEYS_TIMEOUT_S)
    except requests.RequestException as exc:
        raise CanvasUnavailable(f"Canvas's Live Events key set could not be fetched ({type(exc).__name__}).") from exc
    if response.status_code != 200:
        raise CanvasUnavailable(f"Canvas's Live Events key set answered HTTP {response.status_code}.")
    try:
        keys = response.json()
    except ValueError as exc:
        raise CanvasUnavailable("Canvas's Live Events key set was not JSON.") from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise CanvasUnavailable("Canvas's Live Events key set had no list of keys.")
    return keys
