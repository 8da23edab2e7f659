"""Create a developer key through the simulator's pages the way the vendor guide describes."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from lms_canvas.simulator.scopes import SEED_SCOPES
from tests.e2e.canvas_pages import create_developer_key

CALLBACK = "http://127.0.0.1:8000/lms/canvas/callback/"

pytestmark = pytest.mark.e2e


@pytest.fixture
def sim_page(browser, sim) -> Iterator:
    context = browser.new_context(base_url=sim.url)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_admin_creates_developer_key_as_the_guide_describes(sim, sim_page):
    page = sim_page
    client_id, secret = create_developer_key(page, sim.url, CALLBACK, SEED_SCOPES)

    row = page.get_by_role("row").filter(has_text="ExamSoft")
    assert row.get_by_role("button", name="ON").get_attribute("aria-pressed") == "true"
    assert client_id.isdigit()
    assert len(secret) >= 32

    key = sim.store.developer_key(client_id)
    assert key["scopes"] == list(SEED_SCOPES) and key["require_scopes"] and key["allow_includes"]
    assert key["api_key"] == secret and key["state"] == "on"

    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "state": "s1",
            "scope": " ".join(SEED_SCOPES),
        }
    )
    page.goto(f"/login/oauth2/auth?{query}")
    assert page.get_by_role("heading").inner_text().startswith("ExamSoft is requesting access")
    with page.expect_request(lambda request: request.url.startswith(CALLBACK)) as redirected:
        page.get_by_role("button", name="Authorize").click()
    params = parse_qs(urlsplit(redirected.value.url).query)
    assert params["state"] == ["s1"] and len(params["code"][0]) == 128
