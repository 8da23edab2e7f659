"""The simulator's WSGI application: routing and Canvas's cross-cutting API behaviour
(authentication, scopes, includes, throttle, latency, faults, statistics)."""

from __future__ import annotations

import contextlib
import io
import random
import re
import socket
import threading
import time
from collections import defaultdict
from typing import Any

from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, connection_dropped_errors, make_server
from werkzeug.wrappers import Request, Response

from . import api, api_grading, oauth, pages, visibility
from . import control as control_endpoints
from .generator import GeneratedRosters, generate_base
from .live_events import ROUTES as LIVE_EVENTS_ROUTES
from .live_events import LiveEvents
from .oauth import AuthState, Clock, bearer_token, invalid_token, json_response
from .people_pages import ROUTES as PEOPLE_ROUTES
from .scopes import scope_allows
from .store import Store
from .throttle import Throttle
from .web import Sessions

API_ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("/api/v1/accounts", "GET", api.list_accounts),
    ("/api/v1/course_accounts", "GET", api.course_accounts),
    ("/api/v1/accounts/:id", "GET", api.get_account),
    ("/api/v1/accounts/:account_id/help_links", "GET", api.help_links),
    ("/api/v1/accounts/:account_id/courses", "GET", api.account_courses),
    ("/api/v1/accounts/:account_id/courses/:id", "GET", api.account_course),
    ("/api/v1/accounts/:account_id/roles", "GET", api.account_roles),
    ("/api/v1/accounts/:account_id/permissions", "GET", visibility.account_permissions),
    ("/api/v1/courses/:id", "GET", api.get_course),
    ("/api/v1/courses/:course_id/users", "GET", api.course_users),
    ("/api/v1/courses/:course_id/search_users", "GET", api.course_users),
    ("/api/v1/courses/:course_id/enrollments", "GET", api.course_enrollments),
    ("/api/v1/courses/:course_id/sections", "GET", api.course_sections),
    ("/api/v1/courses/:course_id/sections/:id", "GET", api.course_section),
    ("/api/v1/sections/:id", "GET", api.section),
    ("/api/v1/courses/:course_id/assignments", "GET", api_grading.list_assignments),
    ("/api/v1/courses/:course_id/assignments", "POST", api_grading.create_assignment),
    ("/api/v1/courses/:course_id/assignments/:id", "GET", api_grading.get_assignment),
    (
        "/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
        "GET",
        api_grading.get_submission,
    ),
    (
        "/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
        "PUT",
        api_grading.grade_submission,
    ),
    (
        "/api/v1/courses/:course_id/live_assessments/:assessment_id/results",
        "GET",
        api_grading.live_assessment_results,
    ),
)
WEB_ROUTES: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    ("/login/oauth2/auth", ("GET",), oauth.authorize),
    ("/login/oauth2/confirm", ("GET",), oauth.confirm),
    ("/login/oauth2/accept", ("POST",), oauth.accept),
    ("/login/oauth2/deny", ("GET", "POST"), oauth.deny),
    ("/login/oauth2/token", ("POST",), oauth.token),
    ("/login/oauth2/token", ("DELETE",), oauth.revoke),
    ("/login", ("GET",), lambda app, request: pages.redirect("/login/canvas")),
    ("/login/canvas", ("GET", "POST"), pages.login),
    ("/logout", ("GET", "POST"), pages.logout),
    ("/", ("GET",), pages.dashboard),
    ("/accounts", ("GET",), pages.accounts),
    ("/accounts/<int:account_id>", ("GET",), pages.account_page),
    ("/accounts/<int:account_id>/developer_keys", ("GET",), pages.developer_keys),
    ("/accounts/<int:account_id>/developer_keys", ("POST",), pages.create_developer_key),
    ("/accounts/<int:account_id>/developer_keys/new", ("GET",), pages.new_developer_key),
    ("/accounts/<int:account_id>/developer_keys/<int:key_id>/state", ("POST",), pages.set_key_state),
)
UNAUTHENTICATED = {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
INSUFFICIENT_SCOPES = {"errors": [{"message": "Insufficient scopes on access token."}]}
USER_AGENT_REQUIRED = {"errors": [{"message": "A User-Agent header is required for API requests."}]}
SERVER_ERROR = {"errors": [{"message": "An error occurred.", "error_code": "internal_server_error"}]}


def build_store(dataset: dict | None = None, *, generate: int | None = None, seed: int = 1) -> Store:
    if generate is None:
        return Store(dataset or {})
    store = Store(generate_base(generate, seed))
    store.roster_source = GeneratedRosters(generate, seed, store.course_sections, store.tables["courses"].get)
    return store


def _werkzeug_path(template: str) -> str:
    return re.sub(r":(\w+)", r"<\1>", template)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.in_flight = 0
        self.peak_concurrent = 0
        self.throttled = 0
        self.cost = 0.0  # the sum of every answer's X-Request-Cost: what the bucket had to drain

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak_concurrent = max(self.peak_concurrent, self.in_flight)

    def leave(self, endpoint: str, status: int) -> None:
        with self.lock:
            self.in_flight -= 1
            self.requests[endpoint][str(status)] += 1


class SimApp:
    def __init__(self, store: Store, *, control: bool = False, latency_ms: int | None = None) -> None:
        self.control_enabled = control
        self.cli_latency_ms = latency_ms
        self.url_map = Map(
            [Rule(_werkzeug_path(path), methods=[method], endpoint=("api", path)) for path, method, _ in API_ROUTES]
            + [
                Rule(path, methods=list(methods), endpoint=("web", view))
                for path, methods, view in (*WEB_ROUTES, *PEOPLE_ROUTES)
            ]
            + [
                Rule(path, methods=list(methods), endpoint=("control", view))
                for path, methods, view in (*control_endpoints.ROUTES, *LIVE_EVENTS_ROUTES)
            ],
            strict_slashes=False,
        )
        self.api_handlers = {(path, method): handler for path, method, handler in API_ROUTES}
        self.faults: dict[str, Any] = {}
        self.fault_rng = random.Random()
        # Injected errors in a row per request (method and URL), for `error_repeat_max`.
        self.error_streaks: dict[str, int] = {}
        self.error_streaks_lock = threading.Lock()
        self.live_events = LiveEvents()
        self.replace_store(store)

    def replace_store(self, store: Store) -> None:
        if self.cli_latency_ms is not None:
            store.settings["latency_ms"] = self.cli_latency_ms
        self.store = store
        self.clock = Clock()
        self.auth = AuthState(self.clock)
        self.sessions = Sessions()
        self.throttle = Throttle(store.settings["throttle"])
        self.stats = Stats()
        self.faults = {}
        self.live_events.reset()

    def update_key(self, key_id: int, changes: dict[str, Any]) -> dict:
        """Change a developer key; removing scopes (or starting to enforce them) kills its tokens."""
        with self.store.lock:
            key = self.store.developer_key(key_id)
            if key is None:
                raise KeyError(key_id)
            old_scopes, old_required = set(key.get("scopes", [])), bool(key.get("require_scopes"))
            key.update(changes)
            removed = old_required and bool(old_scopes - set(key.get("scopes", [])))
            if removed or (not old_required and key.get("require_scopes")):
                self.auth.revoke_where(lambda record: record.key_id == key["id"])
            return key

    # -- WSGI --------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        self.stats.enter()
        endpoint, status = "unmatched", 500
        try:
            response, endpoint = self.dispatch(request)
            status = response.status_code
        finally:
            self.stats.leave(endpoint, status)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> tuple[Response, str]:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            rule, values = adapter.match(return_rule=True)
        except HTTPException as error:
            if request.path.startswith("/api/"):
                return self.api_request(request, None, {}), f"{request.method} unmatched"
            return error.get_response(), f"{request.method} unmatched"
        kind, target = rule.endpoint
        label = f"{request.method} {target if kind == 'api' else rule.rule}"
        if kind == "control":
            if not self.control_enabled:
                return NotFound().get_response(), f"{request.method} unmatched"
            return target(self, request, **values), label
        fault = self.inject_fault(request)
        if fault is not None:
            return fault, label
        if kind == "api":
            return self.api_request(request, target, values), label
        self.sleep_latency(request)
        try:
            return target(self, request, **values), label
        except HTTPException as error:
            return error.get_response(), label

    # -- faults and latency ------------------------------------------------------------------
    def _fault_applies(self, request: Request) -> bool:
        pattern = self.faults.get("paths")
        return not pattern or re.search(pattern, request.path) is not None

    def sleep_latency(self, request: Request) -> None:
        latency = self.store.settings.get("latency_ms") or 0
        if "latency_ms" in self.faults and self._fault_applies(request):
            latency = self.faults["latency_ms"]
        if latency:
            time.sleep(float(latency) / 1000)

    def inject_fault(self, request: Request) -> Response | None:
        if not self.faults or not self._fault_applies(request):
            return None
        roll = self.fault_rng.random()
        if roll < float(self.faults.get("error_rate", 0)) and self._may_fail_again(request):
            return json_response(SERVER_ERROR, int(self.faults.get("error_status", 500)))
        if self.fault_rng.random() < float(self.faults.get("timeout_rate", 0)):
            return self._timeout(request)
        return None

    def _may_fail_again(self, request: Request) -> bool:
        """`error_repeat_max` caps how many times in a row one request is answered with an injected
        error: a random rate alone fails some request on every attempt now and then, so a test of
        errors that retries absorb would fail by chance (1 run in ~100 at 10% and 4 attempts)."""
        most = self.faults.get("error_repeat_max")
        if most is None:
            return True
        key = f"{request.method} {request.full_path}"
        with self.error_streaks_lock:
            streak = self.error_streaks.get(key, 0)
            if streak >= int(most):
                del self.error_streaks[key]  # this attempt succeeds; the next one may fail again
                return False
            self.error_streaks[key] = streak + 1
            return True

    def _timeout(self, request: Request) -> Response:
        """Hold the request past a client's read timeout, or drop the connection."""
        if self.faults.get("timeout_mode") == "drop":
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            return Response(b"", status=502)
        time.sleep(float(self.faults.get("timeout_s", 30)))
        return json_response(SERVER_ERROR, 504)

    def _garble(self, request: Request, response: Response) -> None:
        if not self.faults or not self._fault_applies(request) or response.status_code != 200:
            return
        if self.fault_rng.random() < float(self.faults.get("malformed_json_rate", 0)):
            data = response.get_data()
            response.set_data(data[: max(1, len(data) // 2)])
        link = response.headers.get("Link")
        if self.faults.get("loop_pagination") and link and 'rel="next"' in link:
            current = re.search(r'<([^>]*)>; rel="current"', link)
            if current:
                response.headers["Link"] = re.sub(r'<[^>]*>; rel="next"', f'<{current.group(1)}>; rel="next"', link)

    # -- the API pipeline --------------------------------------------------------------------
    def api_request(self, request: Request, template: str | None, values: dict[str, str]) -> Response:
        if not request.headers.get("User-Agent"):
            return json_response(USER_AGENT_REQUIRED, 403)
        raw_token = bearer_token(request)
        bucket = f"token:{raw_token}" if raw_token else f"ip:{request.remote_addr}"
        if self.throttle.begin(bucket) is None:
            with self.stats.lock:
                self.stats.throttled += 1
            return self._throttled()
        items = 0
        try:
            self.sleep_latency(request)
            response, items = self._authorized_call(request, raw_token, template, values)
            self._garble(request, response)
        finally:
            cost, remaining = self.throttle.end(bucket, items)
            with self.stats.lock:
                self.stats.cost += cost
        response.headers["X-Request-Cost"] = f"{cost:.4f}".rstrip("0").rstrip(".")
        response.headers["X-Rate-Limit-Remaining"] = f"{remaining:.1f}"
        return response

    def _throttled(self) -> Response:
        status = int(self.store.settings["throttle"].get("status", 403))
        return Response(
            f"{status} Forbidden (Rate Limit Exceeded)\n",
            status=status,
            content_type="text/plain; charset=utf-8",
            headers={"X-Rate-Limit-Remaining": "0.0"},
        )

    def _authorized_call(
        self, request: Request, raw_token: str | None, template: str | None, values: dict[str, str]
    ) -> tuple[Response, int]:
        if not raw_token:
            return json_response(UNAUTHENTICATED, 401, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}), 0
        record = self.auth.lookup(raw_token)
        key = self.store.developer_key(record.key_id) if record else None
        if record is None or key is None or key.get("workflow_state", "active") != "active":
            return invalid_token(), 0
        if key.get("state", "on") != "on":
            return invalid_token(), 0
        if key.get("require_scopes") and not scope_allows(record.scopes, request.method, request.path):
            return json_response(INSUFFICIENT_SCOPES, 401), 0
        handler = self.api_handlers.get((template, "GET" if request.method == "HEAD" else request.method))
        if handler is None:
            return json_response(api.NOT_FOUND, 404), 0
        if handler is api_grading.grade_submission and self._loses_grade_write(request):
            handler = api_grading.grade_submission_unsaved
        ctx = api.Ctx(
            request,
            self.store,
            request.host_url.rstrip("/"),
            record.user_id,
            self._includes(request, key),
            self.clock.now(),
            key["id"],
        )
        try:
            reply = handler(ctx, **values)
        except api.ApiError as error:
            return json_response(error.body, error.status), 0
        body = reply.body
        if getattr(handler, "__module__", "") == api.__name__:  # grading's integration_id is the tool's own
            body = visibility.strip(body, visibility.hidden_fields(self.store, key["id"], record.user_id))
        return json_response(body, reply.status, reply.headers), reply.items

    def _loses_grade_write(self, request: Request) -> bool:
        rate = float(self.faults.get("lost_grade_write_rate", 0)) if self.faults else 0.0
        return rate > 0 and self._fault_applies(request) and self.fault_rng.random() < rate

    @staticmethod
    def _includes(request: Request, key: dict) -> list[str]:
        names = [
            n
            for name in ("include", "includes")
            for n in (*request.args.getlist(f"{name}[]"), *request.args.getlist(name))
        ]
        if not key.get("allow_includes"):
            return [n for n in names if n == "uuid"]
        return names


# A request line and header lines the fast header reader takes (`read_headers`); anything else, such
# as folded or malformed headers, goes to http.server's own parser, which sees the same bytes.
PLAIN_REQUEST_LINE = re.compile(rb"[A-Z]+ [^\s]+ HTTP/1\.[01]\r?\n\Z")
PLAIN_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n\Z")
MAX_LINE, MAX_HEADERS = 65536, 100  # http.client's _MAXLINE and _MAXHEADERS


def read_headers(rfile: Any, message_class: Any) -> tuple[list[bytes], Any]:
    """The header block's lines, read as http.client reads them, and the message http.client's
    `parse_headers` would make of them (the email package's parser costs ~90 us a request), or None
    when a line is not a plain `Name: value` line: then the caller has that parser read the lines."""
    lines: list[bytes] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        lines.append(line)
        if line in (b"\r\n", b"\n", b""):
            break
        if len(line) > MAX_LINE or len(lines) > MAX_HEADERS or not PLAIN_HEADER_LINE.match(line):
            return lines, None
    message = message_class()
    for line in lines[:-1]:
        name, value = line.decode("iso-8859-1").split(":", 1)
        message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))  # the compat32 policy's header_source_parse
    return lines, message


class _Prefixed:
    """A file that reads `prefix` first, then `rest`: the header lines already read, handed back."""

    def __init__(self, prefix: bytes, rest: Any) -> None:
        self.prefix, self.rest = io.BytesIO(prefix), rest

    def readline(self, limit: int = -1) -> bytes:
        return self.prefix.readline(limit) or self.rest.readline(limit)


class QuietHandler(WSGIRequestHandler):
    """Keeps connections alive between requests, as Canvas's servers do, and writes no access log line
    per request (at hundreds of requests a second both cost real time: a new TCP connection and server
    thread per call, on the client's side too).

    Werkzeug's development server closes every connection ("Connection: close") because http.server
    cannot drain a request body the application left unread before reading the next request line. So
    the body is read here, whole, before the application runs, and the application reads it from
    memory: nothing is left on the socket, and the connection can serve the next request.

    With the body read ahead, the answer is also written here (`_answer`), in one send: Werkzeug's
    writes the status and headers, then the body, then waits on a selector for up to 10 ms for request
    data to discard (there is none left to discard). Per request that was two sends on the loopback
    (each a packet the kernel processes on both sides) and an epoll set made, waited on and closed.
    The bytes sent are Werkzeug's: the same status line, headers (Server, Date, then the
    application's) and body, chunked the same way when the application gives no Content-Length."""

    protocol_version = "HTTP/1.1"
    # A kept-alive connection must not sit on Nagle's algorithm: a response written in more than one
    # send (headers, then body) would wait for the client's delayed ACK, tens of ms per request.
    disable_nagle_algorithm = True

    def parse_request(self) -> bool:
        """http.server's, with the headers read by `read_headers` when they are plain."""
        socket_file = self.rfile
        if not PLAIN_REQUEST_LINE.match(self.raw_requestline):
            return super().parse_request()
        lines, message = read_headers(socket_file, self.MessageClass)
        self.rfile = _Prefixed(b"".join(lines if message is None else lines[-1:]), socket_file)  # type: ignore[assignment]
        try:
            if not super().parse_request():
                return False
        finally:
            self.rfile = socket_file
        if message is None:
            return True
        self.headers = message
        # What http.server's parse_request does with the headers (it saw none above).
        conntype = message.get("Connection", "")
        if conntype.lower() == "close":
            self.close_connection = True
        elif conntype.lower() == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = message.get("Expect", "")
        if (
            expect.lower() == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

    def run_wsgi(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # a body of unknown length: not read ahead, so not kept alive
            return super().run_wsgi()
        socket_file = self.rfile
        self.rfile = io.BytesIO(socket_file.read(length))  # type: ignore[assignment]
        try:
            self._answer()
        finally:
            self.rfile = socket_file

    def _answer(self) -> None:
        """Werkzeug's run_wsgi for a request whose body is in memory, the answer sent in one write."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        try:
            self._send(self.server.app, environ)
        except connection_dropped_errors as error:
            self.connection_dropped(error, environ)
        except Exception as error:
            if self.server.passthrough_errors:  # type: ignore[attr-defined]
                raise
            self._headers_buffer = []
            with contextlib.suppress(Exception):  # as Werkzeug: the client is gone, nothing more to tell it
                self._send(InternalServerError(), environ)
            from werkzeug.debug.tbtools import DebugTraceback

            self.server.log("error", f"Error on request:\n{DebugTraceback(error).render_traceback_text()}")  # type: ignore[attr-defined]

    def _send(self, app: Any, environ: dict) -> None:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info is None and started:
                raise AssertionError("Headers already set")
            started[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        application_iter = app(environ, start_response)
        try:
            chunks.extend(application_iter)
        finally:
            if hasattr(application_iter, "close"):
                application_iter.close()
        status, headers = started
        code_str, _, message = status.partition(" ")
        code = int(code_str)
        self.send_response(code, message)
        header_keys = set()
        for key, value in headers:
            self.send_header(key, value)
            header_keys.add(key.lower())
        chunked = not (
            "content-length" in header_keys
            or environ["REQUEST_METHOD"] == "HEAD"
            or 100 <= code < 200
            or code in (204, 304)
        )
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")  # dropped by send_header unless the connection closes
        out: list[bytes] = getattr(self, "_headers_buffer", [])
        if self.request_version != "HTTP/0.9":
            out.append(b"\r\n")
        for data in chunks:
            if not data:
                continue
            assert isinstance(data, bytes), "applications must write bytes"
            out.extend((f"{len(data):x}\r\n".encode(), data, b"\r\n") if chunked else (data,))
        if chunked:
            out.append(b"0\r\n\r\n")
        self._headers_buffer = []
        self.wfile.write(b"".join(out))

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return  # Werkzeug's "always close": the body was drained above, so the connection stays
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def make_sim_server(app: SimApp, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=QuietHandler)
