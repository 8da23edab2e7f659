"""The client against `responses`: the odd cases a simulator cannot easily produce."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from lms_canvas.client import CanvasClient, StaticToken
from lms_canvas.errors import (
    CanvasUnavailable,
    Forbidden,
    NotFound,
    RequestRejected,
    ScopeMissing,
    Throttled,
    TokenInvalid,
    UnexpectedResponse,
)
from lms_canvas.http import RetryPolicy
from lms_canvas.throttle import ThrottleGate

BASE = "https://canvas.example.edu"
TOKEN = "7~SECRETtokenVALUE1234567890"
INVALID_TOKEN = {"errors": [{"message": "Invalid access token."}]}
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}
RATE_LIMITED = "403 Forbidden (Rate Limit Exceeded)\n"
PROJECT_VERSION = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["version"]


class RecordingGate:
    def __init__(self):
        self.releases: list[tuple[float | None, bool]] = []

    def acquire(self):
        pass

    def release(self, remaining, throttled):
        self.releases.append((remaining, throttled))


class RefreshingTokens:
    def __init__(self, first, refreshed):
        self.current = first
        self.refreshed = refreshed
        self.rejected: list[str] = []

    def access_token(self):
        return self.current

    def refreshed_after_rejection(self, rejected_token):
        self.rejected.append(rejected_token)
        self.current = self.refreshed
        return self.refreshed


@pytest.fixture
def sleeps():
    return []


def instant_gate() -> ThrottleGate:
    """A real gate whose pauses after throttled answers are too short to slow a test."""
    return ThrottleGate(outflow=1e6)


@pytest.fixture
def client(sleeps):
    return CanvasClient(BASE, StaticToken(TOKEN), throttle=instant_gate(), sleep=sleeps.append)


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def page_link(rel: str, url: str) -> str:
    return f'<{url}>; rel="{rel}"'


# --- the session -------------------------------------------------------------------------------


@responses.activate
def test_requests_carry_user_agent_accept_bearer_token_and_timeouts(client):
    responses.get(f"{BASE}/api/v1/accounts/self", json={"id": 1})

    assert client.get_account().id == 1

    call = responses.calls[0]
    assert call.request.headers["User-Agent"] == f"LMS-Sync-Portal/{PROJECT_VERSION} (+python-requests)"
    assert call.request.headers["Accept"] == "application/json"
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.req_kwargs["timeout"] == (5, 30)
    assert "access_token" not in call.request.url


@responses.activate
def test_every_answer_feeds_rate_limit_remaining_to_the_gate():
    gate = RecordingGate()
    client = CanvasClient(BASE, StaticToken(TOKEN), throttle=gate, sleep=lambda _: None)
    responses.get(f"{BASE}/api/v1/accounts/self", json={"id": 1}, headers={"X-Rate-Limit-Remaining": "599.6"})

    client.get_account()

    assert gate.releases == [(599.6, False)]


# --- pagination --------------------------------------------------------------------------------


@responses.activate
def test_paginate_asks_for_100_per_page_and_follows_next_links_to_the_end(client):
    url = f"{BASE}/api/v1/courses/1/sections"
    responses.get(url, json=[{"id": 1}, {"id": 2}], headers={"Link": page_link("next", f"{url}?page=2&per_page=100")})
    responses.get(f"{url}?page=2&per_page=100", json=[{"id": 3}])

    assert [s.id for s in client.iter_sections(1)] == [1, 2, 3]
    assert query(responses.calls[0])["per_page"] == ["100"]


@responses.activate
def test_paginate_keeps_a_per_page_the_caller_chose(client):
    responses.get(f"{BASE}/api/v1/accounts", json=[])

    list(client.paginate("/api/v1/accounts", {"per_page": 1}))

    assert query(responses.calls[0])["per_page"] == ["1"]


@responses.activate
def test_paginate_streams_one_page_at_a_time(client):
    url = f"{BASE}/api/v1/accounts"
    responses.get(url, json=[{"id": 1}], headers={"Link": page_link("next", f"{url}?page=2")})
    responses.get(f"{url}?page=2", json=[{"id": 2}])

    items = client.paginate("/api/v1/accounts")
    assert next(items) == {"id": 1}
    assert len(responses.calls) == 1


@responses.activate
def test_link_header_name_and_rel_are_read_case_insensitively(client):
    url = f"{BASE}/api/v1/accounts"
    responses.get(url, json=[{"id": 1}], headers={"LINK": f'<{url}?page=2>; REL="Next"'})
    responses.get(f"{url}?page=2", json=[{"id": 2}])

    assert [a.id for a in client.list_accounts()] == [1, 2]


@responses.activate
def test_next_link_is_used_exactly_as_given(client):
    url = f"{BASE}/api/v1/courses/1/enrollments"
    bookmark = f"{url}?state%5B%5D=active&page=bookmark%3AWyJTdHVkZW50IiwxXQ%3D%3D&per_page=100"
    first, second = {"id": 1, "user_id": 101}, {"id": 2, "user_id": 102}
    responses.get(url, json=[first], headers={"Link": f"{page_link('current', url)},{page_link('next', bookmark)}"})
    responses.get(bookmark, json=[second])

    assert [e.id for e in client.iter_enrollments(1)] == [1, 2]
    assert responses.calls[1].request.url == bookmark


@responses.activate
def test_a_next_link_back_to_a_page_already_read_is_an_error_not_a_loop(client):
    url = f"{BASE}/api/v1/accounts"
    responses.get(url, json=[{"id": 1}], headers={"Link": page_link("next", f"{url}?page=2")})
    responses.get(f"{url}?page=2", json=[{"id": 2}], headers={"Link": page_link("next", f"{url}?page=2")})

    with pytest.raises(UnexpectedResponse, match="already read"):
        list(client.paginate("/api/v1/accounts"))
    assert len(responses.calls) == 2


@responses.activate
def test_more_pages_than_the_cap_raise_an_error_naming_the_cap(sleeps):
    client = CanvasClient(BASE, StaticToken(TOKEN), max_pages=3, sleep=sleeps.append)
    url = f"{BASE}/api/v1/accounts"
    responses.get(url, json=[{"id": 0}], headers={"Link": page_link("next", f"{url}?page=1")})
    for n in range(1, 5):
        responses.get(f"{url}?page={n}", json=[{"id": n}], headers={"Link": page_link("next", f"{url}?page={n + 1}")})

    seen = []
    with pytest.raises(UnexpectedResponse, match="more than 3 pages.*max_pages"):
        seen.extend(a["id"] for a in client.paginate("/api/v1/accounts"))
    assert seen == [0, 1, 2]
    assert len(responses.calls) == 3


@responses.activate
def test_a_next_link_to_another_host_is_not_followed(client):
    url = f"{BASE}/api/v1/accounts"
    responses.get(url, json=[{"id": 1}], headers={"Link": page_link("next", "https://evil.example.com/steal")})

    with pytest.raises(UnexpectedResponse, match="another host"):
        list(client.list_accounts())
    assert len(responses.calls) == 1


@responses.activate
def test_a_page_that_is_not_a_list_is_unexpected(client):
    responses.get(f"{BASE}/api/v1/accounts", json={"results": []})

    with pytest.raises(UnexpectedResponse, match="not a list"):
        client.list_accounts()


# --- retries -----------------------------------------------------------------------------------


@responses.activate
def test_connection_refused_is_retried_then_reported_as_canvas_unavailable(client, sleeps):
    responses.get(f"{BASE}/api/v1/accounts/self", body=requests.ConnectionError("Connection refused"))

    with pytest.raises(CanvasUnavailable, match="could not connect on GET /api/v1/accounts/self") as raised:
        client.get_account()

    assert not raised.value.permanent
    assert "ConnectionError" not in str(raised.value)  # pages show this message: no exception class names
    assert len(responses.calls) == 4
    assert len(sleeps) == 3


@responses.activate
def test_5xx_answers_are_retried_with_growing_jittered_backoff_until_success(client, sleeps):
    url = f"{BASE}/api/v1/accounts/self"
    for status in (500, 502, 503):
        responses.get(url, status=status, json={"errors": [{"message": "An error occurred."}]})
    responses.get(url, json={"id": 1})

    assert client.get_account().id == 1
    assert len(sleeps) == 3
    for retry, delay in enumerate(sleeps):
        assert 0 <= delay <= 0.5 * 2**retry


@responses.activate
def test_5xx_that_never_ends_raises_canvas_unavailable_with_the_status(client):
    responses.get(f"{BASE}/api/v1/accounts/self", status=503, body="down")

    with pytest.raises(CanvasUnavailable, match="HTTP 503") as raised:
        client.get_account()
    assert raised.value.status == 503
    assert len(responses.calls) == 4


@responses.activate
def test_timeouts_are_retried_then_reported(client):
    responses.get(f"{BASE}/api/v1/accounts/self", body=requests.ReadTimeout("read timed out"))

    with pytest.raises(CanvasUnavailable, match="timed out"):
        client.get_account()
    assert len(responses.calls) == 4


@responses.activate
def test_a_post_is_not_repeated_after_a_5xx_because_canvas_may_have_created_it(client):
    responses.post(f"{BASE}/api/v1/courses/5/assignments", status=502)

    with pytest.raises(CanvasUnavailable):
        client.create_assignment(5, name="Midterm")
    assert len(responses.calls) == 1


@responses.activate
def test_garbage_body_is_an_unexpected_response_and_not_retried(client):
    responses.get(f"{BASE}/api/v1/accounts/self", body="<html>Welcome to nginx</html>", content_type="text/html")

    with pytest.raises(UnexpectedResponse, match="not JSON.*text/html") as raised:
        client.get_account()
    assert raised.value.permanent
    assert len(responses.calls) == 1


@responses.activate
def test_an_object_endpoint_answering_a_list_is_unexpected(client):
    responses.get(f"{BASE}/api/v1/accounts/self", json=[1, 2])

    with pytest.raises(UnexpectedResponse, match="object was expected"):
        client.get_account()


# --- throttling --------------------------------------------------------------------------------


@responses.activate
def test_rate_limit_exceeded_403_backs_off_and_retries(client, sleeps):
    url = f"{BASE}/api/v1/accounts/self"
    headers = {"X-Rate-Limit-Remaining": "0.0"}
    responses.get(url, status=403, body=RATE_LIMITED, content_type="text/plain", headers=headers)
    responses.get(url, json={"id": 1}, headers={"X-Rate-Limit-Remaining": "300"})

    assert client.get_account().id == 1
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 2.0  # at least half the step: the bucket needs time to drain


@responses.activate
def test_429_is_throttling_and_retry_after_is_honoured(client, sleeps):
    url = f"{BASE}/api/v1/accounts/self"
    responses.get(url, status=429, headers={"Retry-After": "7"})
    responses.get(url, json={"id": 1})

    assert client.get_account().id == 1
    assert sleeps == [7.0]


@responses.activate
def test_throttled_answers_halve_the_gates_limit(client):
    url = f"{BASE}/api/v1/accounts/self"
    responses.get(url, status=403, body=RATE_LIMITED, headers={"X-Rate-Limit-Remaining": "0.0"})
    responses.get(url, json={"id": 1})
    before = client.throttle.limit

    client.get_account()

    assert client.throttle.limit < before


@responses.activate
def test_throttling_that_never_ends_raises_throttled(sleeps):
    client = CanvasClient(
        BASE, StaticToken(TOKEN), throttle=instant_gate(), retry=RetryPolicy(throttled_attempts=5), sleep=sleeps.append
    )
    responses.get(f"{BASE}/api/v1/accounts/self", status=403, body=RATE_LIMITED)

    with pytest.raises(Throttled, match="Rate Limit Exceeded") as raised:
        client.get_account()
    assert not raised.value.permanent
    assert len(responses.calls) == 5


@responses.activate
def test_a_throttled_post_is_retried_because_canvas_refused_it_before_running_it(client):
    url = f"{BASE}/api/v1/courses/5/assignments"
    responses.post(url, status=403, body=RATE_LIMITED)
    responses.post(url, status=201, json={"id": 9})

    assert client.create_assignment(5, name="Midterm").id == 9


# --- permanent errors --------------------------------------------------------------------------


@responses.activate
def test_a_rejected_token_is_refreshed_once_and_the_request_repeated():
    tokens = RefreshingTokens("old-token", "new-token")
    client = CanvasClient(BASE, tokens, sleep=lambda _: None)
    url = f"{BASE}/api/v1/accounts/self"
    responses.get(url, status=401, json=INVALID_TOKEN, headers=BEARER_CHALLENGE)
    responses.get(url, json={"id": 1})

    assert client.get_account().id == 1
    assert tokens.rejected == ["old-token"]
    assert responses.calls[1].request.headers["Authorization"] == "Bearer new-token"


@responses.activate
def test_a_token_rejected_again_after_refresh_is_token_invalid_without_more_refreshes():
    tokens = RefreshingTokens("old-token", "new-token")
    client = CanvasClient(BASE, tokens, sleep=lambda _: None)
    responses.get(f"{BASE}/api/v1/accounts/self", status=401, json=INVALID_TOKEN, headers=BEARER_CHALLENGE)

    with pytest.raises(TokenInvalid) as raised:
        client.get_account()
    assert tokens.rejected == ["old-token"]
    assert raised.value.permanent
    assert not raised.value.refresh_may_help
    assert len(responses.calls) == 2


@responses.activate
def test_a_rejected_pasted_token_is_token_invalid_with_a_fix(client):
    responses.get(f"{BASE}/api/v1/accounts/self", status=401, json=INVALID_TOKEN, headers=BEARER_CHALLENGE)

    with pytest.raises(TokenInvalid) as raised:
        client.get_account()
    assert "paste" in raised.value.fix
    assert len(responses.calls) == 1


@responses.activate
def test_401_without_www_authenticate_is_scope_missing_naming_the_scope(client, sleeps):
    responses.get(
        f"{BASE}/api/v1/courses/sis_course_id:LAW-101/sections",
        status=401,
        json={"errors": [{"message": "Insufficient scopes on access token."}], "error_report_id": 1272},
    )

    with pytest.raises(ScopeMissing) as raised:
        list(client.iter_sections("sis_course_id:LAW-101"))

    assert raised.value.scope == "url:GET|/api/v1/courses/:course_id/sections"
    assert "url:GET|/api/v1/courses/:course_id/sections" in str(raised.value)
    assert "url:GET|/api/v1/courses/:course_id/sections" in raised.value.fix
    assert raised.value.permanent
    assert len(responses.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_user_not_authorized_is_forbidden(client, status):
    responses.get(
        f"{BASE}/api/v1/accounts/self/roles",
        status=status,
        json={"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]},
    )

    with pytest.raises(Forbidden, match="not authorized") as raised:
        client.list_roles()
    assert raised.value.permanent
    assert len(responses.calls) == 1


@responses.activate
def test_404_is_not_found_and_not_retried(client):
    responses.get(
        f"{BASE}/api/v1/sections/404",
        status=404,
        json={"errors": [{"message": "The specified resource does not exist."}]},
    )

    with pytest.raises(NotFound, match="GET /api/v1/sections/404"):
        client.get_section(404)
    assert len(responses.calls) == 1


@responses.activate
def test_a_grade_canvas_refuses_is_request_rejected_with_canvas_message(client):
    responses.put(f"{BASE}/api/v1/courses/5/assignments/9/submissions/101", status=400, json={"error": "Bad grade"})

    with pytest.raises(RequestRejected, match="Bad grade"):
        client.grade_submission(5, 9, 101, "Z+")


# --- secrets -----------------------------------------------------------------------------------


@responses.activate
def test_tokens_never_appear_in_exception_text_or_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"{BASE}/api/v1/accounts"
    leaky = f"{url}?page=2&access_token={TOKEN}"
    responses.get(url, json=[{"id": 1}], headers={"Link": page_link("next", leaky)})
    responses.get(leaky, status=503, body=f"upstream said access_token={TOKEN}")
    responses.get(
        leaky,
        status=401,
        json={"errors": [{"message": f"Invalid access token. Bearer {TOKEN} access_token={TOKEN}"}]},
        headers=BEARER_CHALLENGE,
    )

    with pytest.raises(TokenInvalid) as raised:
        list(client.list_accounts())

    assert TOKEN not in str(raised.value)
    assert TOKEN not in raised.value.fix
    assert TOKEN not in caplog.text
    assert "GET /api/v1/accounts -> 200" in caplog.text
    assert "GET /api/v1/accounts: HTTP 503; retrying" in caplog.text


@responses.activate
def test_debug_log_names_method_path_and_status_without_the_query(client, caplog):
    caplog.set_level(logging.DEBUG, logger="lms_canvas.client")
    responses.get(f"{BASE}/api/v1/accounts/self/courses", json=[])

    list(client.iter_account_courses())

    assert "GET /api/v1/accounts/self/courses -> 200" in caplog.text
    assert "per_page" not in caplog.text
    assert "Authorization" not in caplog.text


def test_static_token_does_not_show_the_token_in_its_repr():
    assert TOKEN not in repr(StaticToken(TOKEN))


# --- endpoints ---------------------------------------------------------------------------------


@responses.activate
def test_account_courses_ask_for_every_state_including_deleted(client):
    responses.get(f"{BASE}/api/v1/accounts/self/courses", json=[{"id": 501}])

    assert [c.id for c in client.iter_account_courses()] == [501]

    sent = query(responses.calls[0])
    assert sent["state[]"] == ["created", "claimed", "available", "completed", "deleted"]
    assert sent["include[]"] == ["term", "total_students"]


@responses.activate
def test_a_course_by_sis_id_is_escaped_into_one_path_segment(client):
    responses.get(f"{BASE}/api/v1/accounts/self/courses/sis_course_id:CS%2F101", json={"id": 7})

    assert client.get_course("sis_course_id:CS/101").id == 7
    assert "all_courses" in query(responses.calls[0])["include[]"]


@responses.activate
def test_enrollments_ask_for_explicit_states_and_types(client):
    responses.get(f"{BASE}/api/v1/courses/5/enrollments", json=[])

    list(client.iter_enrollments(5, types=("StudentEnrollment",)))

    sent = query(responses.calls[0])
    assert sent["state[]"] == ["active", "invited", "creation_pending", "inactive", "completed"]
    assert sent["type[]"] == ["StudentEnrollment"]


@responses.activate
def test_course_users_include_enrollments_for_the_given_states(client):
    responses.get(f"{BASE}/api/v1/courses/5/users", json=[])

    list(client.iter_course_users(5, enrollment_states=("active",)))

    sent = query(responses.calls[0])
    assert sent["enrollment_state[]"] == ["active"]
    assert sent["include[]"] == ["enrollments"]


@responses.activate
def test_create_assignment_sends_rails_nested_form_fields(client):
    responses.post(f"{BASE}/api/v1/courses/5/assignments", status=201, json={"id": 9})

    client.create_assignment(5, name="Midterm", points_possible=100, published=True, submission_types=["none"])

    body = parse_qs(responses.calls[0].request.body)
    assert body == {
        "assignment[name]": ["Midterm"],
        "assignment[points_possible]": ["100"],
        "assignment[published]": ["true"],
        "assignment[submission_types][]": ["none"],
    }


@responses.activate
def test_grade_submission_puts_the_posted_grade(client):
    url = f"{BASE}/api/v1/courses/5/assignments/9/submissions/sis_user_id:S0001"
    responses.put(url, json={"grade": "13.5", "score": 13.5})

    assert client.grade_submission(5, 9, "sis_user_id:S0001", "13.5").score == 13.5
    assert parse_qs(responses.calls[0].request.body) == {"submission[posted_grade]": ["13.5"]}


@responses.activate
def test_help_links_and_submission_reads_return_typed_objects(client):
    responses.get(f"{BASE}/api/v1/accounts/self/help_links", json={"help_link_name": "Help"})
    responses.get(f"{BASE}/api/v1/courses/5/assignments/9/submissions/101", json={"user_id": 101})

    assert client.get_help_links().name == "Help"
    assert client.get_submission(5, 9, 101).user_id == 101


@responses.activate
def test_course_users_come_back_with_their_enrollments_naming_them(client):
    user = {"id": 101, "name": "Ada", "sis_user_id": "S0001", "enrollments": [{"id": 3, "user_id": 101}]}
    responses.get(f"{BASE}/api/v1/courses/5/users", json=[user, {"id": 102}])

    ada, bob = client.iter_course_users(5)

    assert (ada.user.sis_user_id, ada.enrollments[0].id, ada.enrollments[0].user.name) == ("S0001", 3, "Ada")
    assert (bob.user.id, bob.enrollments) == (102, ())


@responses.activate
def test_a_probe_asks_for_one_item_and_tells_when_canvas_dropped_the_includes(client):
    url = f"{BASE}/api/v1/accounts/self/courses"
    responses.get(url, json=[{"id": 501, "name": "Contracts I"}])

    probe = client.probe("courses")

    assert (probe.first_id, probe.includes_honoured) == (501, False)
    sent = query(responses.calls[0])
    assert (sent["per_page"], sent["include[]"]) == (["1"], ["term"])


@responses.activate
def test_a_probe_of_an_empty_list_has_nothing_to_tell_and_an_object_is_unexpected(client):
    responses.get(f"{BASE}/api/v1/courses/5/sections", json=[])
    responses.get(f"{BASE}/api/v1/accounts/self/roles", json={"id": 1})

    probe = client.probe("sections", course_id=5)

    assert (probe.first_id, probe.includes_honoured) == (None, None)
    with pytest.raises(UnexpectedResponse, match="not a list"):
        client.probe("roles")


@responses.activate
def test_a_numbered_page_of_account_courses_is_fetched_on_its_own(client):
    link = f'<{BASE}/api/v1/accounts/self/courses?page=4&per_page=100>; rel="next"'
    responses.get(f"{BASE}/api/v1/accounts/self/courses", json=[{"id": 501}], headers={"Link": link})

    page = client.get_account_courses_page(3)

    assert (page.number, [c.id for c in page.courses], page.next_number) == (3, [501], 4)
    sent = query(responses.calls[0])
    assert (sent["page"], sent["per_page"]) == (["3"], ["100"])
    assert "deleted" in sent["state[]"]


@responses.activate
def test_a_page_of_account_courses_tells_the_last_page_and_a_bookmark_from_a_number(client):
    bookmark = f'<{BASE}/api/v1/accounts/self/courses?page=bookmark:WzUwMV0&per_page=100>; rel="next"'
    responses.get(f"{BASE}/api/v1/accounts/self/courses", json=[{"id": 501}], headers={"Link": bookmark})
    responses.get(f"{BASE}/api/v1/accounts/self/courses", json=[{"id": 502}])

    by_bookmark, last = client.get_account_courses_page(1), client.get_account_courses_page(2)

    assert (by_bookmark.next_url is not None, by_bookmark.next_number) == (True, None)
    assert (last.next_url, last.next_number) == (None, None)


@pytest.mark.parametrize("method", ["GET", "post"])
def test_a_canvas_request_is_prepared_as_requests_would_prepare_it(method):
    from lms_canvas.http import BearerAuth, build_session

    session = build_session()
    session.cookies.set("_csrf_token", "abc", domain="canvas.example.edu")
    params = {"include[]": ["total_scores", "uuid"], "state[]": ["active"], "page": None, "per_page": 100}
    data = {"assignment[name]": "Exam 1"} if method == "post" else {}
    url = f"{BASE}/api/v1/courses/1/enrollments"

    lean = session.prepare_canvas_request(method, url, params=params, data=data, auth=BearerAuth(TOKEN))
    merged = session.prepare_request(requests.Request(method, url, params=params, data=data, auth=BearerAuth(TOKEN)))

    assert (lean.method, lean.url, lean.body) == (merged.method, merged.url, merged.body)
    assert dict(lean.headers) == dict(merged.headers)
    assert lean.headers["Cookie"] == "_csrf_token=abc" and "&page=" not in lean.url and "?page=" not in lean.url
