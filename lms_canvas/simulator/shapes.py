"""Canvas's JSON shapes (CANVAS_API.md section 5) built from dataset rows.

Every caller is an account admin (only admins can log in), so SIS ids, logins and emails are
visible wherever Canvas shows them to admins.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .store import BUILTIN_ROLE_LABELS, Store

CREATED_AT = "2025-06-02T14:00:00Z"
INVITED_ONLY = {"invited", "creation_pending", "rejected"}
SHORT_TYPES = {
    "StudentEnrollment": "student",
    "TeacherEnrollment": "teacher",
    "TaEnrollment": "ta",
    "DesignerEnrollment": "designer",
    "ObserverEnrollment": "observer",
    "StudentViewEnrollment": "student_view",
}


def uuid_for(kind: str, row_id: int) -> str:
    return hashlib.sha1(f"{kind}:{row_id}".encode()).hexdigest()  # noqa: S324 - an id, not security


def course_db_state(course: dict) -> str:
    state = course.get("workflow_state", "available")
    return "created" if state == "unpublished" else state


def course_api_state(course: dict) -> str:
    state = course.get("workflow_state", "available")
    return "unpublished" if state in ("created", "claimed") else state


def account_json(store: Store, account: dict, *, read_only: bool = False) -> dict[str, Any]:
    root_id = store.root_account["id"]
    is_root = account["id"] == root_id
    body: dict[str, Any] = {
        "id": account["id"],
        "name": account.get("name", ""),
        "parent_account_id": None if is_root else account.get("parent_account_id") or root_id,
        "root_account_id": None if is_root else root_id,
        "workflow_state": account.get("workflow_state", "active"),
        "uuid": uuid_for("account", account["id"]),
        "default_time_zone": account.get("default_time_zone") or store.root_account.get("default_time_zone"),
    }
    if read_only:
        return body
    body.update(
        {
            "default_storage_quota_mb": 500,
            "default_user_storage_quota_mb": 50,
            "default_group_storage_quota_mb": 50,
        }
    )
    if not is_root:
        body.update(
            {
                "sis_account_id": account.get("sis_account_id"),
                "integration_id": account.get("integration_id"),
                "sis_import_id": None,
            }
        )
    return body


def term_json(term: dict | None) -> dict[str, Any] | None:
    if term is None:
        return None
    return {
        "id": term["id"],
        "name": term.get("name"),
        "start_at": term.get("start_at"),
        "end_at": term.get("end_at"),
        "workflow_state": "active",
        "grading_period_group_id": None,
    }


def course_json(store: Store, course: dict, includes: list[str], host: str) -> dict[str, Any]:
    uuid = uuid_for("course", course["id"])
    body: dict[str, Any] = {
        "id": course["id"],
        "name": course.get("name", ""),
        "course_code": course.get("course_code", ""),
        "uuid": uuid,
        "sis_course_id": course.get("sis_course_id"),
        "integration_id": course.get("integration_id"),
        "sis_import_id": None,
        "workflow_state": course_api_state(course),
        "account_id": course.get("account_id"),
        "root_account_id": store.root_account["id"],
        "enrollment_term_id": course.get("enrollment_term_id"),
        "grading_standard_id": None,
        "created_at": course.get("created_at", CREATED_AT),
        "start_at": course.get("start_at"),
        "end_at": course.get("end_at"),
        "locale": None,
        "default_view": "modules",
        "time_zone": store.root_account.get("default_time_zone"),
        "is_public": False,
        "is_public_to_auth_users": False,
        "public_syllabus": False,
        "public_syllabus_to_auth": False,
        "storage_quota_mb": 500,
        "apply_assignment_group_weights": False,
        "hide_final_grades": False,
        "restrict_enrollments_to_course_dates": False,
        "blueprint": False,
        "template": False,
        "calendar": {"ics": f"{host}/feeds/calendars/course_{uuid}.ics"},
    }
    if "term" in includes:
        body["term"] = term_json(store.tables["terms"].get(course.get("enrollment_term_id")))
    if "total_students" in includes:
        body["total_students"] = total_students(store.course_enrollments(course["id"]))
    if "teachers" in includes:
        body["teachers"] = _teachers(store, course)
    if "account_name" in includes:
        account = store.account(course.get("account_id"))
        body["account_name"] = account.get("name") if account else None
    if "concluded" in includes:
        body["concluded"] = course_api_state(course) == "completed"
    return body


def total_students(enrollments: list[dict]) -> int:
    gone = {"rejected", "completed", "deleted", "inactive"}
    return len(
        {
            e["user_id"]
            for e in enrollments
            if e.get("type") == "StudentEnrollment" and e.get("enrollment_state") not in gone
        }
    )


def _teachers(store: Store, course: dict) -> list[dict]:
    seen: dict[int, dict] = {}
    for enrollment in store.course_enrollments(course["id"]):
        if enrollment.get("type") == "TeacherEnrollment" and enrollment["user_id"] not in seen:
            user = store.user(enrollment["user_id"]) or {}
            seen[enrollment["user_id"]] = {"id": enrollment["user_id"], "display_name": user.get("short_name")}
    return list(seen.values())


def user_json(user: dict, includes: list[str] | tuple[str, ...] = (), *, personal: bool = True) -> dict:
    body: dict[str, Any] = {
        "id": user["id"],
        "name": user.get("name", ""),
        "created_at": user.get("created_at", CREATED_AT),
        "sortable_name": user.get("sortable_name") or user.get("name", ""),
        "short_name": user.get("short_name") or user.get("name", ""),
    }
    if personal:
        body.update(
            {
                "sis_user_id": user.get("sis_user_id"),
                "integration_id": user.get("integration_id"),
                "sis_import_id": None,
                "login_id": user.get("login_id"),
            }
        )
        if "email" in includes:
            body["email"] = user.get("email")
    if "uuid" in includes:
        body["uuid"] = uuid_for("user", user["id"])
    if "avatar_url" in includes:
        body["avatar_url"] = "https://canvas.instructure.com/images/messages/avatar-50.png"
    return body


def enrollment_state(store: Store, enrollment: dict) -> str:
    course = store.tables["courses"].get(enrollment.get("course_id")) or {}
    section = store.tables["sections"].get(enrollment.get("course_section_id")) or {}
    if course.get("workflow_state") == "deleted" or section.get("workflow_state") == "deleted":
        return "deleted"
    return enrollment.get("enrollment_state", "active")


def enrollment_json(
    store: Store, enrollment: dict, host: str, user_includes: list[str] | None = None
) -> dict[str, Any]:
    course = store.tables["courses"].get(enrollment["course_id"]) or {}
    section = store.tables["sections"].get(enrollment.get("course_section_id")) or {}
    account = store.account(course.get("account_id")) or {}
    role = store.tables["roles"].get(enrollment.get("role_id")) or {}
    user = store.user(enrollment["user_id"]) or {"id": enrollment["user_id"]}
    kind = enrollment.get("type", "StudentEnrollment")
    body: dict[str, Any] = {
        "id": enrollment["id"],
        "course_id": enrollment["course_id"],
        "course_section_id": enrollment.get("course_section_id"),
        "root_account_id": store.root_account["id"],
        "user_id": enrollment["user_id"],
        "associated_user_id": enrollment.get("associated_user_id"),
        "type": kind,
        "role": role.get("label", kind),
        "role_id": enrollment.get("role_id"),
        "enrollment_state": enrollment_state(store, enrollment),
        "limit_privileges_to_course_section": bool(enrollment.get("limit_privileges_to_course_section")),
        "created_at": enrollment.get("created_at", CREATED_AT),
        "updated_at": enrollment.get("updated_at", enrollment.get("created_at", CREATED_AT)),
        "start_at": enrollment.get("start_at"),
        "end_at": enrollment.get("end_at"),
        "last_activity_at": enrollment.get("last_activity_at"),
        "last_attended_at": None,
        "total_activity_time": enrollment.get("total_activity_time", 0),
        "sis_import_id": None,
        "sis_account_id": account.get("sis_account_id"),
        "sis_course_id": course.get("sis_course_id"),
        "course_integration_id": course.get("integration_id"),
        "sis_section_id": section.get("sis_section_id"),
        "section_integration_id": section.get("integration_id"),
        "sis_user_id": user.get("sis_user_id"),
        "html_url": f"{host}/courses/{enrollment['course_id']}/users/{enrollment['user_id']}",
    }
    if kind in ("StudentEnrollment", "StudentViewEnrollment"):
        body["grades"] = {
            "html_url": f"{host}/courses/{enrollment['course_id']}/grades/{enrollment['user_id']}",
            "current_score": None,
            "final_score": None,
            "current_grade": None,
            "final_grade": None,
            **(enrollment.get("grades") or {}),
        }
    if user_includes is not None:
        body["user"] = user_json(user, user_includes)
    return body


def section_json(store: Store, section: dict, includes: list[str], host: str) -> dict[str, Any]:
    course = store.tables["courses"].get(section["course_id"]) or {}
    body: dict[str, Any] = {
        "id": section["id"],
        "name": section.get("name", ""),
        "sis_section_id": section.get("sis_section_id"),
        "integration_id": section.get("integration_id"),
        "sis_import_id": None,
        "course_id": section["course_id"],
        "sis_course_id": course.get("sis_course_id"),
        "start_at": section.get("start_at"),
        "end_at": section.get("end_at"),
        "restrict_enrollments_to_section_dates": None,
        "nonxlist_course_id": section.get("nonxlist_course_id"),
        "created_at": section.get("created_at", CREATED_AT),
    }
    in_section = [
        e for e in store.course_enrollments(section["course_id"]) if e.get("course_section_id") == section["id"]
    ]
    if "total_students" in includes:
        body["total_students"] = total_students(in_section)
    if "students" in includes:
        body["students"] = _section_students(store, in_section, "enrollments" in includes, host) or None
    return body


def _section_students(store: Store, in_section: list[dict], with_enrollments: bool, host: str) -> list[dict]:
    students: dict[int, dict] = {}
    for enrollment in in_section:
        if enrollment.get("type") != "StudentEnrollment" or enrollment_state(store, enrollment) not in (
            "active",
            "invited",
        ):
            continue
        user = store.user(enrollment["user_id"])
        if user is None:
            continue
        entry = students.setdefault(user["id"], user_json(user, ["email"]))
        if with_enrollments:
            entry.setdefault("enrollments", []).append(enrollment_json(store, enrollment, host))
    return sorted(students.values(), key=lambda u: (u["sortable_name"], u["id"]))


def role_display_label(role: dict) -> str:
    """Canvas's label: a built-in role's translated one ("Teacher"), a custom role's name."""
    if role.get("workflow_state") == "built_in":
        return BUILTIN_ROLE_LABELS.get(role["label"], role["label"])
    return role["label"]


def role_json(store: Store, role: dict) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": role["id"],
        "role": role["label"],  # the dataset's label is the role's name
        "label": role_display_label(role),
        "base_role_type": role.get("base_role_type", "StudentEnrollment"),
        "is_account_role": role.get("base_role_type") == "AccountMembership",
        "workflow_state": role.get("workflow_state", "active"),
        "created_at": role.get("created_at", CREATED_AT),
        "last_updated_at": role.get("updated_at", CREATED_AT),
        "permissions": {},
    }
    account = store.account(role["account_id"]) if role.get("account_id") else None
    if account:
        body["account"] = account_json(store, account)
    return body
