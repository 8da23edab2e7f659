"""View History searched by a course or a person, filtered by dates (the institution's days), sorted by
its headers; refused input said beside its field; another institution's runs never listed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from sync.models import RunKind, SyncRun
from sync.runs.history import chart_data
from tests.sync.runs.history_helpers import UTC, make_history


@pytest.fixture
def runs(institution_a, institution_b):
    return make_history(institution_a, institution_b)


def listed(client, **params) -> list[int]:
    r = client.get(reverse("sync-history"), params)
    assert r.status_code == 200
    return [int(n) for n in re.findall(r'href="/admin-settings/lms/history/(\d+)/">#', r.content.decode())]


@pytest.mark.parametrize("q", ["Contracts", "contracts i", "LAW-101", "law-101-f26", "501"])
def test_a_course_finds_the_runs_that_touched_it(client_a, runs, q):
    assert listed(client_a, q=q) == [runs["post"].id, runs["contracts"].id]


@pytest.mark.parametrize("q", ["Ada Lovelace", "lovelace", "ADA@alpha.test", "s0001", "9001"])
def test_a_person_finds_the_runs_of_their_courses(client_a, runs, q):
    assert listed(client_a, q=q) == [runs["torts"].id]


@pytest.mark.parametrize("q", ["José García", "garcía", "104"])
def test_a_person_finds_the_runs_that_recorded_an_issue_about_them(client_a, runs, q):
    assert listed(client_a, q=q) == [runs["jose"].id]


def test_a_search_that_touches_nothing_says_so(client_a, runs):
    body = client_a.get(reverse("sync-history"), {"q": "Underwater basket weaving"}).content.decode()
    assert "none touched a course or person matching “Underwater basket weaving”" in body


def test_another_institutions_runs_never_appear(client_a, runs):
    assert runs["beta"].id not in listed(client_a, q="Contracts I")
    assert runs["beta"].id not in listed(client_a)


def test_an_admin_finds_only_their_institutions_runs(client_b, runs):
    assert listed(client_b, q="Contracts I") == [runs["beta"].id]
    assert listed(client_b, q="Ada Lovelace") == [] and listed(client_b, q="104") == []


def test_dates_are_the_institutions_days(client_a, runs):
    # Contracts I ran at 03:00 UTC on Nov 2: Nov 1 in New York.
    assert listed(client_a, date_from="2026-11-01", date_to="2026-11-01") == [runs["contracts"].id]
    assert listed(client_a, date_from="2026-11-02", date_to="2026-11-03") == [runs["torts"].id]
    assert listed(client_a, date_from="2026-11-04") == [runs["post"].id, runs["jose"].id]
    assert listed(client_a, date_to="2026-11-01", q="Contracts") == [runs["contracts"].id]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"date_from": "2026-02-30"}, "date_from", "Enter a date as YYYY-MM-DD, e.g. 2026-09-01"),
        ({"date_to": "yesterday"}, "date_to", "Enter a date as YYYY-MM-DD, e.g. 2026-09-01"),
        ({"date_from": "0001-01-01"}, "date_from", "Enter a date between the years 2000 and 2999."),
        ({"date_to": "9999-12-31"}, "date_to", "Enter a date between the years 2000 and 2999."),
        ({"date_from": "2026-11-05", "date_to": "2026-11-01"}, "date_to", "The To date is before the From date"),
        ({"q": "x" * 256}, "q", "A search can be at most 255 characters; this one has 256."),
    ],
)
def test_a_refused_filter_is_said_beside_its_field_and_lists_no_runs(client_a, runs, params, field, message):
    r = client_a.get(reverse("sync-history"), params)
    body = r.content.decode()
    assert r.status_code == 200
    assert re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>{re.escape(message)}', body)
    assert f'aria-describedby="id_{field}_error"' in body
    assert "correct the filters marked above" in body and 'class="history"' not in body


def test_unknown_choices_are_all(client_a, runs):
    assert len(listed(client_a, kind="<bad>", status="nope", trigger="x" * 500)) == 4


def test_runs_sort_by_a_header_and_an_unknown_sort_is_the_default(client_a, runs):
    newest_first = [runs["post"].id, runs["jose"].id, runs["torts"].id, runs["contracts"].id]
    assert listed(client_a) == newest_first
    assert listed(client_a, sort="started") == newest_first[::-1]
    assert listed(client_a, sort="-issues")[:2] == [runs["contracts"].id, runs["jose"].id]
    # Grade post before Sync; runs of one kind in the order of their ids.
    assert listed(client_a, sort="kind") == [runs["post"].id, runs["contracts"].id, runs["torts"].id, runs["jose"].id]
    for unknown in ("password", "-created_at", "requested_by__password", "x" * 1000, "--issues"):
        assert listed(client_a, sort=unknown) == newest_first


def test_the_sort_links_keep_the_filters_and_mark_the_sorted_column(client_a, runs):
    body = client_a.get(
        reverse("sync-history"), {"q": "Contracts", "kind": "sync", "sort": "issues", "page": "1"}
    ).content.decode()
    assert (
        '<th scope="col" aria-sort="ascending" class="sortable"><a href="?q=Contracts&amp;kind=sync&amp;sort=-issues"'
        in body
    )
    assert (
        '<a href="?q=Contracts&amp;kind=sync&amp;sort=started">Started<span class="visually-hidden">, sort ascending'
        in body
    )
    assert body.count("aria-sort=") == 1
    # The filter form keeps the sort, and the default sort marks Started descending.
    assert '<input type="hidden" name="sort" value="issues">' in body
    default = client_a.get(reverse("sync-history")).content.decode()
    assert 'aria-sort="descending" class="sortable"><a href="?sort=started"' in default


def test_pages_keep_the_search_and_sort(client_a, institution_a):
    for _ in range(51):
        SyncRun.objects.create(institution=institution_a, kind=RunKind.REFRESH, status="succeeded")
    body = client_a.get(reverse("sync-history"), {"kind": "refresh", "sort": "run"}).content.decode()
    assert 'href="?kind=refresh&amp;sort=run&page=2" rel="next"' in body


def test_the_chart_says_its_days_as_the_pages_do(institution_a):
    chart = chart_data(institution_a, now=dt.datetime(2026, 11, 2, 3, 0, tzinfo=UTC))  # Nov 1 in New York
    assert chart["labels"][-1] == "Nov 1, 2026" and chart["labels"][0] == "Oct 3, 2026"
