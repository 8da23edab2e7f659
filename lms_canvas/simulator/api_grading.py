"""Assignments, submissions (grade passback) and live assessment results."""

from __future__ import annotations

import math
import time
from typing import Any

from werkzeug.wrappers import Request

from .api import NOT_FOUND, ApiError, Ctx, Reply, find, find_course, reply_list
from .paging import page_url, per_page, ruby_to_i

LETTERS = (
    ("A", 94), ("A-", 90), ("B+", 87), ("B", 84), ("B-", 80), ("C+", 77),
    ("C", 74), ("C-", 70), ("D+", 67), ("D", 64), ("D-", 61), ("F", 0),
)  # fmt: skip
STUDENT_TYPES = ("StudentEnrollment", "StudentViewEnrollment")
# CANVAS_API.md §6: authenticated but not permitted (401 by default, no WWW-Authenticate). Canvas gives
# it for a grade PUT on an unpublished assignment: its submissions grant no :grade right.
UNAUTHORIZED = {"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]}


def iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def nested_params(request: Request, prefix: str) -> dict[str, Any]:
    """`prefix[key]` / `prefix[key][]` form fields, or the `prefix` object of a JSON body."""
    if request.is_json:
        body = request.get_json(silent=True) or {}
        value = body.get(prefix) if isinstance(body, dict) else None
        return value if isinstance(value, dict) else {}
    params: dict[str, Any] = {}
    for key in request.form:
        if not key.startswith(f"{prefix}[") or not key.endswith("]"):
            continue
        name = key[len(prefix) + 1 :]
        if name.endswith("][]"):
            params[name[:-3]] = request.form.getlist(key)
        else:
            params[name[:-1]] = request.form.get(key)
    return params


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


# -- assignments -------------------------------------------------------------------------------
def assignment_json(assignment: dict, host: str) -> dict[str, Any]:
    course_id = assignment["course_id"]
    return {
        "id": assignment["id"],
        "name": assignment.get("name"),
        "description": assignment.get("description"),
        "created_at": assignment.get("created_at"),
        "updated_at": assignment.get("updated_at", assignment.get("created_at")),
        "due_at": assignment.get("due_at"),
        "lock_at": assignment.get("lock_at"),
        "unlock_at": assignment.get("unlock_at"),
        "has_overrides": False,
        "course_id": course_id,
        "html_url": f"{host}/courses/{course_id}/assignments/{assignment['id']}",
        "assignment_group_id": assignment.get("assignment_group_id"),
        "points_possible": assignment.get("points_possible"),
        "grading_type": assignment.get("grading_type", "points"),
        "submission_types": assignment.get("submission_types", ["none"]),
        "published": bool(assignment.get("published")),
        "unpublishable": True,
        "position": assignment.get("position", 1),
        "integration_id": assignment.get("integration_id"),
        "integration_data": assignment.get("integration_data") or {},
        "sis_assignment_id": assignment.get("sis_assignment_id"),
        "grading_standard_id": None,
        "only_visible_to_overrides": False,
        "locked_for_user": False,
        "needs_grading_count": 0,
        "post_to_sis": bool(assignment.get("post_to_sis")),
        "omit_from_final_grade": bool(assignment.get("omit_from_final_grade")),
        "workflow_state": "published" if assignment.get("published") else "unpublished",
    }


def list_assignments(ctx: Ctx, course_id: str) -> Reply:
    course = find_course(ctx, course_id)
    rows = ctx.store.assignments_by_course.get(course["id"], [])
    items, headers = ctx.page(sorted(rows, key=lambda a: (a.get("position", 1), a["id"])), with_last=True)
    return reply_list([assignment_json(a, ctx.host) for a in items], headers)


def find_assignment(ctx: Ctx, course: dict, raw: str) -> dict:
    assignment = find(ctx, "assignments", raw)
    if assignment["course_id"] != course["id"] or assignment.get("workflow_state") == "deleted":
        raise ApiError(404, NOT_FOUND)
    return assignment


def get_assignment(ctx: Ctx, course_id: str, id: str) -> Reply:
    course = find_course(ctx, course_id)
    return Reply(assignment_json(find_assignment(ctx, course, id), ctx.host))


def create_assignment(ctx: Ctx, course_id: str) -> Reply:
    course = find_course(ctx, course_id)
    params = nested_params(ctx.request, "assignment")
    if not params.get("name"):
        raise ApiError(400, {"errors": {"name": [{"attribute": "name", "type": "blank", "message": "blank"}]}})
    store = ctx.store
    with store.lock:
        sis_id = params.get("sis_assignment_id")
        if sis_id and sis_id in store.sis_index["assignments"]["sis_assignment_id"]:
            raise ApiError(409, {"message": "Assignment with the given sis_source_id already exists"})
        row = _new_assignment(ctx, course, params)
        store.tables["assignments"][row["id"]] = row
        store.reindex(["assignments"])
    return Reply(assignment_json(row, ctx.host), status=201)


def _new_assignment(ctx: Ctx, course: dict, params: dict[str, Any]) -> dict[str, Any]:
    points = params.get("points_possible")
    types = params.get("submission_types") or ["none"]
    return {
        "id": ctx.store.next_id("assignments"),
        "course_id": course["id"],
        "name": params["name"],
        "description": params.get("description"),
        "points_possible": float(points) if points not in (None, "") else None,
        "grading_type": params.get("grading_type") or "points",
        "submission_types": types if isinstance(types, list) else [types],
        "due_at": params.get("due_at"),
        "lock_at": params.get("lock_at"),
        "unlock_at": params.get("unlock_at"),
        "published": _truthy(params.get("published")),
        "integration_id": params.get("integration_id"),
        "integration_data": params.get("integration_data"),
        "sis_assignment_id": params.get("sis_assignment_id"),
        "omit_from_final_grade": _truthy(params.get("omit_from_final_grade")),
        "position": len(ctx.store.assignments_by_course.get(course["id"], [])) + 1,
        "created_at": iso(ctx.now),
    }


# -- submissions -------------------------------------------------------------------------------
def _student(ctx: Ctx, course: dict, raw: str) -> dict:
    user = ctx.store.user(ctx.user_id) if raw == "self" else ctx.store.resolve("users", raw)
    enrolled = user is not None and any(
        e["user_id"] == user["id"] and e.get("type") in STUDENT_TYPES
        for e in ctx.store.course_enrollments(course["id"])
    )
    if not enrolled:
        raise ApiError(404, NOT_FOUND)
    return user


def submission_json(submission: dict, assignment: dict, host: str) -> dict[str, Any]:
    course_id, user_id = assignment["course_id"], submission["user_id"]
    url = f"{host}/courses/{course_id}/assignments/{assignment['id']}/submissions/{user_id}"
    body = {
        "id": submission.get("id"),
        "assignment_id": assignment["id"],
        "user_id": user_id,
        "attempt": submission.get("attempt"),
        "body": None,
        "grade": submission.get("grade"),
        "score": submission.get("score"),
        "entered_grade": submission.get("grade"),
        "entered_score": submission.get("score"),
        "grade_matches_current_submission": True,
        "html_url": url,
        "preview_url": f"{url}?preview=1",
        "submission_type": submission.get("submission_type"),
        "submitted_at": submission.get("submitted_at"),
        "url": None,
        "grader_id": submission.get("grader_id"),
        "graded_at": submission.get("graded_at"),
        "late": False,
        "assignment_visible": True,
        "excused": bool(submission.get("excused")),
        "missing": False,
        "late_policy_status": None,
        "points_deducted": None,
        "seconds_late": 0,
        "workflow_state": submission.get("workflow_state", "unsubmitted"),
        "posted_at": submission.get("graded_at"),
    }
    return body


def get_submission(ctx: Ctx, course_id: str, assignment_id: str, user_id: str) -> Reply:
    course = find_course(ctx, course_id)
    assignment = find_assignment(ctx, course, assignment_id)
    user = _student(ctx, course, user_id)
    submission = ctx.store.submission_by_key.get((assignment["id"], user["id"])) or {"user_id": user["id"]}
    return Reply(submission_json(submission, assignment, ctx.host))


def grade_submission(ctx: Ctx, course_id: str, assignment_id: str, user_id: str) -> Reply:
    return _grade(ctx, course_id, assignment_id, user_id, save=True)


def grade_submission_unsaved(ctx: Ctx, course_id: str, assignment_id: str, user_id: str) -> Reply:
    """The `lost_grade_write_rate` fault (canvas-lms issue 1434): 200 and the graded submission, as if
    saved, while Canvas keeps the grade it had. Only reading the grade back shows it."""
    return _grade(ctx, course_id, assignment_id, user_id, save=False)


def _grade(ctx: Ctx, course_id: str, assignment_id: str, user_id: str, *, save: bool) -> Reply:
    course = find_course(ctx, course_id)
    assignment = find_assignment(ctx, course, assignment_id)
    user = _student(ctx, course, user_id)
    params = nested_params(ctx.request, "submission")
    comment = nested_params(ctx.request, "comment").get("text_comment")
    if ("posted_grade" in params or "excuse" in params) and not assignment.get("published"):
        raise ApiError(401, UNAUTHORIZED)
    store = ctx.store
    with store.lock:
        current = store.submission_by_key.get((assignment["id"], user["id"]))
        row = dict(current) if current else {"id": store.next_id("submissions"), "user_id": user["id"]}
        row["assignment_id"] = assignment["id"]
        if "posted_grade" in params:
            row.update(_graded(ctx, assignment, params["posted_grade"]))
        if "excuse" in params:
            row["excused"] = _truthy(params["excuse"])
        if comment:
            row.setdefault("submission_comments", []).append(_comment(ctx, row, comment))
        if save:
            store.tables["submissions"][row["id"]] = row
            store.reindex(["submissions"])
    body = submission_json(row, assignment, ctx.host)
    body["submission_comments"] = row.get("submission_comments", [])
    body["all_submissions"] = [submission_json(row, assignment, ctx.host)]
    return Reply(body)


def _comment(ctx: Ctx, row: dict, text: str) -> dict[str, Any]:
    author = ctx.store.user(ctx.user_id) or {}
    return {
        "id": len(row.get("submission_comments", [])) + 1,
        "author_id": ctx.user_id,
        "author_name": author.get("name"),
        "comment": text,
        "created_at": iso(ctx.now),
        "edited_at": None,
        "media_comment": None,
    }


def _graded(ctx: Ctx, assignment: dict, raw: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {"score": None, "grade": None, "workflow_state": "unsubmitted", "graded_at": None}
    score, grade = parse_grade(str(raw).strip(), assignment)
    return {
        "score": score,
        "grade": grade,
        "workflow_state": "graded",
        "grader_id": ctx.user_id,
        "graded_at": iso(ctx.now),
    }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(round(value, 2))


def parse_grade(raw: str, assignment: dict) -> tuple[float, str]:
    """Canvas's posted_grade forms: points, a percentage, pass/complete/fail/incomplete, a letter."""
    points = float(assignment.get("points_possible") or 0)
    lowered = raw.lower()
    if lowered in ("pass", "complete"):
        return points, "complete"
    if lowered in ("fail", "incomplete"):
        return 0.0, "incomplete"
    try:
        score = points * float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        letter = next((pct for name, pct in LETTERS if name.lower() == lowered), None)
        if letter is None:
            raise ApiError(400, {"error": f"Invalid grade: {raw}"}) from None
        score = points * letter / 100
    return score, _display_grade(score, points, assignment.get("grading_type", "points"))


def _display_grade(score: float, points: float, grading_type: str) -> str:
    percent = score / points * 100 if points else 0.0
    if grading_type == "percent":
        return f"{_number(percent)}%"
    if grading_type == "pass_fail":
        return "complete" if score >= points and points else "incomplete"
    if grading_type == "letter_grade":
        return next(name for name, pct in LETTERS if percent >= pct)
    return _number(score)


# -- live assessments --------------------------------------------------------------------------
def live_assessment_results(ctx: Ctx, course_id: str, assessment_id: str) -> Reply:
    course = find_course(ctx, course_id)
    assessment = find(ctx, "live_assessments", assessment_id)
    if assessment.get("course_id") != course["id"]:
        raise ApiError(404, NOT_FOUND)
    wanted_user = ctx.request.args.get("user_id")
    rows = [
        r
        for r in sorted(ctx.store.tables["live_assessment_results"].values(), key=lambda r: r["id"])
        if r.get("assessment_id") == assessment["id"] and (not wanted_user or str(r.get("user_id")) == wanted_user)
    ]
    size = per_page(ctx.request, ctx.max_per_page)
    page = max(ruby_to_i(ctx.request.args.get("page"), 1), 1)
    page_count = max(1, math.ceil(len(rows) / size))
    items = rows[(page - 1) * size : page * size]
    meta = _jsonapi_meta(ctx, size, page, page_count, len(rows))
    results = [
        {
            "id": str(r["id"]),
            "passed": bool(r.get("passed")),
            "assessed_at": r.get("assessed_at"),
            "links": {
                "user": str(r.get("user_id")),
                "assessor": str(r.get("assessor_id") or ctx.user_id),
                "assessment": str(assessment["id"]),
            },
        }
        for r in items
    ]
    link = ",".join(
        f'<{meta["pagination"][rel]}>; rel="{rel}"'
        for rel in ("current", "next", "prev", "first", "last")
        if rel in meta["pagination"]
    )
    return Reply({"results": results, "meta": meta}, headers={"Link": link}, items=len(results))


def _jsonapi_meta(ctx: Ctx, size: int, page: int, page_count: int, count: int) -> dict[str, Any]:
    pagination: dict[str, Any] = {
        "per_page": size,
        "page": page,
        "template": page_url(ctx.request, "{page}", size).replace("%7Bpage%7D", "{page}"),
        "count": count,
        "page_count": page_count,
        "current": page_url(ctx.request, page, size),
        "first": page_url(ctx.request, 1, size),
        "last": page_url(ctx.request, page_count, size),
    }
    if page < page_count:
        pagination["next"] = page_url(ctx.request, page + 1, size)
    if page > 1:
        pagination["prev"] = page_url(ctx.request, page - 1, size)
    return {"pagination": pagination}
