"""The engine against the simulator: every exclusion reason, roster changes, re-labelling, idempotence."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms_canvas.models import CanvasConfig
from portal.models import Course, CourseAdmin, Enrollment, ExamTaker, Section
from sync.models import CourseResultStatus, RunStatus
from sync.runs.readable import issue_fix, issue_text
from sync.runs.reasons import REASONS
from tests.sync.engine_helpers import add_entry, catalog_from_sim, issue_codes, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def contracts(connected, sim, institution_a):
    """Contracts I (Canvas 501) on the sync list of a Verified institution A."""
    catalog_from_sim(institution_a, sim)
    return add_entry(institution_a, 501)


def roster(course_lms_id: int = 501) -> set[tuple[str, str | None, str]]:
    return set(
        Enrollment.objects.filter(course__lms_id=course_lms_id).values_list(
            "exam_taker__student_id", "section__section_id", "status"
        )
    )


def test_it_syncs_course_sections_exam_takers_and_course_admins(contracts, institution_a):
    run = sync(institution_a)

    course = Course.objects.get(lms_id=501)
    assert (course.course_id, course.name, course.department.name) == ("LAW-101-F26", "Contracts I", "Law")
    assert list(Section.objects.filter(course=course).values_list("section_id", flat=True)) == ["LAW-101-F26-A"]
    assert roster() == {("S0001", "LAW-101-F26-A", "active"), ("S0002", "LAW-101-F26-A", "active")}
    assert set(CourseAdmin.objects.values_list("admin_id", flat=True)) == {"E0001", "E0002"}
    assert run.status == RunStatus.WITH_ISSUES
    assert run.counts["created"] == 10 and run.counts["skipped"] == 5


def test_every_exclusion_in_the_small_dataset_is_recorded_with_its_reason(contracts, institution_a):
    run = sync(institution_a)

    assert issue_codes(run) == {
        "no_section_id": {802},
        "pending_invitation": {104},
        "role_not_chosen": {103},
        "inactive_enrollment": {105},
        "completed_enrollment": {106},
        "test_student": {900},
    }
    for issue in run.issues.all():
        assert (
            issue_text(issue).startswith(REASONS[issue.code].sentence) and issue_fix(issue) == REASONS[issue.code].fix
        )


def test_people_without_a_value_for_the_student_id_type_are_not_synced(contracts, institution_a):
    CanvasConfig.objects.filter(institution=institution_a).update(student_role_ids=[3, 20])
    run = sync(institution_a)

    assert issue_codes(run)["no_person_id"] == {103}  # Zoë has no SIS id
    assert not ExamTaker.objects.filter(lms_id=103).exists()


def test_two_canvas_users_with_one_portal_id_are_both_skipped(contracts, institution_a, sim):
    sim.control("mutate", {"upsert": {"users": [{"id": 102, "sis_user_id": "S0001"}]}})
    run = sync(institution_a)

    assert issue_codes(run)["duplicate_person_id"] == {101, 102}
    assert not ExamTaker.objects.filter(student_id="S0001").exists()


@pytest.mark.parametrize(("state", "code"), [("unpublished", "course_unpublished"), ("deleted", "course_deleted")])
def test_a_course_unpublished_or_deleted_since_it_was_added_keeps_its_records(
    contracts, institution_a, sim, state, code
):
    sync(institution_a)
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "workflow_state": state}]}})
    run = sync(institution_a)

    assert issue_codes(run)[code] == {501}
    assert run.course_results.get().status == CourseResultStatus.SKIPPED
    assert roster() == {("S0001", "LAW-101-F26-A", "active"), ("S0002", "LAW-101-F26-A", "active")}


def test_a_course_without_the_course_id_type_value_is_not_created(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 502)  # History of Science has no SIS id
    run = sync(institution_a)

    assert issue_codes(run) == {"no_course_id": {502}}
    assert not Course.objects.exists()


def test_a_second_sync_with_no_change_writes_nothing(contracts, institution_a):
    sync(institution_a)
    with CaptureQueriesContext(connection) as queries:
        run = sync(institution_a)

    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE")) and '"portal_' in q["sql"].split("SET")[0].split("(")[0]
    ]
    assert writes == []
    assert (run.counts["created"], run.counts["updated"], run.counts["deactivated"]) == (0, 0, 0)
    assert run.counts["unchanged"] == 4


def test_roster_changes_between_syncs_are_applied(contracts, institution_a, sim):
    sync(institution_a)
    sim.control(
        "mutate",
        {
            "upsert": {
                "users": [{"id": 150, "name": "New Person", "sortable_name": "Person, New", "sis_user_id": "S0150"}],
                "enrollments": [
                    {"id": 9100, "user_id": 150, "course_id": 501, "course_section_id": 801, "type": "StudentEnrollment", "role_id": 3, "enrollment_state": "active"},
                    {"id": 9002, "course_section_id": 802},  # Seán moves to Section B (no SIS id)
                    {"id": 9008, "type": "StudentEnrollment", "role_id": 3},  # Alan: TA -> student
                ],
            },
            "delete": {"enrollments": [9001]},  # Ada dropped
        },
    )  # fmt: skip
    run = sync(institution_a)

    assert roster() == {
        ("S0001", "LAW-101-F26-A", "inactive"),
        ("S0002", "LAW-101-F26-A", "inactive"),
        ("S0002", None, "active"),
        ("S0150", "LAW-101-F26-A", "active"),
        ("E0002", None, "active"),
    }
    admins = dict(Course.objects.get(lms_id=501).admin_enrollments.values_list("course_admin__admin_id", "status"))
    assert admins == {"E0001": "active", "E0002": "inactive"}
    assert ExamTaker.objects.filter(lms_id=101).exists()  # deactivated, never deleted
    assert run.counts["deactivated"] == 3


def test_a_changed_sis_id_relabels_the_same_person(contracts, institution_a, sim):
    sync(institution_a)
    sim.control("mutate", {"upsert": {"users": [{"id": 101, "sis_user_id": "S9001"}]}})
    sync(institution_a)

    assert list(ExamTaker.objects.filter(lms_id=101).values_list("student_id", flat=True)) == ["S9001"]
    assert ExamTaker.objects.count() == 2


def test_changing_the_id_types_relabels_without_duplicates(contracts, institution_a):
    sync(institution_a)
    CanvasConfig.objects.filter(institution=institution_a).update(
        student_id_type="login", course_id_type="canvas", section_id_type="canvas"
    )
    run = sync(institution_a)

    assert list(Course.objects.values_list("course_id", flat=True)) == ["501"]
    assert set(ExamTaker.objects.values_list("student_id", flat=True)) == {"ada", "sobrien"}
    assert set(CourseAdmin.objects.values_list("admin_id", flat=True)) == {"ghopper", "aturing"}
    assert set(Section.objects.values_list("section_id", flat=True)) == {"801", "802"}
    assert Enrollment.objects.count() == 2 and run.counts["deactivated"] == 0
    assert run.counts["updated"] == 6  # the course, its section, two exam-takers, two course admins


def test_email_id_type_reads_emails_from_canvas(contracts, institution_a):
    CanvasConfig.objects.filter(institution=institution_a).update(student_id_type="email")
    run = sync(institution_a)

    assert set(ExamTaker.objects.values_list("student_id", flat=True)) == {"ada@demo.edu", "sobrien@demo.edu"}
    assert run.status == RunStatus.WITH_ISSUES


def test_people_get_their_canvas_email_whatever_the_student_id_type(contracts, institution_a):
    sync(institution_a)  # the default Student ID Type is the SIS id

    assert dict(ExamTaker.objects.values_list("student_id", "email")) == {
        "S0001": "ada@demo.edu",
        "S0002": "sobrien@demo.edu",
    }
    assert dict(CourseAdmin.objects.values_list("admin_id", "email")) == {
        "E0001": "ghopper@demo.edu",
        "E0002": "aturing@demo.edu",
    }


def test_a_single_section_entry_syncs_only_that_section(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    CanvasConfig.objects.filter(institution=institution_a).update(course_id_type="canvas")
    add_entry(institution_a, 502, section_id=804)
    sync(institution_a)

    assert set(ExamTaker.objects.values_list("student_id", flat=True)) == {"S0006"}
    assert list(Section.objects.values_list("section_id", flat=True)) == ["PHIL-202-F26-X"]


def test_a_canvas_failure_in_one_course_does_not_stop_the_others(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 505)
    sim.control("faults", {"error_rate": 1.0, "error_status": 404, "paths": "/courses/505/sections"})
    run = sync(institution_a)

    statuses = dict(run.course_results.values_list("canvas_course_id", "status"))
    assert statuses == {501: "applied", 505: "failed"}
    assert run.status == RunStatus.WITH_ISSUES
    assert "canvas_error" in issue_codes(run)


# Transactional: the reading thread that renews the token writes the connection from its own database
# connection, which a test's open transaction would lock out (on SQLite).
@pytest.mark.django_db(transaction=True)
def test_access_revoked_before_the_run_says_no_course_was_synced(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 505)
    sim.control("tokens/revoke")

    run = sync(institution_a)

    assert run.status == RunStatus.FAILED
    # It said "0 of 2 courses were synced before; the others were not changed".
    assert "None of the 2 courses was synced and nothing in the portal changed" in run.message, run.message
    assert "synced before" not in run.message and "Generate Key" in run.message


def test_preview_shows_the_changes_and_writes_nothing(contracts, institution_a):
    run = sync(institution_a, preview=True)

    details = run.course_results.get().details
    assert details["totals"]["added"] == 4
    assert "Ada Lovelace" in details["added"]
    assert {s["code"] for s in details["skipped"]} >= {"pending_invitation", "test_student"}
    assert not Course.objects.exists() and not ExamTaker.objects.exists()
    assert run.status == RunStatus.SUCCEEDED and "Nothing was written" in run.message


def test_a_role_not_chosen_is_named_as_configure_lists_it_in_canvas_words(contracts, institution_a):
    run = sync(institution_a)

    [issue] = run.issues.filter(code="role_not_chosen")
    assert issue.message.endswith("Canvas role: Auditor (based on Student)")  # not "StudentEnrollment"
