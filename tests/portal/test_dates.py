from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from portal.dates import date_text, datetime_text
from portal.templatetags.time_tags import ago
from portal.timezones import InstitutionTimezoneMiddleware
from tests.sync.engine_helpers import catalog_from_sim

MORNING = dt.datetime(2026, 12, 1, 7, 14, tzinfo=dt.UTC)


def render(text: str, **ctx) -> str:
    return Template(text).render(Context(ctx))


def test_a_date_and_a_time_are_written_one_way():
    assert render("{{ t }}", t=MORNING) == "Dec 1, 2026, 7:14 a.m."
    assert render('{{ t|date:"DATETIME_FORMAT" }}', t=MORNING) == "Dec 1, 2026, 7:14 a.m."
    assert render("{{ t|date }}", t=MORNING) == "Dec 1, 2026"
    assert render("{{ d }}", d=MORNING.date()) == "Dec 1, 2026"
    assert render("{{ t }}", t=MORNING.replace(hour=14, minute=5)) == "Dec 1, 2026, 2:05 p.m."


def _zone_seen(user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    middleware = InstitutionTimezoneMiddleware(lambda r: HttpResponse(timezone.get_current_timezone_name()))
    return middleware(request).content.decode()


def test_an_admin_reads_times_in_their_institutions_zone(admin_a):
    assert _zone_seen(admin_a) == "America/New_York"
    assert timezone.get_current_timezone_name() == "UTC"  # and only during their request


def test_support_and_logged_out_pages_use_utc(support_user):
    assert _zone_seen(support_user) == "UTC"
    assert _zone_seen(AnonymousUser()) == "UTC"


def test_a_sentence_that_ends_with_a_time_has_one_period(client_a, admin_a, institution_a):
    from lms_canvas.models import CanvasConnection, ConnectionStatus

    CanvasConnection.objects.create(
        institution=institution_a, server_url="https://canvas.example.edu", status=ConnectionStatus.VERIFIED,
        verified_at=MORNING,
    )  # fmt: skip
    body = client_a.get("/admin-settings/lms/").content.decode()
    assert "Verified Dec 1, 2026, 2:14 a.m.</p>" in body  # 7:14 UTC in New York


def test_python_writes_dates_as_the_pages_do():
    assert date_text(dt.date(2026, 12, 1)) == "Dec 1, 2026"
    moment = dt.datetime(2026, 12, 1, 19, 5, tzinfo=dt.UTC)
    assert datetime_text(moment, zoneinfo.ZoneInfo("America/New_York")) == "Dec 1, 2026, 2:05 p.m."


def test_how_long_ago_reads_as_people_say_it():
    assert ago(MORNING, MORNING + dt.timedelta(seconds=20)) == "just now"
    assert ago(MORNING, MORNING - dt.timedelta(seconds=5)) == "just now"  # a clock a little behind
    assert ago(MORNING, MORNING + dt.timedelta(minutes=5)) == "5\xa0minutes ago"
    assert ago(None) == ""


def test_configure_says_roles_were_read_just_now_not_0_minutes_ago(client_a, connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    body = client_a.get("/admin-settings/lms/configure/").content.decode()
    assert "Roles as Canvas reports them for your account, read just now." in body
    assert "0\xa0minutes" not in body and "0 minutes" not in body
    coverage = client_a.get("/admin-settings/lms/sync/id-coverage/").content.decode()
    assert "from the last refresh (just now)" in coverage
