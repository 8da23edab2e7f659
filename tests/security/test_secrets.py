"""With real secrets in the database, none of them appears in a page, an admin page, a log record,
an email, a run's message or an issue — whatever the admin, support or a failure does."""

from __future__ import annotations

import itertools
import logging

import pytest
from django.apps import apps
from django.contrib import admin
from django.core import mail
from django.urls import reverse

from lms_canvas import connect
from lms_canvas.errors import CanvasError
from lms_canvas.models import CanvasConnection
from sync.audit.models import AuditEntry
from sync.catalog.refresh import refresh_catalog
from sync.models import SyncIssue, SyncRun
from sync.runs.lifecycle import create_run
from tests.security.test_tenancy import WITHOUT_IDS, public_urls, urls_with_a_ids
from tests.security.world import build_world
from tests.sync.engine_helpers import sync

ROTATED_SECRET = "a-secret-that-was-set-for-a-while-0123"


@pytest.fixture
def world_a(connected, sim, institution_a, caplog):
    caplog.set_level(logging.DEBUG)
    build_world(institution_a, sim)
    rotate_and_restore_the_secret(institution_a)
    return institution_a


def rotate_and_restore_the_secret(institution) -> None:
    """Two changes of the client secret on the audit trail (it records that it changed, never a value)."""
    conn = CanvasConnection.objects.get(institution=institution)
    kept = conn.client_secret
    for value in (ROTATED_SECRET, kept):
        conn.client_secret = value
        conn.save()


def secrets_of(institution) -> list[str]:
    conn = CanvasConnection.objects.get(institution=institution)
    values = [conn.client_secret, conn.access_token, conn.refresh_token]
    assert all(len(v) >= 8 for v in values)
    return [*values, ROTATED_SECRET]


def assert_clean(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret reached {where}"


def test_no_page_of_the_admin_shows_a_secret(world_a, client_a, admin_a, caplog):
    secrets = secrets_of(world_a)
    urls = itertools.chain(urls_with_a_ids(world_a), ((r, reverse(n)) for r, n, _ in WITHOUT_IDS), public_urls(admin_a))
    for route, url in urls:
        assert_clean(client_a.get(url).content.decode(errors="replace"), secrets, f"GET {route}")
    assert_clean(caplog.text, secrets, "the logs")


def test_no_support_page_shows_a_secret(world_a, client, support_user):
    secrets = secrets_of(world_a)
    client.force_login(support_user)
    conn = CanvasConnection.objects.get(institution=world_a)
    pages = [
        reverse("admin:lms_canvas_canvasconnection_change", args=[conn.id]),
        reverse("admin:portal_institution_change", args=[world_a.id]),
        reverse("admin:portal_institution_invite", args=[world_a.id]),
    ]
    for model in apps.get_models():
        if model in admin.site._registry and model._meta.app_label in {"portal", "lms_canvas", "sync", "audit"}:
            pages.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    pages += [reverse("admin:audit_auditentry_change", args=[e.id]) for e in AuditEntry.objects.all()]
    for url in pages:
        assert_clean(client.get(url).content.decode(), secrets, url)


def test_failures_keep_secrets_out_of_messages_issues_emails_and_logs(world_a, sim, caplog, admin_a):
    secrets = secrets_of(world_a)
    conn = CanvasConnection.objects.get(institution=world_a)
    sim.control("tokens/revoke")
    sim.control("clock", {"advance_s": 3700})
    with pytest.raises(CanvasError) as excinfo:
        connect.client_for(conn).get_account("self")
    assert_clean(str(excinfo.value) + excinfo.value.fix, secrets, "an exception")
    run = create_run(world_a, "refresh")
    refresh_catalog(conn, run)
    sync(world_a)
    texts = [r.message for r in SyncRun.objects.all()] + [f"{i.message} {i.fix}" for i in SyncIssue.objects.all()]
    assert_clean("\n".join(texts), secrets, "a run or an issue")
    assert mail.outbox, "losing access should have emailed the admins"
    assert_clean("\n".join(m.subject + m.body for m in mail.outbox), secrets, "an email")
    assert_clean(caplog.text, secrets, "the logs")


def test_reset_and_invitation_emails_carry_no_secret(world_a, client, support_user, admin_a, caplog):
    secrets = secrets_of(world_a)
    client.post(reverse("password_reset"), {"email": admin_a.email})
    client.force_login(support_user)
    invite = reverse("admin:portal_institution_invite", args=[world_a.id])
    client.post(invite, {"email": "carol@alpha.test", "first_name": "Carol"})
    assert len(mail.outbox) == 2
    assert_clean("\n".join(m.subject + m.body for m in mail.outbox), secrets, "an email")
    assert_clean(caplog.text, secrets, "the logs")


def test_no_audit_entry_holds_a_secret_not_even_encrypted(world_a):
    secrets = secrets_of(world_a)
    conn = CanvasConnection.objects.get(institution=world_a)
    assert AuditEntry.objects.filter(object_id=conn.id, changes__has_key="client_secret").count() >= 3
    rows = repr(list(AuditEntry.objects.values()))
    assert_clean(rows, secrets, "the audit trail's rows")
    assert "gAAAAA" not in rows, "a Fernet ciphertext reached the audit trail"
