"""Issue 16 items 3 and 4, against the simulator: Canvas answering 200 without what was asked for.

Allow Include Parameters switched off on the key mid-life drops every include[] in silence; a role
without "SIS Data - read" (or "Users - view login IDs") makes Canvas leave the SIS ids (or logins)
out. Each run says so once, naming the fix, on the run, LMS Settings' status card and the nightly
email; nothing synced or refreshed before is lost for lack of the data."""

from __future__ import annotations

import pytest
from django.core import mail

from lms_canvas import visibility
from lms_canvas.models import CanvasConfig, StudentIdType
from lms_canvas.simulator.testing import DEMO_KEY_ID
from portal.models import Enrollment, ExamTaker
from sync.catalog import refresh
from sync.models import CatalogCourse, CatalogSection, CourseResultStatus, RunKind, RunStatus, RunTrigger, SyncIssue
from sync.runs import lifecycle
from sync.runs.readable import issue_fix
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.django_db
KEY = f"keys/{DEMO_KEY_ID}"
WHERE = "Admin > Developer Keys"


@pytest.fixture
def synced(connected, sim, institution_a):
    """Contracts I (501) and History of Science (502, by Canvas id) synced once with Canvas as it should be."""
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    config = CanvasConfig.objects.get(institution=institution_a)
    first = sync(institution_a)
    assert first.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), first.message
    assert Enrollment.objects.filter(status="active").exists()
    return config


def active_enrollments() -> set:
    return set(Enrollment.objects.filter(status="active").values_list("exam_taker__student_id", "course__course_id"))


def run_level(run, code: str) -> list[SyncIssue]:
    return list(run.issues.filter(code=code, object_type="run"))


def capability(connected, name: str) -> dict:
    connected.refresh_from_db()
    return connected.capabilities[name]


# --- include parameters switched off -------------------------------------------------------------


def test_includes_switched_off_mid_life_are_named_by_the_sync_run_and_lms_settings(synced, connected, sim):
    before = active_enrollments()
    sim.control(KEY, {"allow_includes": False})

    run = sync(connected.institution)

    issues = run_level(run, "includes_off")
    assert (
        len(issues) == 1
        and issues[0].message.startswith("Canvas left out ")
        and "the course terms" in issues[0].message
        and "the email addresses" in issues[0].message  # the course page's emails come on the same listing
        and "include[]" not in issues[0].message
    )
    assert "Allow Include Parameters" in issue_fix(issues[0]) and WHERE in issue_fix(issues[0])
    assert run.status == RunStatus.WITH_ISSUES and "Allow Include Parameters" in run.message
    assert active_enrollments() == before  # nothing deactivated for lack of included data
    card = capability(connected, visibility.INCLUDES)
    assert not card["ok"] and "Allow Include Parameters" in card["fix"]


def test_includes_back_on_clear_the_status_card(synced, connected, sim):
    sim.control(KEY, {"allow_includes": False})
    sync(connected.institution)
    sim.control(KEY, {"allow_includes": True})

    run = sync(connected.institution)

    assert run_level(run, "includes_off") == []
    assert capability(connected, visibility.INCLUDES)["ok"]


def test_emails_dropped_fail_the_course_with_one_run_level_reason_and_keep_the_roster(synced, connected, sim):
    synced.student_id_type = StudentIdType.EMAIL
    synced.save()
    sync(connected.institution)
    before = active_enrollments()
    assert before
    sim.control(KEY, {"allow_includes": False})

    run = sync(connected.institution)

    result = run.course_results.get()
    assert result.status == CourseResultStatus.FAILED and "Allow Include Parameters" in result.message
    # once, for the run, no per-course copy
    assert [(i.code, i.object_type) for i in run.issues.all()] == [("includes_off", "run")]
    assert active_enrollments() == before


def test_a_nightly_sync_with_includes_off_emails_the_admins_naming_the_checkbox(synced, connected, sim, admin_a):
    sim.control(KEY, {"allow_includes": False})
    mail.outbox.clear()

    sync(connected.institution, trigger=RunTrigger.NIGHTLY)

    [message] = [m for m in mail.outbox if "Canvas left data out" in m.subject]
    assert "Allow Include Parameters" in message.body and WHERE in message.body


def test_refresh_with_includes_off_keeps_terms_and_counts_and_says_why(connected, sim):
    first = refresh.run_refresh(lifecycle.create_run(connected.institution, RunKind.REFRESH).id)
    assert first.status == RunStatus.SUCCEEDED, first.message
    before = {c.canvas_id: (c.term_name, c.total_students) for c in CatalogCourse.objects.all()}
    assert before[501] == ("Fall 2026", 4)
    sim.control(KEY, {"allow_includes": False})

    run = refresh.run_refresh(lifecycle.create_run(connected.institution, RunKind.REFRESH).id)

    assert run.status == RunStatus.WITH_ISSUES and "Allow Include Parameters" in run.message
    assert {c.canvas_id: (c.term_name, c.total_students) for c in CatalogCourse.objects.all()} == before
    assert len(run_level(run, "includes_off")) == 1
    assert not capability(connected, visibility.INCLUDES)["ok"]


