"""Canvas JSON becomes typed values once, in lms_canvas.objects: what Canvas omits or sends as null."""

from __future__ import annotations

from lms_canvas.objects import Assignment, Course, Enrollment, Role, Section, Submission, User


def test_a_course_with_nulls_and_no_term_is_empty_text_not_none():
    course = Course.from_json({"id": 5, "name": None, "sis_course_id": None, "workflow_state": "available"})

    assert (course.id, course.name, course.sis_course_id, course.course_code) == (5, "", "", "")
    assert course.term is None and course.total_students is None


def test_a_course_keeps_its_term_and_dates_as_canvas_wrote_them():
    course = Course.from_json(
        {"id": 5, "start_at": "2026-08-24T00:00:00Z", "term": {"name": "Fall", "end_at": "2026-12-18T00:00:00Z"}}
    )

    assert course.start_at == "2026-08-24T00:00:00Z" and course.end_at is None
    assert (course.term.name, course.term.start_at, course.term.end_at) == ("Fall", None, "2026-12-18T00:00:00Z")


def test_a_section_may_be_cross_listed():
    section = Section.from_json({"id": 8, "course_id": 5, "name": "A", "nonxlist_course_id": 4})

    assert (section.course_id, section.nonxlist_course_id, section.sis_section_id) == (5, 4, "")


def test_an_email_canvas_left_out_is_none_and_a_null_one_is_empty():
    assert User.from_json({"id": 1}).email is None
    assert User.from_json({"id": 1, "email": None}).email == ""


def test_an_enrollment_without_its_user_still_names_the_user():
    enrollment = Enrollment.from_json({"id": 3, "user_id": 101, "role_id": 7})

    assert enrollment.user.id == enrollment.user_id == 101
    assert enrollment.enrollment_state == "active" and enrollment.user.email is None


def test_a_role_without_a_label_is_named_by_its_role():
    assert Role.from_json({"id": 2, "role": "Auditor", "base_role_type": "StudentEnrollment"}).label == "Auditor"


def test_an_ungraded_submission_has_no_score_and_an_empty_grade():
    submission = Submission.from_json({"user_id": 101, "score": None, "grade": None})

    assert (submission.score, submission.grade, submission.excused) == (None, "", False)


def test_an_assignment_without_an_integration_id_or_link_is_empty_text():
    assignment = Assignment.from_json({"id": 9, "name": "Final", "integration_id": None})

    assert (assignment.integration_id, assignment.html_url, assignment.workflow_state) == ("", "", "")
