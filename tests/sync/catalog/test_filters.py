"""Select Courses filtered by term and sub-account (as the last refresh stored them), sorted by its
headers, marking the courses already on the sync list, each with a Remove that the server re-checks."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConfig
from sync.models import CatalogAccount, CatalogCourse, SyncListEntry
from tests.sync.catalog_helpers import make_catalog, text


@pytest.fixture
def catalog_a(institution_a):
    """make_catalog's Fall 2026 courses in account 1; Evidence in Spring 2027, sub-account 7."""
    CanvasConfig.objects.create(institution=institution_a)
    make_catalog(institution_a)
    CatalogCourse.objects.filter(institution=institution_a).update(account_id=1)
    CatalogCourse.objects.create(
        institution=institution_a,
        canvas_id=506,
        name="Evidence",
        sis_course_id="LAW-201-S27",
        workflow_state="available",
        term_name="Spring 2027",
        account_id=7,
    )
    return institution_a


@pytest.fixture
def catalog_b(institution_b):
    CanvasConfig.objects.create(institution=institution_b)
    make_catalog(institution_b, offset=10_000)
    CatalogCourse.objects.filter(institution=institution_b).update(term_name="Beta Winter", account_id=99)
    return institution_b


def names(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<td class="name">([^<]+?)(?: <small|</td>)', response.content.decode())


def courses(client, **params) -> list[str]:
    return names(client.get(reverse("sync-course-search"), params))


def test_terms_and_sub_accounts_come_from_the_catalogue(client_a, catalog_a, catalog_b):
    body = text(client_a.get(reverse("sync-settings")))
    assert '<option value="Fall 2026">Fall 2026</option>' in body and '<option value="Spring 2027">' in body
    assert '<option value="1">Account 1: 5 courses</option>' in body and "Account 7: 1 course<" in body
    assert "Beta Winter" not in body and "Account 99" not in body


def test_sub_accounts_show_their_names_and_the_number_while_a_name_is_unknown(
    client_a, catalog_a, catalog_b, institution_b
):
    CatalogAccount.objects.create(institution=catalog_a, canvas_id=7, name="School of Law")
    CatalogAccount.objects.create(institution=institution_b, canvas_id=1, name="Beta College")  # B's names are B's

    body = text(client_a.get(reverse("sync-settings")))

    assert '<option value="7">School of Law: 1 course</option>' in body
    assert '<option value="1">Account 1: 5 courses</option>' in body and "Beta College" not in body
    assert "No course matches in Fall 2026 in School of Law." in text(
        client_a.get(reverse("sync-course-search"), {"term": "Fall 2026", "account": "7"})
    )


def test_a_term_and_a_sub_account_filter_the_courses(client_a, catalog_a):
    assert courses(client_a, term="Spring 2027") == ["Evidence"]
    assert courses(client_a, account="1", q="Contracts") == ["Contracts I"]
    assert courses(client_a, term="Fall 2026", account="7") == []
    assert "No course matches in Fall 2026 in account 7." in text(
        client_a.get(reverse("sync-course-search"), {"term": "Fall 2026", "account": "7"})
    )
    # The full page (no JavaScript) filters the same way and keeps the choice selected.
    page = client_a.get(reverse("sync-settings"), {"term": "Spring 2027"})
    assert names(page) == ["Evidence"] and '<option value="Spring 2027" selected>' in page.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"term": "Beta Winter"}, "“Beta Winter” is not a term of the courses the last refresh found."),
        ({"account": "99"}, "“99” is not a sub-account of the courses the last refresh found."),
        ({"account": "not-a-number"}, "“not-a-number” is not a sub-account of the courses the last refresh found."),
        ({"term": "x" * 5000}, "is not a term of the courses the last refresh found."),
    ],
)
def test_another_institutions_or_an_unknown_choice_is_refused_beside_its_field(
    client_a, catalog_a, catalog_b, params, message
):
    for url in ("sync-settings", "sync-course-search"):
        r = client_a.get(reverse(url), params)
        assert r.status_code == 200 and message in text(r)
        assert names(r) == []  # never the whole catalogue instead


def test_courses_sort_by_a_header(client_a, catalog_a):
    by_name = ["Contracts I", "Evidence", "History of Science", "Philosophy II", "Statistics I", "Torts (old)"]
    assert courses(client_a) == by_name
    assert courses(client_a, sort="-name") == by_name[::-1]
    assert (
        courses(client_a, sort="canvas_id")[0] == "Contracts I"
        and courses(client_a, sort="-canvas_id")[0] == "Evidence"
    )
    assert courses(client_a, sort="-term")[0] == "Evidence"  # Spring 2027 after Fall 2026, then by name
    assert courses(client_a, sort="course_id")[:2] == ["History of Science", "Contracts I"]  # no SIS ID first
    for unknown in ("institution", "-sis_course_id__gt", "x" * 1000, ""):
        assert courses(client_a, sort=unknown) == by_name


