from __future__ import annotations

import datetime as dt

from django.urls import reverse

from portal.models import Department
from sync.models import SyncListEntry
from tests.sync.catalog_helpers import text
from tests.sync.synclist.helpers import two_entries

D = dt.date


def test_save_rerenders_with_the_message_beside_the_field(client_a, institution_a, config):
    a, _ = two_entries(institution_a, config)
    data = {"action": "save", "row": [a.id], f"start_{a.id}": "2026-09-01", f"end_{a.id}": "2026-08-01"}

    r = client_a.post(reverse("sync-list-save"), data)

    assert r.status_code == 200
    body = text(r)
    assert "Nothing was saved: correct the entries marked below." in body
    assert f'<ul class="errorlist" id="end_{a.id}-errors"><li>End Date is before Start Date.</li></ul>' in body


def test_save_applies_dates_and_department(client_a, institution_a, config):
    a, _ = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    data = {"row": [a.id], f"start_{a.id}": "2026-09-01", f"end_{a.id}": "2026-12-01", f"department_{a.id}": law.id}

    r = client_a.post(reverse("sync-list-save"), {"action": "save", **data}, follow=True)

    assert "Saved. 1 entry changed." in text(r)
    a.refresh_from_db()
    assert (a.start_date, a.end_date, a.department_id) == (D(2026, 9, 1), D(2026, 12, 1), law.id)


def test_bulk_remove_from_the_page(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "remove", "selected": [a.id, b.id]}, follow=True)
    assert "Removed 2 entries from the sync list." in text(r)
    assert not SyncListEntry.objects.exists()


def test_bulk_without_checked_rows_says_what_to_do(client_a, institution_a, config):
    two_entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "bulk_department"}, follow=True)
    assert "Check at least one row first" in text(r)


def test_admin_b_cannot_edit_or_remove_entries_of_a(client_b, institution_a, config):
    a, _ = two_entries(institution_a, config)
    r = client_b.post(reverse("sync-list-save"), {"action": "remove", "selected": [a.id]}, follow=True)
    assert "Removed 0 entries from the sync list." in text(r)
    r = client_b.post(reverse("sync-list-save"), {"action": "save", "row": [a.id], f"end_{a.id}": "2030-01-01"})
    assert r.status_code == 200
    assert "Nothing was saved" in text(r)
    assert SyncListEntry.objects.filter(id=a.id).exists()
    a.refresh_from_db()
    assert a.end_date == D(2026, 12, 17)


def test_edit_sync_list_tab_showstwo_entries(client_a, institution_a, config):
    two_entries(institution_a, config)
    body = text(client_a.get(reverse("sync-settings"), {"tab": "list"}))
    assert "Contracts I" in body and "Statistics I" in body
    assert "With checked rows" in body
    assert "Set department" in body
