"""A finished sync with many issues, written straight to the database: people left out of many
courses for several reasons, course-level failures, ended entries, and rows written before the engine
stopped storing exception names (an "Unexpected error (IntegrityError)" result, its detail)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sync.engine.plan import Exclusion
from sync.models import CatalogCourse, CourseResultStatus, RunKind, RunStatus, SyncCourseResult, SyncRun
from sync.runs import issues
from sync.runs.lifecycle import create_run
from sync.runs.reasons import reason

PERSON_REASONS = [
    "pending_invitation",
    "no_person_id",
    "inactive_enrollment",
    "role_not_chosen",
    "completed_enrollment",
]
FIRST_COURSE = 9000
OLD_INTERNAL_DETAIL = "IntegrityError: UNIQUE constraint failed: portal_course.course_id"


def course_name(n: int) -> str:
    return f"Catalogue course {n}"


def run_with_many_issues(institution, *, courses: int = 12, people: int = 40) -> SyncRun:
    """`courses` synced courses, each leaving out `people` people (reasons in turn; every person id in
    every course, so one person is left out of many courses), then the odd course-level rows."""
    run = create_run(institution, RunKind.SYNC, params={"preview": False})
    for n in range(courses):
        canvas_id = FIRST_COURSE + n
        CatalogCourse.objects.create(
            institution=institution,
            canvas_id=canvas_id,
            name=course_name(n),
            course_code=f"CAT-{n:03}",
            workflow_state="available",
        )
        SyncCourseResult.objects.create(
            run=run,
            canvas_course_id=canvas_id,
            label=course_name(n),
            status=CourseResultStatus.APPLIED,
            counts={"created": 30, "updated": 2, "deactivated": 1, "unchanged": 5, "skipped": people},
        )
        left_out = [
            Exclusion(PERSON_REASONS[p % len(PERSON_REASONS)], "enrollment", 100 + p, f"Person {p} (p{p}@example.edu)")
            for p in range(people)
        ]
        issues.track_course(run, canvas_id, None, left_out)
    failed = FIRST_COURSE + courses
    CatalogCourse.objects.create(
        institution=institution, canvas_id=failed, name="Broken Course", workflow_state="available"
    )
    SyncCourseResult.objects.create(
        run=run,
        canvas_course_id=failed,
        label="Broken Course",
        status=CourseResultStatus.FAILED,
        message="Unexpected error (IntegrityError); nothing in this course was changed.",
    )
    issues.record(
        run.id,
        "internal_error",
        object_type="course",
        canvas_id=failed,
        canvas_course_id=failed,
        label="Broken Course",
        detail=OLD_INTERNAL_DETAIL,
    )
    issues.record(
        run.id,
        "canvas_error",
        object_type="course",
        canvas_id=failed + 1,
        canvas_course_id=failed + 1,
        label="Slow Course",
        message="Canvas timed out on GET /api/v1/courses/9013/enrollments: ReadTimeout.",
        fix="Try again later.",
    )
    for n in range(3):
        issues.record(run.id, "entry_ended", detail=f"Old Course {n} ended on 2025-12-1{n}.")
    started = timezone.now() - dt.timedelta(minutes=5)
    SyncRun.objects.filter(id=run.id).update(
        status=RunStatus.WITH_ISSUES,
        started_at=started,
        finished_at=started + dt.timedelta(minutes=2),
        message="Finished with issues: " + reason("internal_error").title.lower() + " in 1 course.",
        counts={"created": 360, "updated": 24, "skipped": courses * people},
        total=courses + 1,
    )
    run.refresh_from_db()
    return run
