"""Canvas JSON becomes typed values once, in lms_canvas.objects: what Canvas omits or sends as null."""

from __future__ import annotations

from lms_canvas.objects import (
    Account,
    Assignment,
    Course,
    CourseUser,
    Enrollment,
    HelpLinks,
    ProbeResult,
    Role,
    Section,
    Submission,
    User,
)


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


def test_an_account_without_a_name_or_parent_is_a_root_with_empty_text():
    account = Account.from_json({"id": 1, "name": None, "root_account_id": None})

    assert (account.id, account.name, account.workflow_state) == (1, "", "")
    assert account.parent_account_id is None and account.root_account_id is None


def test_a_sub_account_names_its_parent_and_root():
    account = Account.from_json({"id": 7, "name": "Law", "parent_account_id": 3, "root_account_id": 1})

    assert (account.parent_account_id, account.root_account_id) == (3, 1)


def test_a_sub_accounts_empty_help_links_have_no_name_and_no_links():
    help_links = HelpLinks.from_json({})

    assert (help_links.name, help_links.icon, help_links.custom_links, help_links.default_links) == ("", "", (), ())


def test_help_links_missing_fields_are_empty_text():
    help_links = HelpLinks.from_json(
        {"help_link_name": "Help", "custom_help_links": [{"text": "Policies"}], "default_help_links": None}
    )

    (link,) = help_links.custom_links
    assert (link.id, link.text, link.url, link.type) == ("", "Policies", "", "")
    assert help_links.default_links == ()


def test_a_course_users_enrollments_name_that_user():
    assert CourseUser.from_json({"id": 101}).enrollments == ()
    ada = CourseUser.from_json({"id": 101, "name": "Ada", "enrollments": [{"id": 3, "user_id": 101, "role": None}]})

    (enrollment,) = ada.enrollments
    assert enrollment.user is ada.user and (enrollment.role, enrollment.enrollment_state) == ("", "active")


def test_a_probe_tells_includes_only_when_it_asked_and_found_an_item():
    assert ProbeResult.from_page([]) == ProbeResult.from_page([], ("term",)) == ProbeResult(None, None)
    assert ProbeResult.from_page([{"id": 5}]) == ProbeResult(5, None)
    assert ProbeResult.from_page([{"id": 5, "term": None}], ("term",)) == ProbeResult(5, True)
    assert ProbeResult.from_page([{"id": 5}], ("term",)) == ProbeResult(5, False)
