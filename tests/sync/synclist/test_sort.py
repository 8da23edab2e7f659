"""Edit Sync List sorted by its headers (?sort=, no JavaScript needed); Save keeps the order shown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from portal.models import Department
from sync.models import SyncListEntry
from tests.sync.synclist.helpers import course, rows_post, section, two_entries


@pytest.fixture
def three(institution_a, config):
    """Contracts I (ends Dec 17, Law), Statistics I (ends Jan 5, no department), Contracts I / Section A."""
    a, b = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=a.id).update(department=Department.objects.get(institution=institution_a))
    SyncListEntry.objects.filter(id=b.id).update(end_date=dt.date(2027, 1, 5))
    SyncListEntry.objects.filter(id=a.id).update(end_date=dt.date(2026, 12, 17))
    c = SyncListEntry.objects.create(institution=institution_a, course=course(501), section=section(801))
    return a, b, c


def shown(response) -> list[int]:
    assert response.status_code == 200
    return [form.listed_entry.id for form in response.context["rows"]]


def listed(client, **params) -> list[int]:
    return shown(client.get(reverse("sync-settings"), {"tab": "list", **params}))


def test_the_list_sorts_by_a_header(client_a, three):
    a, b, c = three
    assert listed(client_a) == [a.id, c.id, b.id]  # by course: Contracts I, Contracts I / Section A, Statistics I
    assert listed(client_a, sort="-course") == [b.id, c.id, a.id]
    assert listed(client_a, sort="-end") == [b.id, a.id, c.id]  # Section A has no End Date: last either way
    assert listed(client_a, sort="end") == [a.id, b.id, c.id]
    assert listed(client_a, sort="department") == [a.id, c.id, b.id]  # the rows without one last, by course
    assert listed(client_a, sort="-course_id")[0] == b.id  # STAT-101-F26 after LAW-101-F26


def test_an_unknown_sort_is_the_default(client_a, three):
    for unknown in ("added_by__password", "-institution", "x" * 1000):
        assert listed(client_a, sort=unknown) == listed(client_a)


def test_the_headers_mark_the_sort_and_keep_the_tab(client_a, three):
    body = client_a.get(reverse("sync-settings"), {"tab": "list", "sort": "-end"}).content.decode()
    assert '<th scope="col" aria-sort="descending" class="sortable"><a href="?tab=list&amp;sort=end"' in body
    assert 'href="?tab=list&amp;sort=department">Department<span class="visually-hidden">, sort ascending' in body
    assert '<input type="hidden" name="sort" value="-end">' in body


def test_save_returns_to_the_list_in_its_order(client_a, three):
    a, b, c = three
    data = rows_post(
        *({"entry": e.id, "start_date": "", "end_date": "2027-01-05" if e == b else ""} for e in (a, b, c)),
        action="save",
    )
    r = client_a.post(reverse("sync-list-save"), {**data, "sort": "-end"})
    assert r.status_code == 302 and r.url == reverse("sync-settings") + "?tab=list&sort=-end"
    r = client_a.post(reverse("sync-list-save"), {**data, "sort": "nonsense"})
    assert r.url == reverse("sync-settings") + "?tab=list"


def test_a_refused_save_shows_the_rows_in_their_order(client_a, three):
    a, b, c = three
    data = rows_post(
        {"entry": a.id, "start_date": "not a date", "end_date": ""},
        {"entry": b.id, "start_date": "", "end_date": ""},
        {"entry": c.id, "start_date": "", "end_date": ""},
    )
    r = client_a.post(reverse("sync-list-save"), {**data, "sort": "-course"})
    assert "Nothing was saved" in r.content.decode() and shown(r) == [b.id, c.id, a.id]
