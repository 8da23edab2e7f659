from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from portal.models import (
    Course,
    CourseAdmin,
    CourseAdminEnrollment,
    Department,
    Enrollment,
    ExamTaker,
    Institution,
    Section,
)


@pytest.fixture
def course(institution_a) -> Course:
    return Course.objects.create(
        institution=institution_a, department=institution_a.departments.get(), course_id="LAW-101", name="Contracts"
    )


def _raises_integrity(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_department_names_are_unique_per_institution(institution_a, institution_b):
    _raises_integrity(lambda: Department.objects.create(institution=institution_a, name="Law"))
    Department.objects.create(institution=institution_b, name="Law")


def test_course_ids_are_unique_per_institution_but_not_across(institution_a, institution_b, course):
    _raises_integrity(
        lambda: Course.objects.create(
            institution=institution_a, department=course.department, course_id="LAW-101", name="Copy"
        )
    )
    Course.objects.create(
        institution=institution_b, department=institution_b.departments.get(), course_id="LAW-101", name="Other"
    )


def test_a_course_cannot_end_before_it_starts(institution_a):
    _raises_integrity(
        lambda: Course.objects.create(
            institution=institution_a,
            department=institution_a.departments.get(),
            course_id="X",
            name="X",
            start_date=dt.date(2026, 9, 1),
            end_date=dt.date(2026, 8, 1),
        )
    )


def test_one_canvas_course_maps_to_one_portal_course(institution_a, course):
    course.lms_id = 501
    course.save()
    _raises_integrity(
        lambda: Course.objects.create(
            institution=institution_a, department=course.department, course_id="OTHER", name="x", lms_id=501
        )
    )


def test_student_ids_are_unique_per_institution(institution_a, institution_b):
    ExamTaker.objects.create(institution=institution_a, student_id="S1")
    _raises_integrity(lambda: ExamTaker.objects.create(institution=institution_a, student_id="S1"))
    ExamTaker.objects.create(institution=institution_b, student_id="S1")


def test_course_admin_ids_are_unique_per_institution(institution_a):
    CourseAdmin.objects.create(institution=institution_a, admin_id="T1")
    _raises_integrity(lambda: CourseAdmin.objects.create(institution=institution_a, admin_id="T1"))


def test_an_exam_taker_is_enrolled_once_per_course_and_once_per_section(course):
    taker = ExamTaker.objects.create(institution=course.institution, student_id="S1")
    section = Section.objects.create(course=course, section_id="A", name="Section A")
    Enrollment.objects.create(course=course, exam_taker=taker)
    _raises_integrity(lambda: Enrollment.objects.create(course=course, exam_taker=taker))
    Enrollment.objects.create(course=course, section=section, exam_taker=taker)
    _raises_integrity(lambda: Enrollment.objects.create(course=course, section=section, exam_taker=taker))


def test_a_course_admin_is_enrolled_once_per_course(course):
    admin = CourseAdmin.objects.create(institution=course.institution, admin_id="T1")
    CourseAdminEnrollment.objects.create(course=course, course_admin=admin)
    _raises_integrity(lambda: CourseAdminEnrollment.objects.create(course=course, course_admin=admin))


def test_sync_hour_must_be_an_hour_of_the_day(db):
    _raises_integrity(lambda: Institution.objects.create(name="X", slug="x", nightly_sync_hour=24))


def test_admin_emails_include_admins_and_extra_addresses(institution_a, admin_a):
    institution_a.notification_emails = "registrar@alpha.test\n\n alice@alpha.test "
    assert institution_a.admin_emails() == ["alice@alpha.test", "registrar@alpha.test"]
