from __future__ import annotations

import pytest
import requests
import responses
from django.urls import reverse

from lms_canvas import oauth
from lms_canvas.models import CanvasConnection
from lms_canvas.urlguard import normalize_canvas_url


@pytest.fixture
def production_guard(settings):
    settings.CANVAS_ALLOW_PRIVATE_URLS = False


def post(client, **data):
    base = {"lms_type": "dev_key", "server_url": "https://canvas.example.edu", "client_id": "170000000000001"}
    return client.post(reverse("lms-settings"), {**base, **data})


def test_a_pasted_page_address_is_reduced_to_the_server(settings):
    settings.CANVAS_ALLOW_PRIVATE_URLS = True
    assert normalize_canvas_url(" https://School.Instructure.com/courses/12?x=1 ") == "https://school.instructure.com"
    assert normalize_canvas_url("school.instructure.com") == "https://school.instructure.com"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://canvas.example.edu", "must use https://"),
        ("https://127.0.0.1:8001", "private or local network"),
        ("https://10.1.2.3", "private or local network"),
        ("https://localhost", "private or local network"),
        ("ftp://canvas.example.edu", "Enter your Canvas address"),
        ("https://user:pw@canvas.example.edu", "Leave user names and passwords out"),
    ],
)
def test_the_canvas_url_guard_explains_each_refusal(client_a, production_guard, url, message):
    r = post(client_a, server_url=url, client_secret="s")
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not CanvasConnection.objects.filter(server_url__contains="127.0.0.1").exists()


def test_missing_fields_are_named(client_a, production_guard):
    body = post(client_a, client_id="", client_secret="").content.decode()
    assert "Enter the Client ID" in body and "Enter the Client Secret" in body


def test_a_client_id_must_be_the_number_canvas_shows(client_a, production_guard):
    body = post(client_a, client_id="abc", client_secret="s").content.decode()
    assert "number shown above the Show Key button" in body
    assert "Enter the Client ID" not in body  # one message for one mistake, not two
    assert body.count("number shown above the Show Key button") == 1


def _conn(institution_a) -> CanvasConnection:
    return CanvasConnection(
        institution=institution_a, server_url="https://canvas.example.edu", client_id="1", client_secret="s"
    )


@responses.activate
def test_preflight_explains_an_unreachable_server(institution_a):
    responses.get("https://canvas.example.edu/login/oauth2/auth", body=requests.ConnectionError("Connection refused"))
    [finding] = oauth.preflight(_conn(institution_a))
    assert "could not reach the Canvas Server https://canvas.example.edu" in finding.message
    assert "Check Canvas Server: it is the address your browser shows" in finding.fix


@responses.activate
def test_preflight_explains_a_server_that_is_not_canvas(institution_a):
    responses.get("https://canvas.example.edu/login/oauth2/auth", body="<html>Welcome to our site</html>", status=200)
    [finding] = oauth.preflight(_conn(institution_a))
    assert "not the way Canvas does" in finding.message


@responses.activate
def test_preflight_explains_a_garbled_token_endpoint(institution_a):
    responses.get(
        "https://canvas.example.edu/login/oauth2/auth",
        status=302,
        headers={"Location": "https://canvas.example.edu/login/canvas"},
    )
    responses.post("https://canvas.example.edu/login/oauth2/token", body="\x00garbage", status=502)
    [finding] = oauth.preflight(_conn(institution_a))
    assert "token endpoint answered unexpectedly (HTTP 502)" in finding.message


def test_invalid_scope_descriptions_are_parsed_in_every_sentence_form():
    prefix = (
        "A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. "
        "The following scopes were requested, but not granted: "
    )
    assert oauth.missing_scopes_from(prefix + "url:GET|/a") == ["url:GET|/a"]
    assert oauth.missing_scopes_from(prefix + "url:GET|/a and url:GET|/b") == ["url:GET|/a", "url:GET|/b"]
    assert oauth.missing_scopes_from(prefix + "url:GET|/a, url:PUT|/b, and url:GET|/c.") == [
        "url:GET|/a",
        "url:PUT|/b",
        "url:GET|/c",
    ]


def test_a_very_long_client_id_says_what_a_client_id_is(client_a):
    body = post(client_a, client_id="1" * 500, client_secret="s").content.decode()

    assert "That is too long for a Client ID: it is the number shown above the Show Key button" in body
    assert "at most 40 digits" in body
    assert "Ensure this value" not in body
