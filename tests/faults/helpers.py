"""The fault matrix's yardsticks: the portal's records per course, keyed by Canvas ids, compared with
a clean sync of the same courses into a second institution (the simulator's truth), and the checks
that nothing was duplicated, lost or left half-written."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass

from lms_canvas.simulator.testing import RunningSimulator
from portal.models import Course, CourseAdminEnrollment, Enrollment, ExamTaker, Institution, Section
from sync.catalog import refresh
from sync.models import CatalogCourse, CatalogSection, CourseResultStatus, RunKind, RunStatus, SyncRun
from sync.runs import lifecycle
from tests.conftest import connect_to
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

FINAL = {RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SKIPPED}
CourseRecords = dict[str, frozenset]


def course_ids(sim: RunningSimulator) -> list[int]:
    return sorted(sim.store.tables["courses"])


def put_on_sync_list(institution: Institution, sim: RunningSimulator, ids: list[int]) -> None:
    if not CatalogCourse.objects.filter(institution=institution).exists():
        catalog_from_sim(institution, sim)
    for canvas_id in ids:
        add_entry(institution, canvas_id)


def records(institution: Institution) -> dict[int, CourseRecords]:
    """Everything the sync wrote for each course, by Canvas ids (not portal pks), so two
    institutions synced from one Canvas compare equal."""
    out: dict[int, CourseRecords] = {}
    for course in Course.objects.filter(institution=institution):
        out[course.lms_id] = {
            "course": frozenset([(course.course_id, course.name, course.start_date, course.end_date)]),
            "sections": frozenset(Section.objects.filter(course=course).values_list("lms_id", "section_id", "name")),
            "enrollments": frozenset(
                Enrollment.objects.filter(course=course).values_list(
                    "section__lms_id", "exam_taker__lms_id", "exam_taker__student_id", "status"
                )
            ),
            "admins": frozenset(
                CourseAdminEnrollment.objects.filter(course=course).values_list(
                    "course_admin__lms_id", "course_admin__admin_id", "status"
                )
            ),
        }
    return out


def people(institution: Institution) -> frozenset:
    return frozenset(
        ExamTaker.objects.filter(institution=institution).values_list(
            "lms_id", "student_id", "first_name", "last_name", "email", "active"
        )
    )


def assert_no_duplicates(institution: Institution) -> None:
    """The unique constraints hold, and no Canvas object landed twice under another portal id."""
    for name, ids in {
        "course": Course.objects.filter(institution=institution).values_list("lms_id", flat=True),
        "section": Section.objects.filter(course__institution=institution).values_list("lms_id", flat=True),
        "exam-taker": ExamTaker.objects.filter(institution=institution).values_list("lms_id", flat=True),
    }.items():
        dupes = [k for k, n in Counter(ids).items() if n > 1]
        assert not dupes, f"{name} Canvas ids stored twice: {dupes}"
    pairs = Enrollment.objects.filter(course__institution=institution).values_list(
        "course_id", "section_id", "exam_taker_id"
    )
    dupes = [k for k, n in Counter(pairs).items() if n > 1]
    assert not dupes, f"enrollments stored twice: {dupes}"


@dataclass(frozen=True)
class Truth:
    """The simulator's data as a clean sync stores it (institution B, no fault), to compare against,
    and the status that clean sync ended with."""

    courses: dict[int, CourseRecords]
    people: frozenset
    status: str


_truths: dict[tuple[str, tuple[int, ...]], Truth] = {}


def truth(institution_b: Institution, sim: RunningSimulator, ids: list[int]) -> Truth:
    """A clean sync of `ids` into institution B, made once per Canvas state in this process: most fault
    tests end on the same generated account, and each clean sync of it cost a quarter of their time. Any
    change a test makes to the simulator's data (a mutation, a key's scopes) gives a new key."""
    key = (_state_of(sim), tuple(ids))
    if key not in _truths:
        connect_to(institution_b, sim)
        put_on_sync_list(institution_b, sim, ids)
        run = sync(institution_b)
        assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
        assert not run.course_results.filter(status=CourseResultStatus.FAILED).exists(), run.message
        _truths[key] = Truth(records(institution_b), people(institution_b), run.status)
    return _truths[key]


def _state_of(sim: RunningSimulator) -> str:
    """A digest of everything the simulator answers from: its tables, the courses whose generated rosters
    were changed, its settings, and the generator's parameters (its rosters are made from them)."""
    store = sim.store
    rosters = store.roster_source
    state = {
        "tables": store.tables,
        "root": store.root_account,
        "settings": store.settings,
        "materialized": sorted(store.materialized),
        "deleted": sorted(store.deleted_lazy_users),
        "rosters": None
        if rosters is None
        else [
            type(rosters).__name__,
            getattr(rosters, "seed", None),
            getattr(rosters, "staff", None),
            getattr(rosters, "students", None),
        ],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=repr).encode()).hexdigest()


