"""A recording HTTP server of the test's own on 127.0.0.1: it answers as Canvas would just enough to
lure a secret out, and keeps every byte it is sent, so a test can say that no secret reached it.

`Recorder.routes` maps (method, path) to (status, headers, body); anything else answers 200 `{}`.
By default the OAuth endpoints answer as Canvas's do: the authorize URL redirects to the login page
(every pre-login check passed) and the token endpoint says the code is unknown (the secret is right).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Answer = tuple[int, dict[str, str], bytes]

CANVAS_LIKE: dict[tuple[str, str], Answer] = {
    ("GET", "/login/oauth2/auth"): (302, {"Location": "/login/canvas"}, b""),
    ("POST", "/login/oauth2/token"): (
        400,
        {"Content-Type": "application/json"},
        json.dumps({"error": "invalid_grant", "error_description": "authorization_code not found"}).encode(),
    ),
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}\n{head}\n\n{self.body.decode(errors='replace')}"


@dataclass
class Recorder:
    url: str = ""
    routes: dict[tuple[str, str], Answer] = field(default_factory=lambda: dict(CANVAS_LIKE))
    requests: list[Recorded] = field(default_factory=list)
    first_lines: list[bytes] = field(default_factory=list)
    connections: int = 0

    def answer(self, method: str, path: str, status: int, headers: dict[str, str] | None = None, body=b"") -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.routes[(method, path)] = (status, headers or {}, body)

    def received(self) -> str:
        """Everything sent here, request lines, headers and bodies, as one text."""
        return "\n".join(r.text() for r in self.requests) + b"\n".join(self.first_lines).decode(errors="replace")

    def assert_received_none_of(self, secrets: list[str]) -> None:
        everything = self.received()
        for secret in secrets:
            assert secret, "a secret to look for is empty"
            assert secret not in everything, f"a secret reached the recording server at {self.url}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.recorder.connections += 1

    def parse_request(self) -> bool:
        # Kept before parsing so bytes that are not HTTP (a TLS hello) are seen too.
        self.server.recorder.first_lines.append(self.raw_requestline)
        return super().parse_request()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorder = self.server.recorder
        recorder.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
        route = (self.command, urlsplit(self.path).path)
        status, headers, content = recorder.routes.get(route, (200, {"Content-Type": "application/json"}, b"{}"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    recorder: Recorder


@contextmanager
def recording_server(host_name: str = "127.0.0.1") -> Iterator[Recorder]:
    """A Recorder listening on 127.0.0.1 and a free port; `host_name` is the name its URL uses."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.recorder = Recorder(url=f"http://{host_name}:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
