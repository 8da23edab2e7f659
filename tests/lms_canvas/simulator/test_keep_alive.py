"""The simulator keeps a client's connection open between requests, as Canvas's servers do: a sync's
hundreds of calls then cost one TCP connection per worker thread, not one each (and the benchmarks
measure the client, not connection set-up)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

UA = "keep-alive-test"  # Canvas refuses requests without a User-Agent; so does the simulator


def _connection(sim) -> http.client.HTTPConnection:
    url = urlsplit(sim.url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=5)


def test_requests_on_one_connection_are_all_answered_on_it(sim, sim_token):
    conn = _connection(sim)
    auth = {"Authorization": f"Bearer {sim_token}", "User-Agent": UA}
    for _ in range(3):
        conn.request("GET", "/api/v1/accounts/1/courses", headers=auth)
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())
        assert response.getheader("Connection", "").lower() != "close"
    assert conn.sock is not None  # never closed by the server: the same socket served all three
    conn.close()


def test_a_body_the_simulator_does_not_read_does_not_spoil_the_next_request(sim, sim_token):
    conn = _connection(sim)
    auth = {"Authorization": f"Bearer {sim_token}", "User-Agent": UA}
    # A body on a GET: nothing reads it; left on the socket it would be read as the next request line.
    conn.request("GET", "/api/v1/accounts/1/courses", body=b"x" * 5000, headers=auth)
    first = conn.getresponse()
    first.read()
    conn.request("GET", "/api/v1/accounts/1", headers=auth)
    second = conn.getresponse()
    assert first.status == 200 and second.status == 200
    assert json.loads(second.read())["id"] == 1
    conn.close()


def test_a_client_asking_to_close_is_closed(sim, sim_token):
    conn = _connection(sim)
    conn.request(
        "GET",
        "/api/v1/accounts/1",
        headers={"Authorization": f"Bearer {sim_token}", "User-Agent": UA, "Connection": "close"},
    )
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Connection", "").lower() == "close"
    conn.close()
