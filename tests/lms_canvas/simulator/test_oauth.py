from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_REDIRECT_URIS, DEMO_SECRET
from lms_canvas.simulator.oauth import INVALID_SCOPE, to_sentence
from lms_canvas.simulator.scopes import SEED_SCOPES
from lms_canvas.simulator.testing import browser_authorize

REDIRECT = DEMO_REDIRECT_URIS[0]


def auth_url(sim, **params) -> str:
    query = {
        "client_id": str(DEMO_KEY_ID),
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "xyz",
        "scope": " ".join(SEED_SCOPES),
        **params,
    }
    return requests.Request("GET", f"{sim.url}/login/oauth2/auth", params=query).prepare().url


def redirect_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def exchange(sim, **data) -> requests.Response:
    form = {"grant_type": "authorization_code", "client_id": str(DEMO_KEY_ID), "client_secret": DEMO_SECRET}
    form.update(data)
    return requests.post(f"{sim.url}/login/oauth2/token", data={k: v for k, v in form.items() if v is not None})


def test_requests_oauthlib_flow_gets_and_refreshes_tokens(sim):
    oauth = OAuth2Session(str(DEMO_KEY_ID), redirect_uri=REDIRECT, scope=list(SEED_SCOPES))
    url, state = oauth.authorization_url(f"{sim.url}/login/oauth2/auth")
    result = browser_authorize(sim.url, url)
    assert result["state"] == state
    assert len(result["code"]) == 128
    callback = f"{REDIRECT}?code={result['code']}&state={state}"
    token = oauth.fetch_token(
        f"{sim.url}/login/oauth2/token",
        authorization_response=callback.replace("http://", "https://"),
        client_secret=DEMO_SECRET,
        include_client_id=True,
    )
    assert set(token) >= {"access_token", "refresh_token", "user", "expires_in", "token_type", "canvas_region"}
    assert token["expires_in"] == 3600 and token["token_type"] == "Bearer"
    refreshed = oauth.refresh_token(
        f"{sim.url}/login/oauth2/token", client_id=str(DEMO_KEY_ID), client_secret=DEMO_SECRET
    )
    assert refreshed["access_token"] != token["access_token"]


def test_token_response_has_exactly_canvas_keys(sim):
    token = sim.issue_token()
    assert set(token) == {"access_token", "refresh_token", "user", "expires_in", "token_type", "canvas_region"}
    assert len(token["access_token"]) == 64
    assert token["user"]["id"] == 1 and token["user"]["global_id"]


def test_refresh_invalidates_previous_access_token_and_keeps_refresh_token(sim):
    token = sim.issue_token()
    for _ in range(2):
        response = requests.post(
            f"{sim.url}/login/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=(str(DEMO_KEY_ID), DEMO_SECRET),
        )
        assert response.status_code == 200
        body = response.json()
        assert "refresh_token" not in body
        assert set(body) == {"access_token", "user", "expires_in", "token_type", "canvas_region"}
    old = sim.api(token["access_token"]).get(f"{sim.url}/api/v1/accounts")
    assert old.status_code == 401
    assert old.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
    assert sim.api(body["access_token"]).get(f"{sim.url}/api/v1/accounts").status_code == 200


def test_code_is_single_use(sim):
    code = browser_authorize(sim.url, auth_url(sim))["code"]
    assert exchange(sim, code=code).status_code == 200
    again = exchange(sim, code=code)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "authorization_code not found"}


def test_code_expires_after_ten_minutes(sim):
    code = browser_authorize(sim.url, auth_url(sim))["code"]
    sim.control("clock", {"advance_s": 601})
    assert exchange(sim, code=code).json()["error_description"] == "authorization_code not found"


def test_access_token_expires_after_an_hour_but_refresh_still_works(sim):
    token = sim.issue_token()
    sim.control("clock", {"advance_s": 3601})
    response = sim.api(token["access_token"]).get(f"{sim.url}/api/v1/accounts")
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Invalid access token."}]}
    refreshed = requests.post(
        f"{sim.url}/login/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": str(DEMO_KEY_ID),
            "client_secret": DEMO_SECRET,
        },
    )
    assert refreshed.status_code == 200


@pytest.mark.parametrize(
    ("data", "status", "error", "description"),
    [
        ({"client_id": "999"}, 401, "invalid_client", "unknown client"),
        ({"client_id": "abc"}, 401, "invalid_client", "unknown client"),
        ({"client_secret": "wrong"}, 401, "invalid_client", "invalid client"),
        (
            {"code": None},
            400,
            "invalid_request",
            "You must provide the code parameter when using the authorization_code grant type",
        ),
        ({"code": "nope"}, 400, "invalid_grant", "authorization_code not found"),
        (
            {"grant_type": "refresh_token", "code": None},
            400,
            "invalid_request",
            "You must provide the refresh_token parameter when using the refresh_token grant type",
        ),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, 400, "invalid_request", "refresh_token not found"),
        (
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
            "The grant_type you requested is not currently supported",
        ),
    ],
)
def test_token_endpoint_errors_match_canvas(sim, data, status, error, description):
    response = exchange(sim, **{"code": "x", **data})
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": description}
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Canvas OAuth 2.0"


