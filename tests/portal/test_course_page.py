"""A course's page: its course admins and exam-takers, with each one's email where the portal has it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import Course, CourseAdmin, CourseAdminEnrollment, Enrollment, ExamTaker

NO_EMAILS = "No email addresses yet"


@pytest.fixture
def course_a(institution_a) -> Course:
    return Course.objects.create(
        institution=institution_a, department=institution_a.departments.get(), course_id="LAW-101", name="Contracts"
    )


def enrol(course: Course, student_id: str, email: str = "") -> None:
    person = ExamTaker.objects.create(
        institution=course.institution, student_id=student_id, first_name="Ada", last_name=student_id, email=email
    )
    Enrollment.objects.create(course=course, exam_taker=person)


def enrol_admin(course: Course, admin_id: str, email: str = "") -> None:
    person = CourseAdmin.objects.create(institution=course.institution, admin_id=admin_id, email=email)
    CourseAdminEnrollment.objects.create(course=course, course_admin=person)


def cells(body: str, table_label: str) -> str:
    """The table of that region, so one table's columns are not read from another's."""
    start = body.index(f'aria-label="{table_label}"')
    return body[start : body.index("</table>", start)]


def test_it_shows_each_email_and_a_dash_for_people_without_one(client_a, course_a):
    enrol(course_a, "S0001", "ada@demo.edu")
    enrol(course_a, "S0002")
    enrol_admin(course_a, "E0001", "ghopper@demo.edu")

    body = client_a.get(reverse("course", args=[course_a.id])).content.decode()

    takers = cells(body, "Exam-takers")
    assert ">Email</th>" in takers and "ada@demo.edu" in takers
    assert '<td data-label="Email">—</td>' in takers  # S0002 has none
    assert "ghopper@demo.edu" in cells(body, "Course admins")
    assert NO_EMAILS not in body


def test_it_leaves_out_an_email_column_no_one_has_and_says_why(client_a, course_a):
    enrol(course_a, "S0001")
    enrol_admin(course_a, "E0001", "ghopper@demo.edu")

    body = client_a.get(reverse("course", args=[course_a.id])).content.decode()

    takers = cells(body, "Exam-takers")
    assert ">Email</th>" not in takers and 'data-label="Email"' not in takers
    assert body.count(NO_EMAILS) == 1  # under the exam-takers only: the course admin has one
    assert ">Email</th>" in cells(body, "Course admins")
