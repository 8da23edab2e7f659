"""Support invites an institution admin from the institution's admin page: no password typed by support."""

from __future__ import annotations

import re
import smtplib

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from portal.models import InstitutionAdmin

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def staff_client(client, support_user, settings):
    settings.SITE_URL = "https://portal.example.edu"
    client.force_login(support_user)
    return client


def invite(client, institution, email="carol@alpha.test", **extra):
    data = {"email": email, "first_name": "Carol", "last_name": "Chen", **extra}
    return client.post(reverse("admin:portal_institution_invite", args=[institution.id]), data)


def link_in(message) -> str:
    return re.search(r"https://portal\.example\.edu(/welcome/\S+/\S+/)", message.body).group(1)


def test_the_institution_page_links_to_the_invitation(staff_client, institution_a):
    r = staff_client.get(reverse("admin:portal_institution_change", args=[institution_a.id]))
    assert reverse("admin:portal_institution_invite", args=[institution_a.id]) in r.text
    r = staff_client.get(reverse("admin:portal_institution_invite", args=[institution_a.id]))
    assert r.status_code == 200 and "Invite an admin to Alpha University" in r.text
    assert "You never type a password for them." in r.text


def test_support_invites_an_admin_who_sets_their_own_password(staff_client, institution_a):
    r = invite(staff_client, institution_a)

    assert r.status_code == 302 and r["Location"] == reverse("admin:portal_institution_change", args=[institution_a.id])
    user = get_user_model().objects.get(username="carol@alpha.test")
    assert (user.email, user.get_full_name(), user.has_usable_password()) == ("carol@alpha.test", "Carol Chen", False)
    assert InstitutionAdmin.objects.get(user=user).institution == institution_a
    [message] = mail.outbox
    assert message.to == ["carol@alpha.test"]
    assert message.subject == "[LMS Sync Portal] You're invited to administer Alpha University"
    assert "administrator of Alpha University" in message.body and "works once, for 3 days" in message.body
    page = staff_client.get(r["Location"]).text
    assert "Invitation sent to carol@alpha.test" in page and "not set yet (invited)" in page

    staff_client.logout()
    r = staff_client.get(link_in(message))
    assert r.status_code == 302
    welcome = staff_client.get(r["Location"]).text
    assert "Set your password" in welcome and "carol@alpha.test" in welcome
    r = staff_client.post(r["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert r["Location"] == reverse("password_reset_complete")

    r = staff_client.post(reverse("login"), {"username": "carol@alpha.test", "password": NEW_PASSWORD}, follow=True)
    assert r.resolver_match.url_name == "dashboard" and "Alpha University" in r.text


def test_an_invitation_link_works_once(staff_client, institution_a):
    invite(staff_client, institution_a)
    path = link_in(mail.outbox[0])
    staff_client.logout()
    r = staff_client.get(path)
    staff_client.post(r["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    r = staff_client.get(path)
    assert "The link has expired or has already been used" in r.text and "Email me a new link" in r.text


def test_an_invited_admin_can_ask_for_a_new_link_before_setting_a_password(staff_client, institution_a):
    invite(staff_client, institution_a)
    staff_client.logout()

    staff_client.post(reverse("password_reset"), {"email": "carol@alpha.test"})

    assert [m.to for m in mail.outbox] == [["carol@alpha.test"], ["carol@alpha.test"]]


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("alice@alpha.test", "alice@alpha.test already administers Alpha University."),
        ("bob@beta.test", "bob@beta.test already administers Beta College."),
        ("sam@support.test", "A user with this email already exists (sam@support.test)."),
        ("not-an-email", "Enter a valid email address."),
        ("", "This field is required."),
    ],
)
def test_an_email_that_cannot_be_invited_is_explained(staff_client, institution_a, admin_a, admin_b, email, error):
    r = invite(staff_client, institution_a, email=email)

    assert r.status_code == 200 and error in r.text
    assert not mail.outbox


def test_only_support_can_invite(client, institution_a, admin_a):
    client.force_login(admin_a)
    r = invite(client, institution_a)
    assert r.status_code == 302 and r["Location"].startswith(reverse("admin:login"))
    assert not get_user_model().objects.filter(username="carol@alpha.test").exists()


def test_an_unknown_institution_is_a_404(staff_client):
    assert staff_client.get(reverse("admin:portal_institution_invite", args=[987654])).status_code == 404


def test_a_failed_email_says_so_and_how_to_resend(staff_client, institution_a, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("portal.accounts.send_mail", refuse)
    r = invite(staff_client, institution_a)

    page = staff_client.get(r["Location"]).text
    assert "the invitation email could not be sent" in page and "Send a new invitation" in page
    assert InstitutionAdmin.objects.filter(user__username="carol@alpha.test").exists()


def test_support_sends_a_new_invitation_from_the_admins_list(staff_client, institution_a, admin_a):
    membership = InstitutionAdmin.objects.get(user=admin_a)
    r = staff_client.post(
        reverse("admin:portal_institutionadmin_changelist"),
        {"action": "send_invitation", "_selected_action": [membership.id]},
        follow=True,
    )

    assert "1 invitation(s) sent." in r.text
    [message] = mail.outbox
    assert message.to == ["alice@alpha.test"] and "/welcome/" in message.body
