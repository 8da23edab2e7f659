"""A realistic generated institution, deterministic for a seed.

`generate_base` builds accounts, terms, roles, courses and sections in full; `GeneratedRosters`
produces each course's users and enrollments on demand from a per-course random generator, so
the same seed always gives the same roster without holding millions of rows.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import unicodedata
from collections import OrderedDict
from typing import IO, Any

from .scopes import SEED_SCOPES

DEMO_KEY_ID = 170000000000001
DEMO_SECRET = "demo-secret"  # noqa: S105 - the documented demo key of the simulator
DEMO_REDIRECT_URIS = [
    "http://127.0.0.1:8000/lms/canvas/callback/",
    "http://localhost:8000/lms/canvas/callback/",
]
ADMIN_LOGIN = "canvas-admin"
ADMIN_PASSWORD = "canvas-admin"  # noqa: S105 - the documented demo login
FIRST_COURSE_ID = 1001
POOL_USER_BASE = 100_000
TEST_STUDENT_BASE = 50_000_000
ENROLLMENTS_PER_COURSE = 10_000
CREATED_AT = "2025-06-02T14:00:00Z"

ACCOUNTS = (
    (2, "School of Law", 1, "LAW", ("Contracts", "Torts", "Civil Procedure", "Constitutional Law", "Evidence")),
    (3, "School of Medicine", 1, "MED", ("Anatomy", "Physiology", "Biochemistry", "Pathology")),
    (4, "College of Arts & Sciences", 1, "CAS", ("English Composition", "Psychology", "Philosophy")),
    (5, "Department of Mathematics", 4, "CAS-MATH", ("Calculus", "Linear Algebra", "Statistics")),
    (6, "Department of History", 4, None, ("World History", "History of Science")),
    (7, "School of Engineering", 1, "ENG", ("Statics", "Circuits", "Thermodynamics", "Data Structures")),
    (8, "School of Business", 1, "BUS", ("Accounting", "Finance", "Business Ethics")),
    (9, "Continuing Education", 1, None, ("Project Management", "Grant Writing")),
)
TERMS = (
    (1, "Default Term", None, None, None, 10),
    (2, "Fall 2025", "2025FA", "2025-08-25T00:00:00Z", "2025-12-19T00:00:00Z", 15),
    (3, "Spring 2026", "2026SP", "2026-01-12T00:00:00Z", "2026-05-08T00:00:00Z", 25),
    (4, "Summer 2026", "2026SU", "2026-05-26T00:00:00Z", "2026-08-07T00:00:00Z", 10),
    (5, "Fall 2026", "2026FA", "2026-08-24T00:00:00Z", "2026-12-18T00:00:00Z", 40),
)
CUSTOM_ROLES = (
    (20, "Auditor", "StudentEnrollment", "active"),
    (21, "Course Director", "TeacherEnrollment", "active"),
    (22, "Clinical Instructor", "TeacherEnrollment", "active"),
    (23, "Guest Lecturer", "TaEnrollment", "inactive"),
)
FIRST_NAMES = (
    "Ada", "José", "Zoë", "Siobhán", "Łukasz", "François", "Björn", "Renée", "Chloé", "Mohammed",
    "Priya", "Wei", "Aoife", "Kwame", "Olga", "Mateo", "Fatima", "Liam", "Sofia", "Noah", "Emma",
    "Hiroshi", "Ngozi", "Seán", "Inès", "Jürgen", "Marta", "Dmitri", "Amara", "Chen", "Lucía",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "O'Brien", "D'Angelo", "N'Diaye", "Müller", "García", "Nguyễn", "Smith", "Johnson",
    "Okafor", "Kowalski", "Rossi", "Dubois", "Papadopoulos", "Andersson", "O'Connor", "Fernández",
    "Kim", "Patel", "Ivanova", "da Silva", "MacLeod", "Brontë", "Núñez", "Williams", "Brown",
    "Yamamoto", "Haddad", "Schröder", "Ó Súilleabháin",
)  # fmt: skip
ROMAN = ("I", "II", "III", "IV")


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain.lower())


def demo_developer_key() -> dict:
    return {
        "id": DEMO_KEY_ID,
        "name": "Exam portal",
        "api_key": DEMO_SECRET,
        "redirect_uris": list(DEMO_REDIRECT_URIS),
        "scopes": list(SEED_SCOPES),
        "require_scopes": True,
        "allow_includes": True,
        "workflow_state": "active",
        "state": "on",
    }


def admin_user() -> dict:
    return {
        "id": 1,
        "name": "Canvas Admin",
        "sortable_name": "Admin, Canvas",
        "short_name": "Canvas Admin",
        "sis_user_id": None,
        "integration_id": None,
        "login_id": ADMIN_LOGIN,
        "email": "canvas-admin@demo.edu",
    }


def generate_base(courses: int, seed: int = 1) -> dict:
    """Everything but the rosters (users and enrollments), which `GeneratedRosters` provides."""
    rng = random.Random(f"{seed}:base")
    dataset: dict[str, Any] = {
        "root_account": {"id": 1, "name": "Demo University", "default_time_zone": "America/New_York"},
        "accounts": [
            {"id": aid, "name": name, "parent_account_id": parent, "sis_account_id": sis}
            for aid, name, parent, sis, _ in ACCOUNTS
        ],
        "terms": [
            {"id": tid, "name": name, "sis_term_id": sis, "start_at": start, "end_at": end}
            for tid, name, sis, start, end, _ in TERMS
        ],
        "roles": [
            {"id": rid, "label": label, "base_role_type": base, "workflow_state": state, "account_id": 1}
            for rid, label, base, state in CUSTOM_ROLES
        ],
        "users": [admin_user()],
        "admins": [{"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD, "user_id": 1}],
        "developer_keys": [demo_developer_key()],
        "courses": [],
        "sections": [],
        "assignments": [],
        "submissions": [],
    }
    for index in range(courses):
        course, sections = _course(rng, FIRST_COURSE_ID + index)
        dataset["courses"].append(course)
        dataset["sections"].extend(sections)
    _cross_list(rng, dataset)
    return dataset


def _course(rng: random.Random, course_id: int) -> tuple[dict, list[dict]]:
    account_id, _, _, prefix, subjects = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
    term = rng.choices(TERMS, weights=[t[5] for t in TERMS])[0]
    level = rng.randrange(len(ROMAN))
    subject = rng.choice(subjects)
    code = f"{prefix or 'GEN'}-{100 * (level + 1) + rng.randrange(1, 60)}"
    has_sis = prefix is not None and rng.random() > 0.06
    roll = rng.random()
    state = "completed" if term[2] == "2025FA" and roll < 0.8 else "available"
    if roll > 0.95:
        state = "deleted"
    elif roll > 0.87:
        state = "unpublished"
    course = {
        "id": course_id,
        "account_id": account_id,
        "name": f"{subject} {ROMAN[level]}",
        "course_code": code,
        "sis_course_id": f"{code}-{term[2] or 'NT'}-{course_id}" if has_sis else None,
        "integration_id": None,
        "workflow_state": state,
        "enrollment_term_id": term[0],
        "start_at": term[3],
        "end_at": term[4],
    }
    count = rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0]
    sections = [
        {
            "id": course_id * 10 + number,
            "course_id": course_id,
            "name": course["name"] if count == 1 else f"Section {number:02d}",
            "sis_section_id": (f"{course['sis_course_id']}-{number:02d}" if has_sis and rng.random() > 0.07 else None),
            "integration_id": None,
            "nonxlist_course_id": None,
        }
        for number in range(1, count + 1)
    ]
    return course, sections


def _cross_list(rng: random.Random, dataset: dict) -> None:
    """Move the last section of about 3% of multi-section courses into another course."""
    by_course: dict[int, list[dict]] = {}
    for section in dataset["sections"]:
        by_course.setdefault(section["course_id"], []).append(section)
    course_ids = [c["id"] for c in dataset["courses"]]
    for course_id, sections in by_course.items():
        if len(sections) > 1 and len(course_ids) > 1 and rng.random() < 0.06:
            host = rng.choice(course_ids)
            if host != course_id:
                sections[-1]["course_id"] = host
                sections[-1]["nonxlist_course_id"] = course_id


class _LRU:
    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)


class GeneratedRosters:
    """Users and enrollments of a generated institution, made per course on demand."""

    def __init__(self, courses: int, seed: int, sections_of: Any, course_of: Any) -> None:
        self.seed = seed
        self.staff = max(20, courses // 3)
        self.students = max(200, courses * 8)
        self.hot = max(40, self.students // 50)
        self._sections_of = sections_of
        self._course_of = course_of
        self._rosters = _LRU(512)
        self._users = _LRU(50_000)

    # -- users -----------------------------------------------------------------------------------
    def user(self, user_id: int) -> dict | None:
        if user_id > TEST_STUDENT_BASE:
            return self._test_student(user_id)
        index = user_id - POOL_USER_BASE
        if not 0 <= index < self.staff + self.students:
            return None
        cached = self._users.get(user_id)
        if cached is None:
            cached = self._make_user(index)
            self._users.put(user_id, cached)
        return cached

    def _make_user(self, index: int) -> dict:
        rng = random.Random(f"{self.seed}:user:{index}")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        login = f"{_ascii(first)}.{_ascii(last)}{index}"
        is_staff = index < self.staff
        return {
            "id": POOL_USER_BASE + index,
            "name": f"{first} {last}",
            "sortable_name": f"{last}, {first}",
            "short_name": first,
            "sis_user_id": None if rng.random() < 0.08 else f"{'E' if is_staff else 'S'}{index:07d}",
            "integration_id": None,
            "login_id": login,
            "email": None if rng.random() < 0.06 else f"{login}@demo.edu",
        }

    def _test_student(self, user_id: int) -> dict | None:
        course_id = user_id - TEST_STUDENT_BASE
        if self._course_of(course_id) is None:
            return None
        return {
            "id": user_id,
            "name": "Test Student",
            "sortable_name": "Student, Test",
            "short_name": "Test Student",
            "sis_user_id": None,
            "integration_id": None,
            "login_id": None,
            "email": None,
        }

    def user_by_field(self, field: str, value: str) -> dict | None:
        match = re.fullmatch(r"[ES](\d{7})", value) if field == "sis_user_id" else None
        if field == "login_id":
            match = re.fullmatch(r"[a-z]+\.[a-z]+(\d+)", value)
        if not match:
            return None
        user = self.user(POOL_USER_BASE + int(match.group(1)))
        return user if user and user.get(field) == value else None

    # -- enrollments ---------------------------------------------------------------------------
    def enrollment_course_id(self, enrollment_id: int) -> int | None:
        course_id = enrollment_id // ENROLLMENTS_PER_COURSE
        return course_id if self._course_of(course_id) is not None else None

    def enrollments(self, course_id: int) -> list[dict]:
        cached = self._rosters.get(course_id)
        if cached is None:
            course = self._course_of(course_id)
            cached = self._make_roster(course) if course else []
            self._rosters.put(course_id, cached)
        return cached

    def _make_roster(self, course: dict) -> list[dict]:
        rng = random.Random(f"{self.seed}:roster:{course['id']}")
        sections = [s["id"] for s in self._sections_of(course["id"])]
        if not sections:
            return []
        roster = _RosterBuilder(course, sections, rng)
        for index in self._pick(rng, 1 + (rng.random() < 0.3), 0, self.staff):
            roster.add(index, "TeacherEnrollment", 21 if rng.random() < 0.2 else 4, sections[0])
        tas = rng.choice((0, 0, 1, 2)) if len(sections) > 1 else rng.choice((0, 0, 0, 1))
        for index in self._pick(rng, tas, 0, self.staff):
            roster.add(index, "TaEnrollment", 5, rng.choice(sections), limit=True)
        if rng.random() < 0.08:
            roster.add(rng.randrange(self.staff), "DesignerEnrollment", 6, sections[0])
        size = min(1500, max(1, int(rng.lognormvariate(math.log(30), 0.9))))
        for index in self._pick_students(rng, size):
            role_id = 20 if rng.random() < 0.04 else 3
            roster.add(self.staff + index, "StudentEnrollment", role_id, rng.choice(sections))
            if len(sections) > 1 and rng.random() < 0.03:
                roster.add(self.staff + index, "StudentEnrollment", role_id, rng.choice(sections))
        if roster.students and rng.random() < 0.05:
            roster.add_observer(self.staff + self._pick_students(rng, 1)[0])
        if rng.random() < 0.15:
            roster.add_test_student(TEST_STUDENT_BASE + course["id"])
        return roster.rows

    def _pick(self, rng: random.Random, count: int, low: int, high: int) -> list[int]:
        return rng.sample(range(low, high), min(count, high - low))

    def _pick_students(self, rng: random.Random, count: int) -> list[int]:
        """Some people are in many courses: a quarter of places go to a small popular group."""
        chosen: dict[int, None] = {}
        count = min(count, self.students)
        while len(chosen) < count:
            pool = self.hot if rng.random() < 0.25 else self.students
            chosen[rng.randrange(pool)] = None
        return list(chosen)


class _RosterBuilder:
    def __init__(self, course: dict, sections: list[int], rng: random.Random) -> None:
        self.course, self.sections, self.rng = course, sections, rng
        self.rows: list[dict] = []
        self.students: list[int] = []

    def add(self, index: int, kind: str, role_id: int, section_id: int, limit: bool = False) -> None:
        user_id = POOL_USER_BASE + index
        self._append(user_id, kind, role_id, section_id, self._state(kind), limit)
        if kind == "StudentEnrollment":
            self.students.append(user_id)

    def add_observer(self, index: int) -> None:
        row = self._append(POOL_USER_BASE + index, "ObserverEnrollment", 7, self.sections[0], "active")
        row["associated_user_id"] = self.rng.choice(self.students)

    def add_test_student(self, user_id: int) -> None:
        self._append(user_id, "StudentViewEnrollment", 3, self.sections[0], "active")

    def _state(self, kind: str) -> str:
        roll = self.rng.random()
        if self.course["workflow_state"] == "completed":
            return "completed" if roll < 0.9 else "active"
        if kind != "StudentEnrollment":
            return "invited" if roll < 0.05 else "active"
        return "active" if roll < 0.86 else "invited" if roll < 0.92 else "inactive" if roll < 0.96 else "completed"

    def _append(self, user_id: int, kind: str, role_id: int, section_id: int, state: str, limit: bool = False) -> dict:
        row = {
            "id": self.course["id"] * ENROLLMENTS_PER_COURSE + len(self.rows) + 1,
            "user_id": user_id,
            "course_id": self.course["id"],
            "course_section_id": section_id,
            "type": kind,
            "role_id": role_id,
            "enrollment_state": state,
            "limit_privileges_to_course_section": limit,
            "associated_user_id": None,
            "created_at": CREATED_AT,
        }
        self.rows.append(row)
        return row


def rosters_for(dataset: dict, courses: int, seed: int) -> GeneratedRosters:
    """A roster source reading sections and courses from a plain dataset (for `generate`)."""
    course_by_id = {c["id"]: c for c in dataset["courses"]}
    sections: dict[int, list[dict]] = {}
    for section in dataset["sections"]:
        sections.setdefault(section["course_id"], []).append(section)
    return GeneratedRosters(courses, seed, lambda cid: sections.get(cid, []), course_by_id.get)


def write_dataset(courses: int, seed: int, out: IO[str]) -> None:
    """Write a full dataset, rosters included, streaming the enrollments so N can be large."""
    dataset = generate_base(courses, seed)
    rosters = rosters_for(dataset, courses, seed)
    out.write("{\n")
    for key, value in dataset.items():
        if key not in ("users", "sections", "courses"):
            out.write(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
    for key in ("courses", "sections"):
        _write_list(out, key, dataset[key])
    user_ids: set[int] = set()
    out.write('"enrollments": [')
    first = True
    for course in dataset["courses"]:
        for row in rosters.enrollments(course["id"]):
            user_ids.add(row["user_id"])
            out.write(("\n" if first else ",\n") + json.dumps(row, ensure_ascii=False))
            first = False
    out.write("\n],\n")
    users = dataset["users"] + [rosters.user(uid) for uid in sorted(user_ids)]
    _write_list(out, "users", users, last=True)
    out.write("}\n")


def _write_list(out: IO[str], key: str, rows: list[dict], last: bool = False) -> None:
    body = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    out.write(f"{json.dumps(key)}: [\n{body}\n]{'' if last else ','}\n")


def generate_dataset(courses: int, seed: int = 1) -> dict:
    """A full in-memory dataset with rosters (small N: tests and `check`)."""
    dataset = generate_base(courses, seed)
    rosters = rosters_for(dataset, courses, seed)
    enrollments = [row for c in dataset["courses"] for row in rosters.enrollments(c["id"])]
    user_ids = sorted({row["user_id"] for row in enrollments})
    dataset["enrollments"] = enrollments
    dataset["users"] = dataset["users"] + [rosters.user(uid) for uid in user_ids]
    return dataset
