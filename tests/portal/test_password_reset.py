"""Password reset by email: Django's views for institution admins and support, limited, and generic."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase 42"
SENT = "If an institution administrator or support account uses that address"


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://portal.example.edu"
    return settings.SITE_URL


def dt_after(**delta) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(**delta)


def ask(client, email: str, **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def link_in(message) -> str:
    return re.search(r"https://portal\.example\.edu(/password-reset/\S+/\S+/)", message.body).group(1)


def set_password(client, path: str, password: str = NEW_PASSWORD):
    r = client.get(path)
    assert r.status_code == 302  # the token moves into the session, out of the address bar
    return client.post(r["Location"], {"new_password1": password, "new_password2": password})


def logs_in(client, email: str, password: str) -> bool:
    r = client.post(reverse("login"), {"username": email, "password": password})
    return r.status_code == 302 and r["Location"] == reverse("home")


def test_the_login_page_links_to_the_reset_page(client):
    assert f'href="{reverse("password_reset")}">Forgot your password?' in client.get(reverse("login")).text


def test_supports_login_page_links_to_the_same_reset_page(client):
    body = client.get("/support/login/").content.decode()
    link = reverse("admin_password_reset")
    assert f'href="{link}"' in body
    assert client.get(link).url == reverse("password_reset")


def test_it_emails_a_link_that_sets_a_new_password_once(client, admin_a, site):
    r = ask(client, "Alice@Alpha.test")

    assert r.status_code == 302 and r["Location"] == reverse("password_reset_done")
    assert SENT in client.get(r["Location"]).text
    [message] = mail.outbox
    assert message.to == ["alice@alpha.test"] and message.subject == "[LMS Sync Portal] Reset your password"
    assert "works once, for 3 days" in message.body
    path = link_in(message)

    r = set_password(client, path)
    assert r.status_code == 302 and r["Location"] == reverse("password_reset_complete")
    assert "Your password is set" in client.get(r["Location"]).text
    assert not logs_in(client, "alice@alpha.test", PASSWORD)
    assert logs_in(client, "alice@alpha.test", NEW_PASSWORD)

    client.logout()
    r = client.get(path)
    assert r.status_code == 200 and "The link has expired or has already been used" in r.text
    assert f'href="{reverse("password_reset")}">Email me a new link' in r.text


def test_support_can_reset_too(client, support_user, site):
    ask(client, "sam@support.test")
    assert [m.to for m in mail.outbox] == [["sam@support.test"]]


@pytest.mark.parametrize("email", ["nobody@alpha.test", "plain@user.test"])
def test_the_answer_is_the_same_for_an_address_without_an_account(client, admin_a, email, site):
    get_user_model().objects.create_user(username="plain@user.test", email="plain@user.test", password=PASSWORD)
    known = ask(client, "alice@alpha.test")

    r = ask(client, email)

    assert (r.status_code, r["Location"]) == (known.status_code, known["Location"])
    assert [m.to for m in mail.outbox] == [["alice@alpha.test"]]  # a user who is neither admin nor support gets none


def test_an_expired_link_says_so(client, admin_a, site):
    ask(client, "alice@alpha.test")
    path = link_in(mail.outbox[0])

    with time_machine.travel(dt_after(days=3, seconds=60)):
        r = client.get(path)

    assert "The link has expired or has already been used. Each link works once, for 3 days." in r.text


def test_mismatched_or_weak_passwords_are_explained_beside_the_field(client, admin_a, site):
    ask(client, "alice@alpha.test")
    r = client.get(link_in(mail.outbox[0]))

    r = client.post(r["Location"], {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert "The two password fields didn’t match." in r.text
    r = client.post(r.wsgi_request.path, {"new_password1": "password", "new_password2": "password"})
    assert "This password is too common." in r.text


def test_an_address_gets_at_most_the_limit_of_emails_an_hour_and_the_page_says_the_same(client, admin_a, settings):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
    answers = {ask(client, "alice@alpha.test")["Location"] for _ in range(4)}

    assert answers == {reverse("password_reset_done")}
    assert len(mail.outbox) == 2

    with time_machine.travel(dt_after(hours=1, seconds=5)):
        ask(client, "alice@alpha.test")
    assert len(mail.outbox) == 3


def test_too_many_requests_from_one_address_are_refused_with_a_message(client, admin_a, settings):
    settings.PASSWORD_RESET_LIMIT_PER_IP = 3
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(3):
        assert ask(client, f"x{n}@alpha.test", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 302

    r = ask(client, "alice@alpha.test", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert r.status_code == 429 and "Too many reset requests from your address" in r.text
    assert not mail.outbox

    assert ask(client, "alice@alpha.test", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 302
    assert len(mail.outbox) == 1


def test_a_bad_email_is_explained_beside_the_field(client):
    r = ask(client, "not an email")
    assert r.status_code == 200 and "Enter a valid email address." in r.text and 'aria-invalid="true"' in r.text


def test_a_tampered_link_says_it_no_longer_works(client, admin_a):
    r = client.get(reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "abc-123"}))
    assert r.status_code == 200 and "This link no longer works" in r.text


def test_a_new_password_from_the_emailed_link_lifts_a_lockout(client, admin_a, site, settings):
    """Locked out after wrong passwords, the admin resets the password: whoever holds the emailed link owns
    the mailbox, so the new password logs in at once instead of after the 15-minute lockout."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice@alpha.test", "password": "guess"})
    locked = client.post(reverse("login"), {"username": "alice@alpha.test", "password": PASSWORD})
    assert locked.status_code == 429
    assert f'<a href="{reverse("password_reset")}">reset your password</a>' in locked.text
    ask(client, "alice@alpha.test")

    set_password(client, link_in(mail.outbox[-1]))

    assert logs_in(client, "alice@alpha.test", NEW_PASSWORD)
