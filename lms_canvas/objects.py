"""Canvas's JSON objects as small typed values, parsed once, here (the field names of CANVAS_API.md §5).

Only the fields the portal reads. Text Canvas may omit or send as null is "" (except `User.email`:
None when Canvas left it out, which tells a key without Allow Include Parameters from a user with no
address); ids Canvas may omit are None. Dates stay Canvas's ISO 8601 text: the catalogue writes
them as they come and caches each distinct one, so a refresh of 100,000 courses parses a few dozen.

`sis_hidden` / `login_hidden`: Canvas left the SIS fields (or the login) out of the object, which it
does when the authorizing user's role may not read SIS data (or logins), not when they are blank
(then the key is there, null): the sync tells "hidden" from "not in Canvas" by it (CANVAS_API.md §5.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Account:
    """`parent_account_id` and `root_account_id` are None for a root account."""

    id: int
    name: str
    parent_account_id: int | None
    root_account_id: int | None
    workflow_state: str
    uuid: str = ""

    @classmethod
    def from_json(cls, a: Json) -> Account:
        return cls(
            a["id"],
            a.get("name") or "",
            a.get("parent_account_id"),
            a.get("root_account_id"),
            a.get("workflow_state") or "",
            a.get("uuid") or "",
        )


@dataclass(frozen=True, slots=True)
class HelpLink:
    id: str
    text: str
    url: str
    type: str

    @classmethod
    def from_json(cls, h: Json) -> HelpLink:
        return cls(str(h.get("id") or ""), h.get("text") or "", h.get("url") or "", h.get("type") or "")


@dataclass(frozen=True, slots=True)
class HelpLinks:
    """An account's Help menu. Canvas answers `{}` for a sub-account: no name and no links."""

    name: str
    icon: str
    custom_links: tuple[HelpLink, ...]
    default_links: tuple[HelpLink, ...]

    @classmethod
    def from_json(cls, h: Json) -> HelpLinks:
        return cls(
            h.get("help_link_name") or "",
            h.get("help_link_icon") or "",
            tuple(HelpLink.from_json(link) for link in h.get("custom_help_links") or ()),
            tuple(HelpLink.from_json(link) for link in h.get("default_help_links") or ()),
        )


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    start_at: str | None
    end_at: str | None


@dataclass(frozen=True, slots=True)
class Course:
    id: int
    name: str
    course_code: str
    sis_course_id: str
    integration_id: str
    workflow_state: str
    account_id: int | None
    start_at: str | None
    end_at: str | None
    term: Term | None
    total_students: int | None
    sis_hidden: bool = False

    @classmethod
    def from_json(cls, c: Json) -> Course:
        t = c.get("term")
        return cls(
            c["id"],
            c.get("name") or "",
            c.get("course_code") or "",
            c.get("sis_course_id") or "",
            c.get("integration_id") or "",
            c.get("workflow_state") or "",
            c.get("account_id"),
            c.get("start_at"),
            c.get("end_at"),
            Term(t.get("name") or "", t.get("start_at"), t.get("end_at")) if t else None,
            c.get("total_students"),
            "sis_course_id" not in c,
        )


@dataclass(frozen=True, slots=True)
class Section:
    id: int
    course_id: int | None
    name: str
    sis_section_id: str
    integration_id: str
    nonxlist_course_id: int | None
    sis_hidden: bool = False

    @classmethod
    def from_json(cls, s: Json) -> Section:
        return cls(
            s["id"],
            s.get("course_id"),
            s.get("name") or "",
            s.get("sis_section_id") or "",
            s.get("integration_id") or "",
            s.get("nonxlist_course_id"),
            "sis_section_id" not in s,
        )


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    sortable_name: str
    sis_user_id: str | None
    integration_id: str | None
    login_id: str | None
    email: str | None
    sis_hidden: bool = False
    login_hidden: bool = False

    @classmethod
    def from_json(cls, u: Json) -> User:
        email = ("" if u["email"] is None else u["email"]) if "email" in u else None
        return cls(
            u["id"],
            u.get("name") or "",
            u.get("sortable_name") or "",
            u.get("sis_user_id"),
            u.get("integration_id"),
            u.get("login_id"),
            email,
            "sis_user_id" not in u,
            "login_id" not in u,
        )


