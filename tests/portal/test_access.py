from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import Course, Department
from tests.conftest import PASSWORD


@pytest.fixture
def course_a(institution_a) -> Course:
    return Course.objects.create(
        institution=institution_a, department=institution_a.departments.get(), course_id="LAW-101", name="Contracts"
    )


PAGES = ["dashboard", "global-settings"]


@pytest.mark.parametrize("name", PAGES + ["home"])
def test_it_requires_login(client, db, name):
    r = client.get(reverse(name))
    assert r.status_code == 302
    assert r["Location"].startswith(reverse("login"))


def test_department_and_course_pages_require_login(client, course_a):
    for url in [reverse("department", args=[course_a.department_id]), reverse("course", args=[course_a.id])]:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse("login"))


def test_admin_lands_on_their_dashboard(client, admin_a):
    r = client.post(reverse("login"), {"username": "alice@alpha.test", "password": PASSWORD}, follow=True)
    assert r.redirect_chain[-1][0] == reverse("dashboard")
    assert "Alpha University" in r.content.decode()


def test_wrong_password_says_so(client, admin_a):
    r = client.post(reverse("login"), {"username": "alice@alpha.test", "password": "nope"})
    assert r.status_code == 200
    assert "didn't match" in r.content.decode()


def test_support_lands_on_django_admin(client, support_user):
    r = client.post(reverse("login"), {"username": "sam@support.test", "password": PASSWORD}, follow=True)
    assert r.redirect_chain[-1][0] == reverse("admin:index")


def test_a_user_without_an_institution_is_refused_the_dashboard(client, django_user_model):
    user = django_user_model.objects.create_user(username="nobody", password=PASSWORD)
    client.force_login(user)
    assert client.get(reverse("dashboard")).status_code == 403


def test_admin_of_b_gets_404_for_a_department_of_a(client_b, course_a):
    assert client_b.get(reverse("department", args=[course_a.department_id])).status_code == 404


def test_admin_of_b_gets_404_for_a_course_of_a(client_b, course_a):
    assert client_b.get(reverse("course", args=[course_a.id])).status_code == 404


def test_admin_of_b_never_sees_a_data_on_the_dashboard(client_b, course_a):
    body = client_b.get(reverse("dashboard")).content.decode()
    assert "Alpha" not in body and "Law" not in body
    assert "Medicine" in body


def test_department_page_lists_its_courses_and_searches(client_a, course_a):
    dept = course_a.department
    Course.objects.create(institution=dept.institution, department=dept, course_id="LAW-202", name="Torts")
    r = client_a.get(reverse("department", args=[dept.id]))
    assert "LAW-101" in r.content.decode() and "LAW-202" in r.content.decode()
    r = client_a.get(reverse("department", args=[dept.id]), {"q": "tort"})
    assert "LAW-202" in r.content.decode() and "LAW-101" not in r.content.decode()


def test_empty_department_explains_where_courses_come_from(client_a, institution_a):
    dept = Department.objects.create(institution=institution_a, name="Nursing")
    assert "after a sync" in client_a.get(reverse("department", args=[dept.id])).content.decode()


def test_repeated_wrong_passwords_lock_the_account_for_a_while(client, admin_a, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice@alpha.test", "password": "guess"})
    r = client.post(reverse("login"), {"username": "alice@alpha.test", "password": PASSWORD})
    assert r.status_code == 429
    assert "locked for 15 minutes" in r.content.decode()
