"""The read API for the guide's scopes: accounts, courses, users, enrollments, sections, roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from . import shapes
from .paging import paginate, paginate_bookmark
from .store import Store

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
ACTIVE_OR_PENDING = {"active", "invited", "creation_pending"}
ADMIN_DEFAULT_STATES = ACTIVE_OR_PENDING | {"inactive"}
COURSE_STATES = {"created", "claimed", "available", "completed", "deleted"}
LONG_TYPES = {short: long for long, short in shapes.SHORT_TYPES.items()}
ADMIN_COURSE_TYPES = {"TeacherEnrollment", "TaEnrollment", "DesignerEnrollment"}


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    items: int = 1


@dataclass
class Ctx:
    request: Request
    store: Store
    host: str
    user_id: int
    includes: list[str]
    now: float
    key_id: int | None = None  # the developer key of the caller's token (what its role may see)

    def arg_list(self, name: str) -> list[str]:
        args = self.request.args
        return args.getlist(f"{name}[]") + args.getlist(name)

    def flag(self, name: str) -> bool | None:
        raw = self.request.args.get(name)
        return None if raw is None else raw.lower() in ("1", "true", "yes", "on")

    @property
    def max_per_page(self) -> int:
        return int(self.store.settings["max_per_page"])

    def page(self, rows: Any, *, with_last: bool) -> tuple[list, dict[str, str]]:
        items, link = paginate(self.request, rows, self.max_per_page, with_last=with_last)
        return items, {"Link": link}


def find(ctx: Ctx, table: str, raw: str) -> dict:
    row = ctx.store.resolve(table, raw)
    if row is None:
        raise ApiError(404, NOT_FOUND)
    return row


def find_course(ctx: Ctx, raw: str) -> dict:
    course = find(ctx, "courses", raw)
    if course.get("workflow_state") == "deleted":
        raise ApiError(404, NOT_FOUND)
    return course


def reply_list(items: list, headers: dict[str, str]) -> Reply:
    return Reply(items, headers=headers, items=len(items))


# -- accounts ----------------------------------------------------------------------------------
def list_accounts(ctx: Ctx) -> Reply:
    admin_accounts = {
        admin.get("account_id") or ctx.store.root_account["id"]
        for admin in ctx.store.tables["admins"].values()
        if admin.get("user_id") == ctx.user_id
    }
    accounts = [ctx.store.account(aid) for aid in sorted(admin_accounts)]
    items, headers = ctx.page([a for a in accounts if a], with_last=True)
    return reply_list([shapes.account_json(ctx.store, a) for a in items], headers)


def course_accounts(ctx: Ctx) -> Reply:
    account_ids = set()
    for enrollment in ctx.store.enrollments_by_user.get(ctx.user_id, []):
        course = ctx.store.tables["courses"].get(enrollment["course_id"])
        if course and enrollment.get("type") in ADMIN_COURSE_TYPES:
            account_ids.add(course["account_id"])
    accounts = [ctx.store.account(aid) for aid in sorted(account_ids)]
    items, link = paginate_bookmark(ctx.request, accounts, lambda a: [a["id"]], ctx.max_per_page)
    return reply_list([shapes.account_json(ctx.store, a, read_only=True) for a in items], {"Link": link})


def get_account(ctx: Ctx, id: str) -> Reply:
    return Reply(shapes.account_json(ctx.store, find(ctx, "accounts", id)))


def help_links(ctx: Ctx, account_id: str) -> Reply:
    account = find(ctx, "accounts", account_id)
    if account["id"] != ctx.store.root_account["id"]:
        return Reply({})
    default = {
        "id": "instructor_question",
        "text": "Ask Your Instructor a Question",
        "subtext": "Questions are submitted to your instructor",
        "url": "#teacher_feedback",
        "type": "default",
        "available_to": ["student"],
        "is_featured": False,
        "is_new": False,
        "feature_headline": "",
    }
    return Reply(
        {
            "help_link_name": "Help",
            "help_link_icon": "help",
            "custom_help_links": [],
            "default_help_links": [default],
        }
    )


# -- courses -----------------------------------------------------------------------------------
def account_courses(ctx: Ctx, account_id: str) -> Reply:
    account = find(ctx, "accounts", account_id)
    search = ctx.request.args.get("search_term")
    if search is not None and len(search) < 3:
        raise ApiError(
            400,
            {"errors": [{"field": "search_term", "code": "invalid", "message": "3 or more characters is required"}]},
        )
    rows = _filtered_courses(ctx, account, search)
    items, headers = ctx.page(rows, with_last=False)
    return reply_list([shapes.course_json(ctx.store, c, ctx.includes, ctx.host) for c in items], headers)


def _course_ids_under(store: Store, account_id: int) -> list[int]:
    if account_id == store.root_account["id"]:
        return store.course_ids_sorted
    ids: list[int] = []
    for aid in store.account_subtree(account_id):
        ids.extend(store.courses_by_account.get(aid, []))
    return sorted(ids)


def _filtered_courses(ctx: Ctx, account: dict, search: str | None) -> Iterator[dict]:
    """The matching courses; the id list is cached per query until the data changes, so deep
    pages of a large institution stay cheap."""
    states = set(ctx.arg_list("state"))
    states = COURSE_STATES if "all" in states else (states or COURSE_STATES - {"deleted"})
    if "unpublished" in states:
        states |= {"created", "claimed"}
    args = ctx.request.args
    query = (account["id"], frozenset(states), ctx.flag("published"), _term_filter(ctx), (search or "").lower(),
             args.get("sort"), args.get("order"))  # fmt: skip
    courses = ctx.store.tables["courses"]
    ids = ctx.store.query_cache.get(query)
    if ids is None:
        ids = [c["id"] for c in _matching_courses(ctx, account, *query[1:5])]
        ctx.store.query_cache[query] = ids
    return (courses[cid] for cid in ids if cid in courses)


def _matching_courses(
    ctx: Ctx, account: dict, states: frozenset, published: bool | None, term_id: int | None, needle: str
) -> list[dict]:
    rows = [ctx.store.tables["courses"][cid] for cid in _course_ids_under(ctx.store, account["id"])]
    if ctx.request.args.get("sort") in ("course_name", "sis_course_id"):
        rows = _sorted_courses(ctx, rows)
    found = []
    for course in rows:
        state = shapes.course_db_state(course)
        if state not in states or (published is True and state != "available"):
            continue
        if published is False and state == "available":
            continue
        if term_id is not None and course.get("enrollment_term_id") != term_id:
            continue
        if needle and not _course_matches(course, needle):
            continue
        found.append(course)
    return found


def _sorted_courses(ctx: Ctx, rows: list[dict]) -> list[dict]:
    field_name = "name" if ctx.request.args["sort"] == "course_name" else "sis_course_id"
    rows.sort(key=lambda c: ((c.get(field_name) or "").lower(), c["id"]))
    return rows[::-1] if ctx.request.args.get("order") == "desc" else rows


def _term_filter(ctx: Ctx) -> int | None:
    raw = ctx.request.args.get("enrollment_term_id")
    if not raw:
        return None
    term = ctx.store.resolve("terms", raw)
    return term["id"] if term else -1


def _course_matches(course: dict, needle: str) -> bool:
    return (
        needle in (course.get("name") or "").lower()
        or needle in (course.get("course_code") or "").lower()
        or needle == str(course["id"])
        or needle == (course.get("sis_course_id") or "").lower()
    )


def account_course(ctx: Ctx, account_id: str, id: str) -> Reply:
    account = find(ctx, "accounts", account_id)
    course = find(ctx, "courses", id)
    if course.get("account_id") not in ctx.store.account_subtree(account["id"]):
        raise ApiError(404, NOT_FOUND)
    if course.get("workflow_state") == "deleted" and "all_courses" not in ctx.includes:
        raise ApiError(404, NOT_FOUND)
    return Reply(shapes.course_json(ctx.store, course, ctx.includes, ctx.host))


def get_course(ctx: Ctx, id: str) -> Reply:
    course = find(ctx, "courses", id)
    if course.get("workflow_state") == "deleted" and "all_courses" not in ctx.includes:
        raise ApiError(404, NOT_FOUND)
    return Reply(shapes.course_json(ctx.store, course, ctx.includes, ctx.host))


# -- users in a course -------------------------------------------------------------------------
def course_users(ctx: Ctx, course_id: str) -> Reply:
    course = find_course(ctx, course_id)
    types = {LONG_TYPES[t] for t in ctx.arg_list("enrollment_type") if t in LONG_TYPES}
    role_id = ctx.request.args.get("enrollment_role_id")
    states = set(ctx.arg_list("enrollment_state")) or {"active", "invited"}
    user_ids = {int(u) for u in ctx.arg_list("user_ids") if u.isdigit()}
    by_user: dict[int, list[dict]] = {}
    for enrollment in ctx.store.course_enrollments(course["id"]):
        kind = enrollment.get("type")
        if kind == "StudentViewEnrollment" and "test_student" not in ctx.includes and "student_view" not in types:
            continue
        if types and kind not in types or role_id and str(enrollment.get("role_id")) != role_id:
            continue
        if user_ids and enrollment["user_id"] not in user_ids:
            continue
        if shapes.enrollment_state(ctx.store, enrollment) in states:
            by_user.setdefault(enrollment["user_id"], []).append(enrollment)
    rows = _users_sorted(ctx, by_user)
    items, headers = ctx.page(rows, with_last=False)
    all_by_user: dict[int, list[dict]] = {}
    for enrollment in ctx.store.course_enrollments(course["id"]):
        all_by_user.setdefault(enrollment["user_id"], []).append(enrollment)
    return reply_list([_course_user_json(ctx, user, all_by_user[user["id"]]) for user in items], headers)


def _users_sorted(ctx: Ctx, by_user: dict[int, list[dict]]) -> list[dict]:
    users = [u for u in (ctx.store.user(uid) for uid in by_user) if u]
    search = (ctx.request.args.get("search_term") or "").lower()
    if search:
        if len(search) < 2:
            raise ApiError(
                400,
                {
                    "errors": [
                        {"field": "search_term", "code": "invalid", "message": "2 or more characters is required"}
                    ]
                },
            )
        users = [u for u in users if search in f"{u.get('name')} {u.get('sis_user_id')} {u.get('login_id')}".lower()]
    return sorted(users, key=lambda u: ((u.get("sortable_name") or u.get("name") or "").lower(), u["id"]))


def _course_user_json(ctx: Ctx, user: dict, enrollments: list[dict]) -> dict:
    # Canvas always adds sis_user_id and email here, and hides personal data of users whose only
    # enrollments are invitations.
    states = {shapes.enrollment_state(ctx.store, e) for e in enrollments}
    personal = not states <= shapes.INVITED_ONLY
    body = shapes.user_json(user, [*ctx.includes, "email"], personal=personal)
    if "enrollments" in ctx.includes:
        wanted = set(ctx.arg_list("enrollment_state")) or (
            ACTIVE_OR_PENDING | ({"inactive"} if ctx.flag("include_inactive") else set())
        )
        body["enrollments"] = [
            shapes.enrollment_json(ctx.store, e, ctx.host)
            for e in enrollments
            if shapes.enrollment_state(ctx.store, e) in wanted
        ]
    return body


# -- enrollments -------------------------------------------------------------------------------
def course_enrollments(ctx: Ctx, course_id: str) -> Reply:
    course = find_course(ctx, course_id)
    roles = ctx.arg_list("role")
    role_ids = _role_ids(ctx, roles) if roles else set()
    if ctx.request.args.get("role_id"):
        role_ids.add(int(ctx.request.args["role_id"]))
    types = set() if role_ids else set(ctx.arg_list("type"))
    states = set(ctx.arg_list("state")) or ADMIN_DEFAULT_STATES
    user_id = ctx.request.args.get("user_id")
    rows = []
    for enrollment in ctx.store.course_enrollments(course["id"]):
        if types and enrollment.get("type") not in types or role_ids and enrollment.get("role_id") not in role_ids:
            continue
        if user_id and str(enrollment["user_id"]) != user_id:
            continue
        if shapes.enrollment_state(ctx.store, enrollment) in states:
            rows.append(enrollment)
    # Each row's sort key made once (a user lookup each), for the sort and the bookmark's search alike.
    keyed = sorted(((_enrollment_key(ctx.store, e), e) for e in rows), key=lambda pair: pair[0])
    rows, keys = [e for _, e in keyed], [key for key, _ in keyed]
    items, link = paginate_bookmark(
        ctx.request, rows, lambda e: _enrollment_key(ctx.store, e), ctx.max_per_page, keys=keys
    )
    user_includes = [i for i in ctx.includes if i in ("avatar_url", "group_ids", "uuid", "email")]
    body = [shapes.enrollment_json(ctx.store, e, ctx.host, user_includes) for e in items]
    return reply_list(body, {"Link": link})


def _enrollment_key(store: Store, enrollment: dict) -> list:
    user = store.user(enrollment["user_id"]) or {}
    return [enrollment.get("type", ""), (user.get("sortable_name") or "").lower(), enrollment["id"]]


def _role_ids(ctx: Ctx, names: list[str]) -> set[int]:
    by_label = {r["label"]: r["id"] for r in ctx.store.tables["roles"].values()}
    missing = [name for name in names if name not in by_label]
    if missing:
        raise ApiError(400, {"errors": [{"message": "role not found"}]})
    return {by_label[name] for name in names}


# -- sections ----------------------------------------------------------------------------------
def course_sections(ctx: Ctx, course_id: str) -> Reply:
    course = find_course(ctx, course_id)
    sections = [s for s in ctx.store.course_sections(course["id"]) if s.get("workflow_state") != "deleted"]
    items, headers = ctx.page(sections, with_last=True)
    return reply_list([shapes.section_json(ctx.store, s, ctx.includes, ctx.host) for s in items], headers)


def course_section(ctx: Ctx, course_id: str, id: str) -> Reply:
    course = find_course(ctx, course_id)
    section = find(ctx, "sections", id)
    if section["course_id"] != course["id"] or section.get("workflow_state") == "deleted":
        raise ApiError(404, NOT_FOUND)
    return Reply(shapes.section_json(ctx.store, section, ctx.includes, ctx.host))


def section(ctx: Ctx, id: str) -> Reply:
    found = find(ctx, "sections", id)
    course = ctx.store.tables["courses"].get(found["course_id"]) or {}
    if found.get("workflow_state") == "deleted" or course.get("workflow_state") == "deleted":
        raise ApiError(404, NOT_FOUND)
    return Reply(shapes.section_json(ctx.store, found, ctx.includes, ctx.host))


# -- roles -------------------------------------------------------------------------------------
def account_roles(ctx: Ctx, account_id: str) -> Reply:
    account = find(ctx, "accounts", account_id)
    states = set(ctx.arg_list("state")) or {"active"}
    accounts = set(ctx.store.account_chain(account["id"])) if ctx.flag("show_inherited") else {account["id"]}
    roles = []
    for role in sorted(ctx.store.tables["roles"].values(), key=lambda r: r["id"]):
        state = role.get("workflow_state", "active")
        if state == "built_in" and "active" in states or state in states and role.get("account_id") in accounts:
            roles.append(role)
    items, headers = ctx.page(roles, with_last=True)
    return reply_list([shapes.role_json(ctx.store, r) for r in items], headers)
