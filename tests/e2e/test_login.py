from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, login, open_global_settings

pytestmark = pytest.mark.e2e


def test_demo_admin_logs_in_and_reaches_the_dashboard(page, admin_a):
    login(page, "alice@alpha.test", PASSWORD)  # the form, as a person logs in
    expect(page.get_by_role("heading", name="Alpha University")).to_be_visible()
    page.get_by_role("link", name="Law").click()
    expect(page.get_by_role("heading", name="Law")).to_be_visible()
    expect(page.get_by_text("No courses in this department yet")).to_be_visible()
    open_global_settings(page)
    expect(page.get_by_role("heading", name="Global Settings")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_wrong_password_is_explained(page, admin_a):
    login(page, "alice@alpha.test", "wrong")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
