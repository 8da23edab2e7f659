"""Forgot password and the invitation, in a browser at desktop and phone widths.

SHOTS_DIR=/tmp/shots saves a full-page screenshot of every page on the way."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.conftest import login
from tests.e2e.widths import WIDTHS, looks_right

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture(params=list(WIDTHS))
def width(request, page, settings, live_server) -> str:
    settings.SITE_URL = live_server.url
    page.set_viewport_size({"width": WIDTHS[request.param], "height": 800})
    return request.param


def link_in(message, live_server) -> str:
    return re.search(re.escape(live_server.url) + r"(/\S+/\S+/\S+/)", message.body).group(1)


def test_a_forgotten_password_is_reset_by_email(page, width, admin_a, live_server):
    page.goto("/login/")
    looks_right(page, "login", width)
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    looks_right(page, "reset", width)
    page.get_by_label("Email").fill("alice@alpha.test")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("we've emailed it a link")
    looks_right(page, "reset-sent", width)

    [message] = mail.outbox
    path = link_in(message, live_server)
    page.goto(path)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    looks_right(page, "set-password", width)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill("something else")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("The two password fields didn’t match.")).to_be_visible()
    looks_right(page, "set-password-error", width)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()
    looks_right(page, "password-set", width)

    page.get_by_role("button", name="Log in").click()
    login(page, "alice@alpha.test", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Alpha University")).to_be_visible()

    page.goto(path)  # used once already
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("expired or has already been used")
    looks_right(page, "link-used", width)
    page.get_by_role("button", name="Email me a new link").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()


def test_too_many_requests_are_explained(page, width, admin_a, settings):
    settings.PASSWORD_RESET_LIMIT_PER_IP = 0
    page.goto("/password-reset/")
    page.get_by_label("Email").fill("alice@alpha.test")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many reset requests from your address")
    looks_right(page, "reset-limited", width)
    assert not mail.outbox


def test_support_invites_an_admin_who_sets_a_password_and_logs_in(
    page, width, support_user, institution_a, live_server
):
    login(page, "sam@support.test")
    page.get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name="Alpha University").click()
    page.get_by_role("link", name="Invite an admin").click()
    expect(page.get_by_role("heading", name="Invite an admin to Alpha University")).to_be_visible()
    looks_right(page, "invite", width)
    page.get_by_label("Email").fill("carol@alpha.test")
    page.get_by_label("First name").fill("Carol")
    page.get_by_label("Last name").fill("Chen")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to carol@alpha.test")).to_be_visible()
    expect(page.get_by_text("not set yet (invited)")).to_be_visible()
    looks_right(page, "invite-sent", width)

    [message] = mail.outbox
    assert "Alpha University" in message.subject and "Alpha University" in message.body
    page.context.clear_cookies()  # the invited person, in their own browser
    page.goto(link_in(message, live_server))
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    expect(page.get_by_text("carol@alpha.test")).to_be_visible()
    looks_right(page, "welcome", width)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()

    login(page, "carol@alpha.test", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Alpha University")).to_be_visible()
