"""In-memory Canvas data: the dataset format, its validation, lookups and in-place changes.

Rosters (users and enrollments) of a generated institution are not held here: a `RosterSource`
produces them per course on demand, so 100,000 courses fit in memory. A course whose roster is
changed through `mutate` is copied into the explicit tables first ("materialized").
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

TABLES = (
    "accounts",
    "terms",
    "roles",
    "users",
    "courses",
    "sections",
    "enrollments",
    "admins",
    "developer_keys",
    "assignments",
    "submissions",
    "live_assessments",
    "live_assessment_results",
)
MUTABLE_TABLES = ("users", "courses", "sections", "enrollments", "assignments", "submissions")

# Stable ids of Canvas's built-in roles; they exist even when a dataset does not list them.
BUILTIN_ROLES = (
    (1, "AccountAdmin", "AccountMembership"),
    (3, "StudentEnrollment", "StudentEnrollment"),
    (4, "TeacherEnrollment", "TeacherEnrollment"),
    (5, "TaEnrollment", "TaEnrollment"),
    (6, "DesignerEnrollment", "DesignerEnrollment"),
    (7, "ObserverEnrollment", "ObserverEnrollment"),
)
ROLE_ID_BY_TYPE = {label: rid for rid, label, _ in BUILTIN_ROLES}
# What Canvas's roles API gives as a built-in role's `label` (RoleOverride::ENROLLMENT_TYPE_LABELS and
# the account admin's): its `role` is the name above. A dataset's `label` is the role's name.
BUILTIN_ROLE_LABELS = {
    "AccountAdmin": "Account Admin",
    "StudentEnrollment": "Student",
    "TeacherEnrollment": "Teacher",
    "TaEnrollment": "TA",
    "DesignerEnrollment": "Designer",
    "ObserverEnrollment": "Observer",
}
ROLE_ID_BY_TYPE["StudentViewEnrollment"] = ROLE_ID_BY_TYPE["StudentEnrollment"]

DEFAULT_SETTINGS: dict[str, Any] = {
    "throttle": {
        "hwm": 700.0,
        "outflow": 10.0,
        "up_front_cost": 50.0,
        "base_cost": 0.01,
        "per_item_cost": 0.002,
        "status": 403,
    },
    "latency_ms": 0,
    "access_token_ttl_s": 3600,
    "code_ttl_s": 600,
    "max_per_page": 100,
}

# (table, field) -> table the field refers to; "accounts" includes the root account.
REFERENCES = (
    ("accounts", "parent_account_id", "accounts"),
    ("roles", "account_id", "accounts"),
    ("courses", "account_id", "accounts"),
    ("courses", "enrollment_term_id", "terms"),
    ("sections", "course_id", "courses"),
    ("sections", "nonxlist_course_id", "courses"),
    ("enrollments", "user_id", "users"),
    ("enrollments", "course_id", "courses"),
    ("enrollments", "course_section_id", "sections"),
    ("enrollments", "role_id", "roles"),
    ("admins", "user_id", "users"),
    ("assignments", "course_id", "courses"),
    ("submissions", "assignment_id", "assignments"),
    ("submissions", "user_id", "users"),
    ("live_assessments", "course_id", "courses"),
    ("live_assessment_results", "assessment_id", "live_assessments"),
    ("live_assessment_results", "user_id", "users"),
)
UNIQUE_FIELDS = {
    "accounts": ("sis_account_id",),
    "terms": ("sis_term_id",),
    "users": ("sis_user_id", "login_id"),
    "courses": ("sis_course_id",),
    "sections": ("sis_section_id",),
    "admins": ("login",),
    "assignments": ("sis_assignment_id",),
}
SIS_FIELDS = {
    "accounts": ("sis_account_id", "sis_integration_id"),
    "terms": ("sis_term_id",),
    "users": ("sis_user_id", "sis_login_id", "sis_integration_id"),
    "courses": ("sis_course_id", "sis_integration_id"),
    "sections": ("sis_section_id", "sis_integration_id"),
    "assignments": ("sis_assignment_id",),
}
# A path id `sis_login_id:x` looks up the `login_id` field, `sis_integration_id:x` `integration_id`.
SIS_FIELD_COLUMN = {"sis_login_id": "login_id", "sis_integration_id": "integration_id"}


class RosterSource(Protocol):
    """Produces the users and enrollments of a course lazily and deterministically."""

    def enrollments(self, course_id: int) -> list[dict]: ...

    def user(self, user_id: int) -> dict | None: ...

    def user_by_field(self, field: str, value: str) -> dict | None: ...

    def enrollment_course_id(self, enrollment_id: int) -> int | None: ...


def merged_settings(settings: dict | None) -> dict:
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def validate(dataset: dict) -> list[str]:
    """Every problem of a dataset, each naming the list, the id and the field."""
    problems: list[str] = []
    if not isinstance(dataset, dict):
        return ["dataset: the top level must be a JSON object"]
    ids: dict[str, set] = {}
    for table in TABLES:
        rows = dataset.get(table, [])
        if not isinstance(rows, list):
            problems.append(f"{table}: must be a list")
            continue
        ids[table] = _check_ids(table, rows, problems)
        _check_unique_fields(table, rows, problems)
    root = dataset.get("root_account") or {"id": 1}
    ids.setdefault("accounts", set()).add(root.get("id", 1))
    ids["roles"] = ids.get("roles", set()) | {rid for rid, _, _ in BUILTIN_ROLES}
    for table, field, target in REFERENCES:
        for row in _rows(dataset, table):
            value = row.get(field)
            if value is not None and value not in ids.get(target, set()):
                problems.append(f"{table} id {row.get('id')}: field {field} refers to missing {target} id {value}")
    _check_enrollment_sections(dataset, problems)
    return problems


def _rows(dataset: dict, table: str) -> list[dict]:
    rows = dataset.get(table, [])
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _check_ids(table: str, rows: list, problems: list[str]) -> set:
    seen: set = set()
    key = "login" if table == "admins" else "id"
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"{table}[{position}]: must be an object")
            continue
        value = row.get(key)
        if table != "admins" and not isinstance(value, int):
            problems.append(f"{table}[{position}]: field id must be an integer, got {value!r}")
        elif value in seen:
            problems.append(f"{table} id {value}: duplicate {key}")
        seen.add(value)
    return seen if table != "admins" else set()


def _check_unique_fields(table: str, rows: list, problems: list[str]) -> None:
    for field in UNIQUE_FIELDS.get(table, ()):
        if table == "admins":
            continue
        seen: dict[Any, Any] = {}
        for row in rows:
            if not isinstance(row, dict) or row.get(field) in (None, ""):
                continue
            value = row[field]
            if value in seen:
                problems.append(f"{table} id {row.get('id')}: duplicate {field} {value!r} (also on id {seen[value]})")
            seen[value] = row.get("id")


def _check_enrollment_sections(dataset: dict, problems: list[str]) -> None:
    section_course = {s.get("id"): s.get("course_id") for s in _rows(dataset, "sections")}
    for enrollment in _rows(dataset, "enrollments"):
        section_id = enrollment.get("course_section_id")
        if section_id in section_course and section_course[section_id] != enrollment.get("course_id"):
            problems.append(
                f"enrollments id {enrollment.get('id')}: field course_section_id {section_id} "
                f"belongs to courses id {section_course[section_id]}, not {enrollment.get('course_id')}"
            )


class Store:
    """The simulator's data. Reads take no lock (dict reads are atomic under the GIL);
    writes and roster materialization hold `lock`."""

    def __init__(self, dataset: dict, roster_source: RosterSource | None = None) -> None:
        self.lock = threading.RLock()
        self.roster_source = roster_source
        self.root_account: dict = {"id": 1, "name": "Canvas", "default_time_zone": "America/New_York"}
        self.root_account.update(dataset.get("root_account") or {})
        self.settings = merged_settings(dataset.get("settings"))
        self.tables: dict[str, dict[int, dict]] = {table: {} for table in TABLES}
        for table in TABLES:
            for row in dataset.get(table, []):
                key = row["login"] if table == "admins" else row["id"]
                self.tables[table][key] = dict(row)
        self._add_builtin_roles()
        self.materialized: set[int] = set()
        self.deleted_lazy_users: set[int] = set()
        self.sis_index: dict[str, dict[str, dict[Any, int]]] = {}
        self.reindex(TABLES)

    def _add_builtin_roles(self) -> None:
        roles = self.tables["roles"]
        for role_id, label, base in BUILTIN_ROLES:
            if role_id not in roles:
                roles[role_id] = {
                    "id": role_id,
                    "label": label,
                    "base_role_type": base,
                    "workflow_state": "built_in",
                    "account_id": None,
                }

    # -- indexes -------------------------------------------------------------------------------
    def reindex(self, tables: Iterable[str]) -> None:
        tables = set(tables)
        with self.lock:
            self.query_cache: dict[Any, list[int]] = {}
            if tables & {"accounts", "courses"}:
                self._index_accounts_and_courses()
            if "sections" in tables:
                self.sections_by_course = _group_ids(self.tables["sections"].values(), "course_id")
            if "enrollments" in tables:
                self.enrollments_by_course = _group(self.tables["enrollments"].values(), "course_id")
                self.enrollments_by_user = _group(self.tables["enrollments"].values(), "user_id")
            if "assignments" in tables:
                self.assignments_by_course = _group(self.tables["assignments"].values(), "course_id")
            if "submissions" in tables:
                self.submission_by_key = {
                    (s["assignment_id"], s["user_id"]): s for s in self.tables["submissions"].values()
                }
            for table in tables & set(SIS_FIELDS):
                self.sis_index[table] = self._sis_index(table)

    def _index_accounts_and_courses(self) -> None:
        children: dict[int, list[int]] = defaultdict(list)
        for account in sorted(self.tables["accounts"].values(), key=lambda a: a["id"]):
            children[account.get("parent_account_id") or self.root_account["id"]].append(account["id"])
        self.account_children = dict(children)
        self.courses_by_account = _group_ids(self.tables["courses"].values(), "account_id")
        self.course_ids_sorted = sorted(self.tables["courses"])

    def _sis_index(self, table: str) -> dict[str, dict[Any, int]]:
        index: dict[str, dict[Any, int]] = {}
        for field in SIS_FIELDS[table]:
            column = SIS_FIELD_COLUMN.get(field, field)
            index[field] = {str(row[column]): row["id"] for row in self.tables[table].values() if row.get(column)}
        return index

    # -- lookups -------------------------------------------------------------------------------
    def account(self, account_id: int) -> dict | None:
        if account_id == self.root_account["id"]:
            return self.root_account
        return self.tables["accounts"].get(account_id)

    def resolve(self, table: str, raw: str) -> dict | None:
        """Find a row by a path id: an integer, or `sis_<field>:<value>`."""
        if table == "accounts" and raw == "self":
            return self.root_account
        if ":" in raw:
            field, _, value = raw.partition(":")
            if table == "users":
                return self._user_by_sis(field, value)
            row_id = self.sis_index.get(table, {}).get(field, {}).get(value)
            return self.get(table, row_id) if row_id is not None else None
        if not raw.isdigit():
            return None
        return self.get(table, int(raw))

    def get(self, table: str, row_id: int) -> dict | None:
        if table == "accounts":
            return self.account(row_id)
        if table == "users":
            return self.user(row_id)
        return self.tables[table].get(row_id)

    def user(self, user_id: int) -> dict | None:
        row = self.tables["users"].get(user_id)
        if row is None and self.roster_source and user_id not in self.deleted_lazy_users:
            return self.roster_source.user(user_id)
        return row

    def _user_by_sis(self, field: str, value: str) -> dict | None:
        row_id = self.sis_index["users"].get(field, {}).get(value)
        if row_id is not None:
            return self.user(row_id)
        if self.roster_source and field in SIS_FIELDS["users"]:
            found = self.roster_source.user_by_field(SIS_FIELD_COLUMN.get(field, field), value)
            if found and found["id"] not in self.tables["users"] and found["id"] not in self.deleted_lazy_users:
                return found
        return None

    def course_enrollments(self, course_id: int) -> list[dict]:
        if self.roster_source and course_id not in self.materialized:
            return self.roster_source.enrollments(course_id)
        return self.enrollments_by_course.get(course_id, [])

    def enrollment(self, enrollment_id: int) -> dict | None:
        row = self.tables["enrollments"].get(enrollment_id)
        if row is not None or not self.roster_source:
            return row
        course_id = self.roster_source.enrollment_course_id(enrollment_id)
        if course_id is None or course_id in self.materialized:
            return None
        return next((e for e in self.course_enrollments(course_id) if e["id"] == enrollment_id), None)

    def course_sections(self, course_id: int) -> list[dict]:
        return [self.tables["sections"][sid] for sid in self.sections_by_course.get(course_id, [])]

    def account_subtree(self, account_id: int) -> list[int]:
        found, pending = [], [account_id]
        while pending:
            current = pending.pop()
            found.append(current)
            pending.extend(self.account_children.get(current, []))
        return found

    def account_chain(self, account_id: int | None) -> list[int]:
        """The account and its ancestors up to the root."""
        chain = []
        while account_id is not None and account_id not in chain:
            chain.append(account_id)
            account = self.account(account_id)
            account_id = account.get("parent_account_id") if account else None
            if account_id is None and chain[-1] != self.root_account["id"]:
                account_id = self.root_account["id"]
        return chain

    def developer_key(self, raw: Any) -> dict | None:
        try:
            return self.tables["developer_keys"].get(int(raw))
        except (TypeError, ValueError):
            return None

    # -- changes -------------------------------------------------------------------------------
    def next_id(self, table: str, floor: int = 1) -> int:
        with self.lock:
            return max([floor - 1, *self.tables[table]]) + 1

    def materialize_course(self, course_id: int) -> None:
        """Copy a lazily generated roster into the explicit tables so it can be changed."""
        with self.lock:
            if not self.roster_source or course_id in self.materialized:
                return
            for enrollment in self.roster_source.enrollments(course_id):
                self.tables["enrollments"][enrollment["id"]] = dict(enrollment)
                user = self.roster_source.user(enrollment["user_id"])
                if user and user["id"] not in self.tables["users"]:
                    self.tables["users"][user["id"]] = dict(user)
            self.materialized.add(course_id)

    def mutate(self, upsert: dict, delete: dict) -> dict[str, int]:
        with self.lock:
            counts = {"upserted": 0, "deleted": 0}
            for table, rows in (upsert or {}).items():
                self._require_mutable(table)
                for row in rows:
                    self._upsert(table, row)
                    counts["upserted"] += 1
            for table, row_ids in (delete or {}).items():
                self._require_mutable(table)
                for row_id in row_ids:
                    counts["deleted"] += self._delete(table, row_id)
            self.reindex(set(upsert or {}) | set(delete or {}))
            return counts

    @staticmethod
    def _require_mutable(table: str) -> None:
        if table not in MUTABLE_TABLES:
            raise ValueError(f"{table}: cannot be changed by mutate (allowed: {', '.join(MUTABLE_TABLES)})")

    def _upsert(self, table: str, row: dict) -> None:
        if "id" not in row:
            raise ValueError(f"{table}: every upserted row needs an id")
        self._materialize_for(table, row["id"], row.get("course_id"))
        current = self.tables[table].get(row["id"])
        if current is None and table == "users" and self.roster_source:
            current = self.roster_source.user(row["id"])
        merged = {**(current or {}), **row}
        if table == "enrollments" and "role_id" not in merged:
            merged["role_id"] = ROLE_ID_BY_TYPE.get(merged.get("type", "StudentEnrollment"))
        self.tables[table][row["id"]] = merged
        if table == "users":
            self.deleted_lazy_users.discard(row["id"])

    def _delete(self, table: str, row_id: int) -> int:
        self._materialize_for(table, row_id, None)
        if table == "users" and self.roster_source:
            self.deleted_lazy_users.add(row_id)
        return 1 if self.tables[table].pop(row_id, None) is not None else 0

    def _materialize_for(self, table: str, row_id: int, course_id: int | None) -> None:
        if table != "enrollments" or not self.roster_source:
            return
        owner = self.roster_source.enrollment_course_id(row_id)
        for cid in {owner, course_id} - {None}:
            self.materialize_course(cid)


def _group(rows: Iterable[dict], field: str) -> dict[Any, list[dict]]:
    grouped: dict[Any, list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r["id"]):
        grouped[row.get(field)].append(row)
    return dict(grouped)


def _group_ids(rows: Iterable[dict], field: str) -> dict[Any, list[int]]:
    return {key: [row["id"] for row in group] for key, group in _group(rows, field).items()}
