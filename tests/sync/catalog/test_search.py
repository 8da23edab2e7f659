from __future__ import annotations

import pytest

from lms_canvas.models import CanvasConfig
from sync.catalog import search
from sync.models import CatalogCourse, CatalogSection
from tests.sync.catalog_helpers import make_catalog


@pytest.fixture
def config(institution_a):
    make_catalog(institution_a)
    return CanvasConfig.objects.create(institution=institution_a)


def reasons(institution, config, **kwargs):
    page = search.search_courses(institution, config, **kwargs)
    return {c.canvas_id: (c.reason.code if c.reason else None) for c in page}


def test_every_course_is_listed_with_why_it_cannot_be_synced(institution_a, config):
    assert reasons(institution_a, config) == {
        501: None,
        502: "no_course_id",
        503: "course_unpublished",
        504: "course_deleted",
        505: None,
    }


def test_a_gone_course_says_it_is_no_longer_in_canvas(institution_a, config):
    CatalogCourse.objects.filter(canvas_id=501).update(gone_at="2026-01-01T00:00:00Z")
    page = search.search_courses(institution_a, config, "Contracts")
    assert page[0].reason.text == "No longer in Canvas: the last refresh did not find it."


def test_the_no_id_reason_names_the_chosen_type(institution_a, config):
    config.course_id_type = "integration"
    page = search.search_courses(institution_a, config, "Contracts")
    assert page[0].reason.text.startswith("No Reference ID in Canvas, the ID type chosen on Configure")


def test_with_course_id_type_canvas_every_published_course_has_an_id(institution_a, config):
    config.course_id_type = "canvas"
    assert reasons(institution_a, config)[502] is None
    assert search.search_courses(institution_a, config, "History")[0].course_id == "502"


def test_hide_unsyncable(institution_a, config):
    assert set(reasons(institution_a, config, hide_unsyncable=True)) == {501, 505}


def test_search_by_configured_id_name_and_canvas_id(institution_a, config):
    assert set(reasons(institution_a, config, query="LAW-1")) == {501, 504}
    assert set(reasons(institution_a, config, query="law-101-f26")) == {501}
    assert set(reasons(institution_a, config, query="philosophy")) == {503}
    assert set(reasons(institution_a, config, query="505")) == {505}


def test_search_is_per_institution(institution_a, institution_b, config):
    make_catalog(institution_b, offset=10_000)
    assert set(reasons(institution_a, config)) == {501, 502, 503, 504, 505}


def test_pagination_on_the_server(institution_a, config):
    CatalogCourse.objects.bulk_create(
        CatalogCourse(institution=institution_a, canvas_id=1000 + i, name=f"Zeta {i:03}", sis_course_id=f"Z{i}",
                      workflow_state="available")
        for i in range(120)
    )  # fmt: skip
    first = search.search_courses(institution_a, config, "Zeta", page_size=50)
    last = search.search_courses(institution_a, config, "Zeta", page=3, page_size=50)
    beyond = search.search_courses(institution_a, config, "Zeta", page=99, page_size=50)

    assert first.paginator.count == 120
    assert [c.name for c in first][:2] == ["Zeta 000", "Zeta 001"]
    assert len(last) == 20
    assert beyond.number == 3  # a page past the end shows the last one, not an error


def test_section_reasons(institution_a, config):
    course, sections = search.sections_of(institution_a, config, CatalogCourse.objects.get(canvas_id=501).id)
    assert {s.canvas_id: (s.reason.code if s.reason else None) for s in sections} == {801: None, 802: "no_section_id"}
    _, sections = search.sections_of(institution_a, config, CatalogCourse.objects.get(canvas_id=503).id)
    assert sections[0].reason.text == "Its course cannot be synced."
    CatalogSection.objects.filter(canvas_id=801).update(gone_at="2026-01-01T00:00:00Z")
    _, sections = search.sections_of(institution_a, config, CatalogCourse.objects.get(canvas_id=501).id)
    assert sections[0].reason.code == "section_gone"


def test_sections_of_another_institution_are_not_found(institution_a, institution_b, config):
    make_catalog(institution_b, offset=10_000)
    with pytest.raises(CatalogCourse.DoesNotExist):
        search.sections_of(institution_a, config, CatalogCourse.objects.get(canvas_id=10_501).id)


def test_id_coverage_counts_values_per_type_with_examples(institution_a, config):
    coverage = search.id_coverage(institution_a)

    courses = {c.label: c for c in coverage["courses"]}
    assert (courses["SIS ID"].with_value, courses["SIS ID"].total) == (3, 4)  # the deleted course is left out
    assert courses["SIS ID"].examples == ["History of Science (502)"]
    assert courses["Reference ID"].with_value == 0
    assert courses["Course ID"].percent == 100
    sections = {c.label: c for c in coverage["sections"]}
    assert (sections["SIS ID"].with_value, sections["SIS ID"].total) == (2, 4)
