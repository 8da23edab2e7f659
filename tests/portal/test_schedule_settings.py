"""Schedule and notifications: an admin sets their own institution's nightly hour and time zone, who else
is emailed, and the roster guard's threshold; every change is in the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from portal.forms import ScheduleForm
from portal.models import Institution
from sync.audit.models import Area, AuditEntry
from sync.models import RunKind, RunTrigger, SyncRun
from tests.sync.catalog_helpers import make_catalog
from tests.sync.engine_helpers import add_entry

pytestmark = pytest.mark.django_db
URL = "schedule-settings"
GOOD = {
    "timezone": "America/Chicago",
    "nightly_sync_hour": "3",
    "notification_emails": "helpdesk@alpha.test\n\n  registrar@alpha.test  \nHelpdesk@alpha.test",
    "sync_hold_percent": "30",
    "sync_hold_min_people": "5",
}


def post(client, **changes):
    return client.post(reverse(URL), {**GOOD, **changes})


def test_it_shows_the_current_schedule_and_who_is_emailed(client_a, institution_a, admin_a):
    body = client_a.get(reverse(URL)).content.decode()
    assert '<option value="America/New_York" selected>' in body
    assert '<option value="2" selected>2:00 a.m.</option>' in body
    assert "alice@alpha.test" in body  # the admins are always told
    assert "a nightly sync failed" in body and "Canvas needs re-authorization" in body
    assert "Next nightly sync:" in body


def test_it_saves_and_normalizes(client_a, institution_a):
    r = post(client_a)
    assert r.status_code == 302 and r["Location"] == reverse(URL)
    institution_a.refresh_from_db()
    assert (institution_a.timezone, institution_a.nightly_sync_hour) == ("America/Chicago", 3)
    assert institution_a.notification_emails == "helpdesk@alpha.test\nregistrar@alpha.test"
    assert (institution_a.sync_hold_percent, institution_a.sync_hold_min_people) == (30, 5)
    assert "Schedule and notifications saved." in client_a.get(reverse(URL)).content.decode()


@time_machine.travel(dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC), tick=False)  # 9:00 p.m. in Tokyo
def test_the_next_nightly_sync_follows_the_saved_hour(client_a, institution_a):
    assert "none — nothing is on the sync list yet" in client_a.get(reverse(URL)).content.decode()
    make_catalog(institution_a)
    add_entry(institution_a, 501)
    post(client_a, timezone="Asia/Tokyo", nightly_sync_hour="4")
    with time_machine.travel(dt.datetime(2026, 9, 1, 0, 30, tzinfo=dt.UTC)):  # 9:30 a.m. in Tokyo
        body = client_a.get(reverse(URL)).content.decode()
        # 4:00 a.m. has passed today, within the catch-up window, and no nightly sync has started since.
        assert (
            "due now (it starts within a minute), but it will be skipped until the Canvas connection is Verified"
            in (body)
        )
        SyncRun.objects.create(
            institution=institution_a, kind=RunKind.SYNC, trigger=RunTrigger.NIGHTLY, status="skipped"
        )
        assert "tomorrow at 4:00 a.m. JST (Asia/Tokyo)" in client_a.get(reverse(URL)).content.decode()
    post(client_a, timezone="Asia/Tokyo", nightly_sync_hour="9")
    with time_machine.travel(dt.datetime(2026, 9, 2, 6, 0, tzinfo=dt.UTC)):  # 3:00 p.m.: 9 a.m. is 6 hours gone
        assert "tomorrow at 9:00 a.m. JST (Asia/Tokyo)" in client_a.get(reverse(URL)).content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "“Mars/Olympus” is not a time zone name; choose one from the list"),
        ({"nightly_sync_hour": "24"}, "Choose the hour from the list (midnight to 11:00 p.m.)."),
        ({"notification_emails": "ok@alpha.test\nnot an address"}, "line 2 (“not an address”)"),
        ({"sync_hold_percent": "150"}, "Enter a percentage from 0 to 100."),
        ({"sync_hold_percent": "half"}, "Enter a whole number from 0 to 100."),
        ({"sync_hold_min_people": "0"}, "Enter a number of exam-takers from 1 to 10000."),
    ],
)
def test_a_bad_value_is_refused_beside_its_field_and_nothing_is_saved(client_a, institution_a, changes, message):
    r = post(client_a, **changes)
    assert r.status_code == 200
    body = r.content.decode()
    assert message in body and "Nothing was saved" in body
    institution_a.refresh_from_db()
    assert (institution_a.timezone, institution_a.nightly_sync_hour) == ("America/New_York", 2)


def test_too_many_addresses_are_refused():
    emails = "\n".join(f"person{n}@alpha.test" for n in range(21))
    form = ScheduleForm({**GOOD, "notification_emails": emails})
    assert not form.is_valid()
    assert form.errors["notification_emails"] == ["At most 20 addresses; for more, use a mailing list's address."]


def test_the_change_is_in_the_audit_trail_with_who_made_it(client_a, institution_a, admin_a):
    post(client_a)
    entry = AuditEntry.objects.get(area=Area.SCHEDULE, institution_id=institution_a.id, action=AuditEntry.Action.UPDATE)
    assert entry.actor == admin_a
    assert {"timezone", "nightly_sync_hour", "notification_emails", "sync_hold_percent"} <= set(entry.changes)
    assert "name" not in entry.changes and "slug" not in entry.changes


def test_an_admin_changes_only_their_own_institution(client_b, institution_a, institution_b):
    before = Institution.objects.filter(id=institution_a.id).values().get()
    body = client_b.get(reverse(URL)).content.decode()
    assert "alice@alpha.test" not in body and "Beta College" in body
    post(client_b, institution="alpha", id=str(institution_a.id))
    assert Institution.objects.filter(id=institution_a.id).values().get() == before
    institution_b.refresh_from_db()
    assert institution_b.timezone == "America/Chicago"


def test_it_requires_access(client, support_user):
    r = client.get(reverse(URL))
    assert r.status_code == 302 and reverse("login") in r["Location"]
    client.force_login(support_user)  # support works in Django admin, not here
    assert client.get(reverse(URL)).status_code == 403
    assert client.post(reverse(URL), GOOD).status_code == 403


def test_global_settings_links_to_it(client_a):
    assert f'href="{reverse(URL)}"' in client_a.get(reverse("global-settings")).content.decode()
