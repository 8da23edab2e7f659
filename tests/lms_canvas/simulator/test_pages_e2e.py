"""Create a developer key through the simulator's pages the way the vendor guide describes."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from lms_canvas.simulator.scopes import SEED_SCOPES

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
    page.goto("/")
    page.get_by_label("Email").fill("canvas-admin")
    page.get_by_label("Password").fill("canvas-admin")
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Demo University").click()
    page.get_by_role("link", name="Developer Keys").click()
    page.get_by_role("button", name="+ Developer Key").click()
    page.get_by_role("link", name="+ API Key").click()

    page.get_by_label("Key Name").fill("ExamSoft")
    page.get_by_label("Redirect URIs").fill(CALLBACK)
    page.get_by_label("Enforce Scopes").check()
    page.get_by_label("Allow Include Parameters").check()
    for scope in SEED_SCOPES:
        page.get_by_label(scope, exact=True).check()
    page.get_by_role("button", name="Save").click()

    row = page.get_by_role("row").filter(has_text="ExamSoft")
    row.get_by_role("button", name="ON").click()
    row = page.get_by_role("row").filter(has_text="ExamSoft")
    assert row.get_by_role("button", name="ON").get_attribute("aria-pressed") == "true"
    client_id = row.locator(".client-id").inner_text().strip()
    assert client_id.isdigit()
    row.get_by_role("button", name="Show Key").click()
    secret = row.locator(".secret").inner_text().strip()
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
