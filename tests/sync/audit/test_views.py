"""Admin > Global Settings > Audit trail: the institution's own entries only, filterable by what,
paginated, downloadable as CSV with formula cells marked as text."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConfig
from sync.audit import tracking
from sync.audit.models import Area, AuditEntry
from sync.models import CatalogCourse, SyncListEntry
from tests.sync.catalog_helpers import make_catalog, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail_a(institution_a, admin_a, client):
    """A's admin changed LMS Settings and the sync list through the pages."""
    CanvasConfig.objects.create(institution=institution_a)
    make_catalog(institution_a)
    client.force_login(admin_a)
    client.post(
        reverse("lms-settings"),
        {"lms_type": "access_token", "server_url": "https://canvas.example.edu", "access_token": "pasted-token-12345"},
    )
    course = CatalogCourse.objects.get(institution=institution_a, canvas_id=501)
    client.post(reverse("sync-add-course", args=[course.id]), HTTP_HX_REQUEST="true")
    client.logout()
    return institution_a


@pytest.fixture(autouse=True)
def no_canvas(monkeypatch):
    monkeypatch.setattr("lms_canvas.connect.verify", lambda conn, user: [])
    monkeypatch.setattr("lms_canvas.oauth.preflight", lambda conn: [])


def test_it_requires_access(client, support_user):
    for name in ("audit-trail", "audit-trail-csv"):
        assert client.get(reverse(name)).status_code == 302
    client.force_login(support_user)
    for name in ("audit-trail", "audit-trail-csv"):
        assert client.get(reverse(name)).status_code == 403


def test_global_settings_links_to_the_trail(client_a):
    assert f'href="{reverse("audit-trail")}"' in client_a.get(reverse("global-settings")).content.decode()


def test_the_trail_shows_who_changed_what_and_never_the_token(trail_a, client_a):
    r = client_a.get(reverse("audit-trail"))

    body = text(r)
    for words in ("alice@alpha.test", "LMS Settings", "Canvas Server", "https://canvas.example.edu", "Sync list"):
        assert words in body
    assert "Contracts I (501)" in body and "Canvas Access Token" in body
    assert "pasted-token-12345" not in r.content.decode()


def test_an_admin_of_b_never_sees_the_trail_of_a(trail_a, client_b, institution_b):
    make_catalog(institution_b, offset=10_000)
    SyncListEntry.objects.create(
        institution=institution_b, course=CatalogCourse.objects.get(institution=institution_b, canvas_id=10_502)
    )

    page = client_b.get(reverse("audit-trail")).content.decode()
    download = client_b.get(reverse("audit-trail-csv")).content.decode()

    assert "History of Science" in page and "History of Science" in download
    for words in ("Alpha University", "Contracts I", "alice@alpha.test", "canvas.example.edu"):
        assert words not in page and words not in download


def test_it_filters_by_what(trail_a, client_a):
    r = client_a.get(reverse("audit-trail"), {"area": Area.SYNC_LIST})

    body = text(r)
    assert "Contracts I (501)" in body and "Canvas Server" not in body
    assert client_a.get(reverse("audit-trail"), {"area": "<bad>", "page": "x"}).status_code == 200


def test_it_paginates(institution_a, client_a):
    for n in range(60):
        tracking.record(institution_a, area=Area.SCHEDULE, changes={"Nightly sync hour": [None, str(n % 24)]})

    first = client_a.get(reverse("audit-trail")).content.decode()
    second = client_a.get(reverse("audit-trail"), {"page": 2}).content.decode()

    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Page 2 of 2" in second and first.count("<tr>") == 51


def test_the_csv_download_lists_the_filtered_trail_with_formula_cells_marked(trail_a, client_a):
    CatalogCourse.objects.filter(canvas_id=505).update(name='=HYPERLINK("http://evil.example","x")')
    course = CatalogCourse.objects.get(canvas_id=505)
    client_a.post(reverse("sync-add-course", args=[course.id]), HTTP_HX_REQUEST="true")

    r = client_a.get(reverse("audit-trail-csv"), {"area": Area.SYNC_LIST})

    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"].startswith('attachment; filename="audit-trail-alpha-')
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == ["when", "who", "what", "action", "object", "changes"]
    assert len(rows) == 3 and {row[2] for row in rows[1:]} == {"Sync list"}
    assert rows[1][1] == "alice@alpha.test" and rows[1][3] == "Added"
    assert rows[1][4].startswith("'=HYPERLINK(")
    assert AuditEntry.objects.filter(area=Area.SYNC_LIST).count() == 2