def test_one_course_refresh_with_includes_off_keeps_the_term_and_count(connected, sim):
    refresh.run_course_refresh(refresh.start_course_refresh(connected.institution, "501").id)
    sim.control(KEY, {"allow_includes": False})

    run = refresh.run_course_refresh(refresh.start_course_refresh(connected.institution, "501").id)

    course = CatalogCourse.objects.get(canvas_id=501)
    assert (course.term_name, course.total_students) == ("Fall 2026", 4)
    assert run.status == RunStatus.WITH_ISSUES and "Allow Include Parameters" in run.message


# --- SIS ids hidden by the authorizing user's role -----------------------------------------------


def hide_sis(sim, **rights) -> None:
    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False, **rights})


def test_hidden_sis_ids_are_one_run_level_reason_not_an_issue_per_record(synced, connected, sim):
    before = active_enrollments()
    hide_sis(sim)

    run = sync(connected.institution)

    assert [i.code for i in run.issues.all() if i.code in ("no_person_id", "no_course_id", "no_section_id")] == []
    issues = run_level(run, "sis_hidden")
    assert len(issues) == 1 and "SIS Data - read" in issue_fix(issues[0])
    result = run.course_results.get()
    assert result.status == CourseResultStatus.FAILED and "authorized" in result.message
    assert "Canvas hides the SIS IDs" in run.message
    assert active_enrollments() == before
    card = capability(connected, visibility.SIS)
    assert not card["ok"] and "SIS Data - read" in card["message"]


def test_hidden_sis_ids_block_a_course_synced_by_canvas_id_without_blaming_its_people(synced, connected, sim):
    synced.course_id_type = "canvas"
    synced.section_id_type = "canvas"
    synced.save()
    sync(connected.institution)
    takers = ExamTaker.objects.count()
    hide_sis(sim)

    run = sync(connected.institution)

    assert run.issues.filter(code="no_person_id").count() == 0
    assert len(run_level(run, "sis_hidden")) == 1
    assert ExamTaker.objects.count() == takers and active_enrollments()


def test_hidden_logins_are_named_when_the_student_id_is_the_login(synced, connected, sim):
    synced.student_id_type = StudentIdType.LOGIN
    synced.save()
    sync(connected.institution)
    before = active_enrollments()
    sim.control("permissions", {"user_id": 1, "view_user_logins": False})

    run = sync(connected.institution)

    assert run.issues.filter(code="no_person_id").count() == 0
    assert len(run_level(run, "sis_hidden")) == 1
    assert active_enrollments() == before
    assert "logins" in capability(connected, visibility.SIS)["message"]


def test_a_nightly_sync_with_sis_ids_hidden_emails_the_admins_the_permission_to_give(synced, connected, sim, admin_a):
    hide_sis(sim)
    mail.outbox.clear()

    run = sync(connected.institution, trigger=RunTrigger.NIGHTLY)

    assert run.status == RunStatus.FAILED  # its one course needs the SIS ids: not synced, nothing changed
    [message] = [m for m in mail.outbox if "Nightly sync failed" in m.subject]
    assert "SIS IDs hidden by the authorizing user's Canvas role" in message.body
    assert "“SIS Data - read”" in message.body and "Generate Key" in message.body


def test_hidden_logins_do_not_make_blank_sis_ids_read_as_hidden(synced, connected, sim):
    """Only logins hidden: a course with no SIS ID in Canvas is still said to have none there."""
    from sync.catalog.search import course_reason

    synced.student_id_type = StudentIdType.LOGIN
    synced.save()
    sim.control("permissions", {"user_id": 1, "view_user_logins": False})

    sync(connected.institution)

    card = capability(connected, visibility.SIS)
    assert not card["ok"] and "logins" in card["message"] and "SIS IDs" not in card["message"]
    blank = course_reason(CatalogCourse.objects.get(canvas_id=502), CanvasConfig.objects.get(pk=synced.pk))
    assert blank is not None and blank.code == "no_course_id"


def test_sis_ids_shown_again_clear_the_status_card(synced, connected, sim):
    hide_sis(sim)
    sync(connected.institution)
    hide_sis(sim, read_sis=True)

    run = sync(connected.institution)

    assert run_level(run, "sis_hidden") == []
    assert capability(connected, visibility.SIS)["ok"]


def test_refresh_with_sis_hidden_keeps_the_catalogues_sis_ids(connected, sim):
    refresh.run_refresh(lifecycle.create_run(connected.institution, RunKind.REFRESH).id)
    courses = dict(CatalogCourse.objects.values_list("canvas_id", "sis_course_id"))
    sections = dict(CatalogSection.objects.values_list("canvas_id", "sis_section_id"))
    assert courses[501] == "LAW-101-F26"
    hide_sis(sim)

    run = refresh.run_refresh(lifecycle.create_run(connected.institution, RunKind.REFRESH).id)

    assert dict(CatalogCourse.objects.values_list("canvas_id", "sis_course_id")) == courses
    assert dict(CatalogSection.objects.values_list("canvas_id", "sis_section_id")) == sections
    assert run.status == RunStatus.WITH_ISSUES and "Canvas hides the SIS IDs" in run.message
    assert len(run_level(run, "sis_hidden")) == 1
