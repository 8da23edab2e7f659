"""Each page of the guide's steps has a Help quoting them; the setup guide page shows them all."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConnection, ConnectionStatus
from portal.guide import PARTS


def body(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200
    return html.unescape(r.content.decode())


@pytest.fixture
def verified(institution_a):
    return CanvasConnection.objects.create(
        institution=institution_a, server_url="https://canvas.example.edu", status=ConnectionStatus.VERIFIED
    )


@pytest.mark.parametrize(
    ("url", "key", "words"),
    [
        (
            "lms-settings",
            "lms-settings",
            ["Select Canvas Dev Key from the LMS Type drop-down menu.", "Select Enforce Scopes"],
        ),
        ("canvas-configure", "configure", ["Select the applicable Course Admin and Student Roles."]),
        ("sync-settings", "sync-settings", ["This only retrieves the list of courses; it does not sync them."]),
        ("sync-history", "sync-history", ["Select View History to view the current sync status."]),
    ],
)
def test_each_page_of_the_guide_has_its_steps_in_a_help(client_a, verified, url, key, words):
    page = body(client_a, reverse(url))
    assert f'<details class="guide-help" data-guide="{key}">' in page
    assert "Help: the setup guide's steps for this page" in page
    for text in words:
        assert text in page
    assert f'href="{reverse("setup-guide")}#{key}">The whole setup guide</a>' in page


def test_the_setup_guide_shows_every_step_in_the_guides_numbers(client_a):
    page = body(client_a, reverse("setup-guide"))
    for part in PARTS:
        assert f'<h2 id="{part.key}">{part.title}</h2>' in page
        for step in part.steps:
            assert f'<li value="{step.number}">{step.text}' in page
    assert f'<a href="{reverse("sync-settings")}">Open Edit Sync Settings</a>' in page
    assert f'<a href="{reverse("sync-errors")}">LMS Sync Errors</a>' in page


def test_the_setup_guide_requires_an_admin(client, support_user):
    assert client.get(reverse("setup-guide")).status_code == 302
    client.force_login(support_user)
    assert client.get(reverse("setup-guide")).status_code == 403