def assert_run_truthful(run: SyncRun, before: dict[int, CourseRecords], expected: Truth) -> None:
    """No run left active; every applied course is exactly Canvas; every course that did not apply
    is exactly as it was before the run (nothing half-written, nothing lost); failures say why and
    what to do; 'succeeded' only when every course applied."""
    run.refresh_from_db()
    assert run.status in FINAL, f"run left {run.status}: {run.message}"
    assert run.finished_at is not None
    assert run.message
    after = records(run.institution)
    results = list(run.course_results.all())
    assert not [r for r in results if r.status in (CourseResultStatus.PENDING, CourseResultStatus.RUNNING)]
    applied = {r.canvas_course_id for r in results if r.status == CourseResultStatus.APPLIED}
    for r in results:
        cid = r.canvas_course_id
        if r.status == CourseResultStatus.APPLIED:
            assert after.get(cid) == expected.courses.get(cid), f"course {cid} applied but differs from Canvas"
        else:
            assert after.get(cid) == before.get(cid), f"course {cid} {r.status} but its records changed"
        if r.status == CourseResultStatus.FAILED:
            assert "What to do" in r.message, r.message
    failed = [r for r in results if r.status == CourseResultStatus.FAILED]
    if failed:
        assert run.status in (RunStatus.WITH_ISSUES, RunStatus.FAILED), run.message
        named = set(run.issues.filter(object_type="course").values_list("canvas_course_id", flat=True))
        unnamed = [r.canvas_course_id for r in failed if r.canvas_course_id not in named]
        if unnamed:  # only the reaper closes a course without an issue of its own; the run's message says why
            assert run.status == RunStatus.FAILED and "stopped before the end" in run.message, (unnamed, run.message)
    if run.status == RunStatus.SUCCEEDED:
        assert applied == {r.canvas_course_id for r in results}
    assert_no_duplicates(run.institution)


def assert_converged(institution: Institution, expected: Truth) -> SyncRun:
    """A clean re-run leaves the portal equal to Canvas, with the same outcome as a clean sync."""
    run = sync(institution)
    assert run.status == expected.status, run.message
    assert not run.course_results.filter(status=CourseResultStatus.FAILED).exists(), run.message
    assert records(institution) == expected.courses
    assert people(institution) == expected.people
    assert_no_duplicates(institution)
    return run


# --- the catalogue (Refresh Courses) -----------------------------------------------------------


def start_refresh_run(institution: Institution) -> SyncRun:
    run = lifecycle.create_run(institution, RunKind.REFRESH)
    return refresh.run_refresh(run.id)


def catalogue(institution: Institution) -> tuple[frozenset, frozenset]:
    courses = frozenset(
        CatalogCourse.objects.filter(institution=institution, gone_at__isnull=True).values_list(
            "canvas_id", "name", "sis_course_id", "workflow_state"
        )
    )
    sections = frozenset(
        CatalogSection.objects.filter(institution=institution, gone_at__isnull=True).values_list(
            "canvas_id", "course__canvas_id", "name", "sis_section_id"
        )
    )
    return courses, sections


def sim_catalogue(sim: RunningSimulator) -> tuple[frozenset, frozenset]:
    """What Canvas lists: every course (deleted too) and the sections of every course not deleted."""
    courses = sim.store.tables["courses"]
    return (
        frozenset(
            (c["id"], c["name"], c.get("sis_course_id") or "", c.get("workflow_state") or "") for c in courses.values()
        ),
        frozenset(
            (s["id"], s["course_id"], s["name"], s.get("sis_section_id") or "")
            for s in sim.store.tables["sections"].values()
            if courses[s["course_id"]].get("workflow_state") != "deleted"
        ),
    )
