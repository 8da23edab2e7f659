"""Generated from the URL configuration: every portal URL, visited as an admin of institution B with
real ids of institution A's objects, is a 404 (or refused for a POST) and changes nothing of A's."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.models import Course, CourseAdminEnrollment, Enrollment, Exam, ExamScore, ExamTaker
from sync.audit.models import AuditEntry
from sync.models import CatalogCourse, SyncListEntry, SyncRun
from tests.security.world import PARAM_MODELS, build_world, ids_of, routes

ALL_ROUTES = list(routes())
# Pages anyone may open without logging in: logging in, and getting a password (reset, invitation).
PUBLIC = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    "password_reset_confirm",
    "invitation",
}
WITH_IDS = [r for r in ALL_ROUTES if r[2] and r[1] not in PUBLIC]
WITHOUT_IDS = [r for r in ALL_ROUTES if not r[2] and r[1] not in PUBLIC]
PUBLIC_ROUTES = [r for r in ALL_ROUTES if r[1] in PUBLIC]
A_MARKERS = ["Alpha University", "Contracts I", "LAW-101-F26", "Alpha midterm", "S0001"]


@pytest.fixture
def world_a(connected, sim, institution_a):
    build_world(institution_a, sim)
    return institution_a


def snapshot(institution) -> dict:
    """Everything of A's that a stray write could touch."""
    models = [
        Course,
        ExamTaker,
        Enrollment,
        CourseAdminEnrollment,
        SyncListEntry,
        SyncRun,
        CatalogCourse,
        Exam,
        ExamScore,
    ]
    snap = {}
    for model in models:
        field = {
            Course: "institution",
            ExamTaker: "institution",
            SyncListEntry: "institution",
            SyncRun: "institution",
            CatalogCourse: "institution",
            Enrollment: "course__institution",
            CourseAdminEnrollment: "course__institution",
            Exam: "course__institution",
            ExamScore: "exam__course__institution",
        }[model]
        snap[model.__name__] = sorted(
            tuple(sorted(row.items())) for row in model.objects.filter(**{field: institution}).values()
        )
    # The audit trail: B's requests must add nothing to A's (its rows hold JSON, so compare their ids).
    snap["AuditEntry"] = sorted(AuditEntry.objects.filter(institution=institution).values_list("id", flat=True))
    return snap


NO_SUCH_ID = 987654321


def urls_with_a_ids(institution, *, with_missing: bool = False):
    for route, name, params in WITH_IDS:
        unknown = [p for p in params if p not in PARAM_MODELS]
        assert not unknown, f"{route}: add {unknown} to PARAM_MODELS in tests/security/world.py"
        choices = [[i for model in PARAM_MODELS[p] for i in ids_of(model, institution)] for p in params]
        missing = reverse(name, kwargs=dict.fromkeys(params, NO_SUCH_ID))
        for combo in itertools.product(*choices):
            url = reverse(name, kwargs=dict(zip(params, combo, strict=True)))
            yield (route, url, missing) if with_missing else (route, url)


def same_answer(r, other) -> bool:
    """B learns nothing when A's id gets exactly the answer a non-existent id gets."""
    return r.status_code == other.status_code and r.get("Location") == other.get("Location")


def test_the_crawler_sees_the_views_it_must(world_a):
    names = {name for _, name, _ in ALL_ROUTES}
    assert {
        "dashboard",
        "department",
        "lms-settings",
        "canvas-configure",
        "sync-settings",
        "sync-history",
        "sync-run",
        "exam",
        "audit-trail",
    } <= names


def test_every_url_with_an_id_of_a_is_a_404_for_an_admin_of_b(world_a, client_b):
    before = snapshot(world_a)
    visited = 0
    for route, url, missing in urls_with_a_ids(world_a, with_missing=True):
        r = client_b.get(url)
        assert r.status_code in (404, 405), f"GET {route} -> {r.status_code}"
        r = client_b.post(url, {})
        refused = r.status_code in (403, 404, 405)
        assert refused or same_answer(r, client_b.post(missing, {})), f"POST {route} -> {r.status_code}"
        visited += 1
    assert visited >= len(WITH_IDS)
    assert snapshot(world_a) == before
    assert not SyncListEntry.objects.exclude(institution=world_a).exists()
    assert not Exam.objects.exclude(course__institution=world_a).exists()


def test_every_url_without_an_id_shows_b_nothing_of_a(world_a, client_b):
    before = snapshot(world_a)
    for route, name, _ in WITHOUT_IDS:
        url = reverse(name)
        r = client_b.get(url)
        assert r.status_code in (200, 302, 400, 405), f"GET {route} -> {r.status_code}"
        body = r.content.decode(errors="replace")
        leaked = [m for m in A_MARKERS if m in body]
        assert not leaked, f"GET {route} shows A's {leaked}"
        r = client_b.post(url, {})
        assert r.status_code < 500, f"POST {route} -> {r.status_code}"
    assert snapshot(world_a) == before


def test_every_portal_url_requires_login(world_a, client):
    for route, url in itertools.chain(urls_with_a_ids(world_a), ((r, reverse(n)) for r, n, _ in WITHOUT_IDS)):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse("login")), f"GET {route} -> {r.status_code}"


def public_urls(user) -> list[tuple[str, str]]:
    """Every public page, the link pages with `user`'s real id and both a made-up and a real token."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    urls = []
    for route, name, params in PUBLIC_ROUTES:
        if not params:
            urls.append((route, reverse(name)))
            continue
        assert set(params) == {"uidb64", "token"}, f"{route}: a new public page; say here what to visit it with"
        for token in ("abc-0123456789abcdef", default_token_generator.make_token(user)):
            urls.append((route, reverse(name, kwargs={"uidb64": uid, "token": token})))
    return urls


def test_every_public_url_is_a_page_of_logging_in_or_getting_a_password():
    assert {name for _, name, _ in PUBLIC_ROUTES} == PUBLIC


def test_the_public_pages_show_nothing_of_a_and_change_nothing(world_a, client, admin_a):
    before = snapshot(world_a)
    password = admin_a.password
    for route, url in public_urls(admin_a):
        r = client.get(url, follow=True)
        assert r.status_code in (200, 405), f"GET {route} -> {r.status_code}"  # 405: logout is POST only
        body = r.content.decode(errors="replace")
        leaked = [m for m in A_MARKERS if m in body]
        assert not leaked, f"GET {route} shows A's {leaked}"
        if "abc-" in url:
            assert admin_a.email not in body, f"GET {route} with a made-up token names the account"
        client.cookies.clear()  # a real token's session must not carry over to the made-up one
    for route, url in public_urls(admin_a):
        r = client.post(url, {"email": admin_a.email, "new_password1": "x" * 12, "new_password2": "x" * 12})
        assert r.status_code < 500, f"POST {route} -> {r.status_code}"
    admin_a.refresh_from_db()
    assert admin_a.password == password  # a link POSTed without first opening it sets nothing
    assert snapshot(world_a) == before


def test_admin_of_a_reaches_every_url_without_a_server_error(world_a, client_a):
    for route, url in itertools.chain(urls_with_a_ids(world_a), ((r, reverse(n)) for r, n, _ in WITHOUT_IDS)):
        r = client_a.get(url)
        assert r.status_code < 500, f"GET {route} -> {r.status_code}"
