"""The Canvas format of a Live Event for a change of the simulator's data (CANVAS_API.md §9): ids as
strings, global ids in enrollment and user events and local ids in section events, null keys left
out, a deletion as an `_updated` event with workflow_state "deleted"."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from .shapes import course_db_state, uuid_for

if TYPE_CHECKING:
    from .store import Store

# Canvas's global ids: the shard's id times 10^13 plus the local id ("21070000000004811").
SHARD = 2107


def global_id(local_id: Any) -> str:
    return str(SHARD * 10**13 + int(local_id))


def compact(value: Any) -> Any:
    """Canvas's compact_live_events: keys whose value is null are left out, not sent as null."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items() if v is not None}
    return value


def _time(moment: float, *, millis: bool = True) -> str:
    stamp = dt.datetime.fromtimestamp(moment, dt.UTC)
    if millis:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def events_for(
    store: Store, table: str, row: dict, *, created: bool, metadata: dict, deleted: bool = False
) -> list[dict]:
    now = time.time()
    verb = "created" if created else "updated"
    # Canvas sends event_time in more than one format: background jobs' without milliseconds.
    stamp = _time(now, millis="job_id" not in metadata)
    if table == "enrollments":
        state = "deleted" if deleted else row.get("enrollment_state", "active")
        body = _enrollment_body(store, row, state)
        state_body = {
            "enrollment_id": global_id(row["id"]),
            "state": state,
            "state_started_at": stamp,
            "state_is_current": True,
            "access_is_current": True,
            "restricted_access": False,
            "state_valid_until": None,
        }
        # A person's change in a course page has the course as its context; a background job's (an SIS
        # import, Canvas's date-driven recalculation) has none, so its enrollment_state events name no course.
        course_context = (
            {} if "job_id" in metadata else {"context_type": "Course", "context_id": global_id(row["course_id"])}
        )
        return [
            _event(f"enrollment_{verb}", stamp, metadata | course_context, body),
            _event(f"enrollment_state_{verb}", stamp, metadata | course_context, state_body),
        ]
    if table == "courses":
        body = {
            "course_id": str(row["id"]),
            "uuid": uuid_for("course", row["id"]),
            "account_id": str(row.get("account_id") or store.root_account["id"]),
            "account_uuid": uuid_for("account", row.get("account_id") or store.root_account["id"]),
            "name": row.get("name"),
            "created_at": stamp,
            "updated_at": stamp,
            "workflow_state": "deleted" if deleted else course_db_state(row),
        }
        return [_event(f"course_{verb}", stamp, metadata | {"context_type": "Course"}, body)]
    if table == "sections":
        body = {
            "course_section_id": str(row["id"]),
            "sis_source_id": row.get("sis_section_id"),
            "course_id": str(row["course_id"]),
            "root_account_id": str(store.root_account["id"]),
            "name": row.get("name"),
            "default_section": False,
            "accepting_enrollments": True,
            "can_manually_enroll": True,
            "workflow_state": "deleted" if deleted else "active",
            "restrict_enrollments_to_section_dates": False,
            "nonxlist_course_id": str(row["nonxlist_course_id"]) if row.get("nonxlist_course_id") else None,
            "integration_id": row.get("integration_id"),
        }
        return [_event(f"course_section_{verb}", stamp, metadata, body)]
    if table == "users":
        body = {
            "user_id": global_id(row["id"]),
            "uuid": uuid_for("user", row["id"]),
            "name": row.get("name"),
            "short_name": row.get("short_name"),
            "workflow_state": "deleted" if deleted else "registered",
            "created_at": stamp,
            "updated_at": stamp,
            "user_login": row.get("login_id"),
            "user_sis_id": row.get("sis_user_id"),
        }
        return [_event(f"user_{verb}", stamp, metadata, body)]
    return []  # assignments and submissions: no event types the portal subscribes to


def _enrollment_body(store: Store, row: dict, state: str) -> dict:
    user = store.user(row["user_id"]) or {}
    body = {
        "enrollment_id": global_id(row["id"]),
        "course_id": global_id(row["course_id"]),
        "course_uuid": uuid_for("course", row["course_id"]),
        "user_id": global_id(row["user_id"]),
        "user_uuid": uuid_for("user", row["user_id"]),
        "user_name": user.get("name"),
        "type": row.get("type", "StudentEnrollment"),
        "created_at": row.get("created_at"),
        "updated_at": row.get("updated_at"),
        "limit_privileges_to_course_section": False,
        "course_section_id": global_id(row["course_section_id"]) if row.get("course_section_id") else None,
        "workflow_state": state,
    }
    if row.get("associated_user_id"):
        body["associated_user_id"] = global_id(row["associated_user_id"])
    return body


def _event(name: str, stamp: str, metadata: dict, body: dict) -> dict:
    return compact({"metadata": {**metadata, "event_name": name, "event_time": stamp}, "body": body})
