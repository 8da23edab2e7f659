"""A View History to search: runs that touched Contracts I, Torts II (Ada Lovelace's course) and José García."""

from __future__ import annotations

import datetime as dt

from portal.models import Course, Department, Enrollment, ExamTaker
from sync.models import CatalogCourse, RunKind, SyncCourseResult, SyncIssue, SyncRun

UTC = dt.UTC


def _run(institution, *, kind=RunKind.SYNC, at=None, issues=0, **fields) -> SyncRun:
    run = SyncRun.objects.create(institution=institution, kind=kind, status="succeeded", **fields)
    for n in range(issues):
        SyncIssue.objects.create(run=run, code="pending_invitation", object_type="person", label=f"P{n}", message="m")
    if at is not None:
        SyncRun.objects.filter(id=run.id).update(created_at=at)
    return run


def make_history(institution_a, institution_b=None) -> dict[str, SyncRun]:
    """Contracts I (Canvas 501) synced in one run and named by a grade post's issue; Torts II (502), where
    Ada Lovelace is enrolled, in another; José García (Canvas user 104) an issue of a third. Beta College
    has a run of its own Contracts I (the same Canvas id on its own Canvas)."""
    CatalogCourse.objects.create(
        institution=institution_a, canvas_id=501, name="Contracts I", course_code="LAW-101", sis_course_id="LAW-101-F26"
    )
    law = Department.objects.get(institution=institution_a)
    torts = Course.objects.create(
        institution=institution_a, department=law, course_id="LAW-202", name="Torts II", lms_id=502
    )
    ada = ExamTaker.objects.create(
        institution=institution_a,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@alpha.test",
        student_id="S0001",
        lms_id=9001,
    )
    Enrollment.objects.create(course=torts, exam_taker=ada)

    contracts = _run(
        institution_a, at=dt.datetime(2026, 11, 2, 3, 0, tzinfo=UTC), issues=3
    )  # Nov 1, 10 p.m. in New York
    SyncCourseResult.objects.create(run=contracts, canvas_course_id=501, label="Contracts I")
    torts_run = _run(institution_a, at=dt.datetime(2026, 11, 3, 15, 0, tzinfo=UTC))
    SyncCourseResult.objects.create(run=torts_run, canvas_course_id=502, label="Torts II")
    jose = _run(institution_a, at=dt.datetime(2026, 11, 4, 15, 0, tzinfo=UTC), issues=1)
    SyncIssue.objects.create(
        run=jose, code="pending_invitation", object_type="person", canvas_id=104, label="José García", message="m"
    )
    post = _run(institution_a, kind=RunKind.GRADE_POST, at=dt.datetime(2026, 11, 5, 15, 0, tzinfo=UTC))
    SyncIssue.objects.create(
        run=post, code="score_refused", object_type="course", canvas_course_id=501, label="x", message="m"
    )

    runs = {"contracts": contracts, "torts": torts_run, "jose": jose, "post": post}
    if institution_b is None:
        return runs
    CatalogCourse.objects.create(institution=institution_b, canvas_id=501, name="Contracts I")
    beta = _run(institution_b)
    SyncCourseResult.objects.create(run=beta, canvas_course_id=501, label="Contracts I")
    return {**runs, "beta": beta}