def test_the_sort_links_keep_the_search_and_filters(client_a, catalog_a):
    body = client_a.get(
        reverse("sync-course-search"), {"q": "o", "term": "Fall 2026", "hide": "1", "sort": "-name", "page": "1"}
    ).content.decode()
    assert (
        '<th scope="col" aria-sort="descending" class="sortable"><a href="?q=o&amp;hide=1&amp;term=Fall+2026&amp;sort=name"'
        in body
    )
    assert (
        'href="?q=o&amp;hide=1&amp;term=Fall+2026&amp;sort=term">Term<span class="visually-hidden">, sort ascending'
        in body
    )


def test_pages_keep_the_filters_and_the_sort(client_a, catalog_a):
    CatalogCourse.objects.bulk_create(
        CatalogCourse(
            institution=catalog_a, canvas_id=900 + n, name=f"Zeta {n:02}", term_name="Spring 2027", account_id=7
        )
        for n in range(60)
    )
    body = client_a.get(reverse("sync-course-search"), {"term": "Spring 2027", "sort": "-name"}).content.decode()
    assert "Zeta 59" in body
    assert 'href="?term=Spring+2027&amp;sort=-name&amp;page=2"' in body


def test_a_listed_course_is_marked_with_remove_and_sections_say_so(client_a, catalog_a):
    evidence = CatalogCourse.objects.get(institution=catalog_a, canvas_id=506)
    client_a.post(reverse("sync-add-course", args=[evidence.id]))
    contracts = CatalogCourse.objects.get(institution=catalog_a, canvas_id=501)
    client_a.post(reverse("sync-add-section", args=[contracts.sections.get(name="Section A").id]))
    body = text(client_a.get(reverse("sync-course-search")))
    assert '<span class="added">On the list</span>' in body
    assert 'aria-label="Remove Evidence from the sync list">Remove</button>' in body
    assert "1 section on the list" in body and 'aria-label="Add Contracts I to the sync list"' in body
    assert "Remove Contracts I" not in body


def test_remove_takes_the_course_off_the_list(client_a, catalog_a):
    contracts = CatalogCourse.objects.get(institution=catalog_a, canvas_id=501)
    r = client_a.post(reverse("sync-add-course", args=[contracts.id]), HTTP_HX_REQUEST="true")
    assert 'aria-label="Remove Contracts I from the sync list">Remove</button>' in text(r)  # undone at once
    r = client_a.post(reverse("sync-remove-course", args=[contracts.id]), HTTP_HX_REQUEST="true")
    assert '<span class="removed" role="status">Removed</span>' in text(r)
    assert 'aria-label="Add Contracts I to the sync list"' in text(r)  # and it can be added back
    assert not SyncListEntry.objects.filter(institution=catalog_a).exists()
    # Without JavaScript: a message on the page it returns to; a second Remove says it is not listed.
    client_a.post(reverse("sync-add-course", args=[contracts.id]))
    r = client_a.post(reverse("sync-remove-course", args=[contracts.id]), follow=True)
    assert "Removed “Contracts I” from the sync list." in text(r)
    r = client_a.post(reverse("sync-remove-course", args=[contracts.id]), HTTP_HX_REQUEST="true")
    assert "That course is not on your sync list as a whole course" in text(r)


def test_remove_leaves_a_listed_section_alone(client_a, catalog_a):
    contracts = CatalogCourse.objects.get(institution=catalog_a, canvas_id=501)
    client_a.post(reverse("sync-add-section", args=[contracts.sections.get(name="Section A").id]))
    r = client_a.post(reverse("sync-remove-course", args=[contracts.id]), HTTP_HX_REQUEST="true")
    assert "That course is not on your sync list as a whole course" in text(r)
    assert SyncListEntry.objects.filter(institution=catalog_a).count() == 1


def test_another_institutions_course_cannot_be_removed(client_a, catalog_a, catalog_b):
    theirs = CatalogCourse.objects.get(institution=catalog_b, canvas_id=10_501)
    SyncListEntry.objects.create(institution=catalog_b, course=theirs)
    r = client_a.post(reverse("sync-remove-course", args=[theirs.id]), HTTP_HX_REQUEST="true")
    assert "That course is not on your sync list as a whole course" in text(r)
    assert SyncListEntry.objects.filter(institution=catalog_b, course=theirs).exists()


def test_remove_requires_a_post_and_a_login(client, client_a, catalog_a):
    contracts = CatalogCourse.objects.get(institution=catalog_a, canvas_id=501)
    assert client_a.get(reverse("sync-remove-course", args=[contracts.id])).status_code == 405
    client.logout()
    assert client.post(reverse("sync-remove-course", args=[contracts.id])).status_code == 302