def test_code_issued_to_another_key_is_incorrect_client(sim):
    other = dict(sim.store.developer_key(DEMO_KEY_ID), id=DEMO_KEY_ID + 1, api_key="other")
    sim.store.tables["developer_keys"][other["id"]] = other
    code = browser_authorize(sim.url, auth_url(sim))["code"]
    response = exchange(sim, code=code, client_id=str(other["id"]), client_secret="other")
    assert response.json() == {"error": "invalid_grant", "error_description": "incorrect client"}


def test_authorize_with_unknown_client_is_401_json(sim):
    response = requests.get(auth_url(sim, client_id="12345"), allow_redirects=False)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "unknown client"}
    assert response.headers["WWW-Authenticate"] == "Canvas OAuth 2.0"


def test_authorize_with_inactive_key_is_unknown_client(sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"workflow_state": "inactive"})
    assert requests.get(auth_url(sim), allow_redirects=False).status_code == 401


def test_authorize_with_wrong_redirect_uri_is_400_json(sim):
    response = requests.get(auth_url(sim, redirect_uri="http://evil.test/cb"), allow_redirects=False)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "redirect_uri does not match client settings",
    }


def test_authorize_accepts_the_localhost_callback(sim):
    response = requests.get(auth_url(sim, redirect_uri=DEMO_REDIRECT_URIS[1]), allow_redirects=False)
    assert response.headers["Location"] == "/login/canvas"


def test_invalid_scope_redirects_with_canvas_sentence(sim):
    extra = ["url:GET|/api/v1/users/:id", "url:GET|/api/v1/courses/:id", "url:DELETE|/api/v1/x"]
    response = requests.get(auth_url(sim, scope=" ".join([SEED_SCOPES[0], *extra])), allow_redirects=False)
    params = redirect_params(response)
    assert params["error"] == "invalid_scope"
    assert params["error_description"] == INVALID_SCOPE + f"{extra[0]}, {extra[1]}, and {extra[2]}"
    assert params["error_description"].startswith(
        "A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. "
        "The following scopes were requested, but not granted: "
    )


def test_ruby_to_sentence():
    assert to_sentence(["a"]) == "a"
    assert to_sentence(["a", "b"]) == "a and b"
    assert to_sentence(["a", "b", "c"]) == "a, b, and c"


def test_key_with_state_off_gives_unauthorized_client(sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"state": "off"})
    params = redirect_params(requests.get(auth_url(sim), allow_redirects=False))
    assert params["error"] == "unauthorized_client"
    assert params["error_description"] == "Client does not have access to the specified Canvas account."


def test_response_type_other_than_code_is_refused(sim):
    params = redirect_params(requests.get(auth_url(sim, response_type="token"), allow_redirects=False))
    assert params == {"error": "unsupported_response_type", "error_description": "Only response_type=code is permitted"}


def test_cancel_redirects_access_denied_with_state(sim):
    result = browser_authorize(sim.url, auth_url(sim), cancel=True)
    assert result == {"error": "access_denied", "state": "xyz"}


def test_login_uses_the_normandy_session_cookie(sim):
    http = requests.Session()
    http.get(auth_url(sim))
    assert "_normandy_session" in http.cookies
    assert "sessionid" not in http.cookies


def test_logged_in_user_goes_straight_to_authorize_page(sim):
    http = requests.Session()
    browser_authorize(sim.url, auth_url(sim), session=http)
    second = http.get(auth_url(sim), allow_redirects=False)
    assert second.headers["Location"] == "/login/oauth2/confirm"
    page = http.get(f"{sim.url}/login/oauth2/confirm")
    assert "Authorize" in page.text and "Cancel" in page.text


def test_delete_token_revokes_access_and_refresh(sim):
    token = sim.issue_token()
    response = sim.api(token["access_token"]).delete(f"{sim.url}/login/oauth2/token")
    assert response.status_code == 200 and response.json() == {}
    assert sim.api(token["access_token"]).get(f"{sim.url}/api/v1/accounts").status_code == 401
    refresh = exchange(sim, grant_type="refresh_token", refresh_token=token["refresh_token"], code=None)
    assert refresh.json()["error_description"] == "refresh_token not found"


def test_delete_without_token_is_400(sim):
    response = requests.delete(f"{sim.url}/login/oauth2/token")
    assert response.status_code == 400
    assert response.json() == {"message": "can't delete OAuth access token when not using an OAuth access token"}


def test_removing_scopes_from_key_invalidates_its_tokens(sim):
    token = sim.issue_token()["access_token"]
    sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": list(SEED_SCOPES[:-1])})
    assert sim.api(token).get(f"{sim.url}/api/v1/accounts").status_code == 401


def test_adding_scopes_keeps_tokens(sim):
    token = sim.issue_token()["access_token"]
    sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": [*SEED_SCOPES, "url:GET|/api/v1/courses/:id"]})
    assert sim.api(token).get(f"{sim.url}/api/v1/accounts").status_code == 200


def test_state_off_makes_tokens_invalid(sim):
    token = sim.issue_token()["access_token"]
    sim.control(f"keys/{DEMO_KEY_ID}", {"state": "off"})
    response = sim.api(token).get(f"{sim.url}/api/v1/accounts")
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Invalid access token."}]}


def test_revoke_all_tokens(sim):
    token = sim.issue_token()["access_token"]
    assert sim.control("tokens/revoke")["revoked"] == 1
    assert sim.api(token).get(f"{sim.url}/api/v1/accounts").status_code == 401