@dataclass(frozen=True, slots=True)
class Enrollment:
    id: int | None
    user_id: int
    course_section_id: int | None
    type: str
    role: str
    role_id: int | None
    enrollment_state: str
    user: User

    @classmethod
    def from_json(cls, e: Json, user: User | None = None) -> Enrollment:
        """`user`: the person a list of users nests this enrollment under (such enrollments embed none)."""
        u = e.get("user")
        if u:
            user = User.from_json(u)
        elif user is None:
            user = User(e["user_id"], "", "", None, None, None, None)
        return cls(
            e.get("id"),
            e.get("user_id") or user.id,
            e.get("course_section_id"),
            e.get("type") or "",
            e.get("role") or "",
            e.get("role_id"),
            e.get("enrollment_state", "active") or "",
            user,
        )


@dataclass(frozen=True, slots=True)
class CourseUser:
    """A person in a course's list of users, with their enrollments in it (each naming this user)."""

    user: User
    enrollments: tuple[Enrollment, ...]

    @classmethod
    def from_json(cls, u: Json) -> CourseUser:
        user = User.from_json(u)
        return cls(user, tuple(Enrollment.from_json(e, user) for e in u.get("enrollments") or ()))


@dataclass(frozen=True, slots=True)
class Role:
    """`label` is what Canvas shows people ("Teacher", translated for the account's language); `name`
    is what an enrollment's `role` holds ("TeacherEnrollment"). CANVAS_API.md §5.6: the two differ
    for built-in roles, so a built-in role is known by `built_in` and `base_role_type`, never its label."""

    id: int
    label: str
    base_role_type: str
    name: str = ""
    built_in: bool = False

    @classmethod
    def from_json(cls, r: Json) -> Role:
        name = r.get("role") or r.get("label") or ""
        return cls(
            r["id"],
            r.get("label") or name,
            r.get("base_role_type") or "",
            name,
            r.get("workflow_state") == "built_in",
        )


@dataclass(frozen=True, slots=True)
class Assignment:
    id: int
    name: str
    integration_id: str
    workflow_state: str
    html_url: str
    # Canvas takes no grade for an unpublished assignment ("user not authorized", CANVAS_API.md §5.7).
    published: bool = True

    @classmethod
    def from_json(cls, a: Json) -> Assignment:
        return cls(
            a["id"],
            a.get("name") or "",
            a.get("integration_id") or "",
            a.get("workflow_state") or "",
            a.get("html_url") or "",
            bool(a.get("published", a.get("workflow_state") != "unpublished")),
        )


@dataclass(frozen=True, slots=True)
class Submission:
    """One student's grade of an assignment: `score` in points (None when ungraded), `grade` as
    Canvas shows it ("13.5", "B+", "complete"; "" when ungraded)."""

    user_id: int | None
    score: float | None
    grade: str
    excused: bool

    @classmethod
    def from_json(cls, s: Json) -> Submission:
        grade = s.get("grade")
        return cls(s.get("user_id"), s.get("score"), "" if grade is None else str(grade), bool(s.get("excused")))


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one of Verify's per_page=1 calls found: the first item's id (None when the list is
    empty), and whether that item carries every `include[]` field asked for, which Canvas drops
    without a word when the developer key does not Allow Include Parameters (None when no include
    was asked for or there is no item to tell by)."""

    first_id: int | None
    includes_honoured: bool | None
    # The first item's field names: Canvas leaves SIS fields out when the role may not read them.
    first_fields: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def from_page(cls, page: list[Json], includes: Sequence[str] = ()) -> ProbeResult:
        if not page:
            return cls(None, None)
        first = page[0]
        return cls(first["id"], all(name in first for name in includes) if includes else None, frozenset(first))
