"""The guide's Canvas half ("Setup Canvas", steps 1-11) in the simulator's pages."""

from __future__ import annotations

from collections.abc import Iterable


def create_developer_key(page, sim_url: str, callback: str, scopes: Iterable[str]) -> tuple[str, str]:
    """Log in as the Canvas admin, add an API key with these scopes, turn it ON; its client id and secret."""
    page.goto(sim_url + "/")
    page.get_by_label("Email").fill("canvas-admin")
    page.get_by_label("Password").fill("canvas-admin")
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Demo University").click()
    page.get_by_role("link", name="Developer Keys").click()
    page.get_by_role("button", name="+ Developer Key").click()
    page.get_by_role("link", name="+ API Key").click()
    page.get_by_label("Key Name").fill("ExamSoft")
    page.get_by_label("Redirect URIs").fill(callback)
    page.get_by_label("Enforce Scopes").check()
    page.get_by_label("Allow Include Parameters").check()
    for scope in scopes:
        page.get_by_label(scope, exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("row").filter(has_text="ExamSoft").get_by_role("button", name="ON").click()
    row = page.get_by_role("row").filter(has_text="ExamSoft")
    client_id = row.locator(".client-id").inner_text().strip()
    row.get_by_role("button", name="Show Key").click()
    return client_id, row.locator(".secret").inner_text().strip()
