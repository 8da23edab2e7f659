"""A webhook on a thread that records what the simulator's Live Events deliver (for the simulator's tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import jwt
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Receiver:
    url: str = ""
    bodies: list[bytes] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many deliveries first
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return Response("down", status=500)(environ, start_response)
            self.bodies.append(request.get_data())
        return Response("", status=204)(environ, start_response)

    def events(self) -> list[dict]:
        """The deliveries' claims (not verified: the signature is checked by the tests that care)."""
        return [jwt.decode(b, options={"verify_signature": False}) for b in self.bodies]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events()


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
