"""What the authorizing user's Canvas role lets the API show: SIS data and logins (CANVAS_API.md §5.1,
§5.2, §5.3, §5.5: without "SIS Data - read" or "SIS Data - manage" Canvas leaves `sis_*` and `integration_id` out
of the JSON, and `login_id` without "Users - view login IDs"; the keys are absent, not null), and the
account permissions endpoint that reports them.

Who may not read them is set through `POST /_sim/permissions`, for the tokens of one developer key or
of one user; it lives in the store's settings, so a reset forgets it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from .api import Ctx, Reply
    from .app import SimApp
    from .store import Store

# The permissions this simulator varies: "SIS Data - read", "SIS Data - manage", "Users - view login IDs".
PERMISSIONS = ("read_sis", "manage_sis", "view_user_logins")
# Every field "SIS Data - read" guards, wherever it appears (courses, sections, users, enrollments,
# accounts, terms). An assignment's `integration_id` is the tool's own and stays (not filtered here).
SIS_FIELDS = frozenset(
    {
        "sis_user_id",
        "sis_course_id",
        "sis_section_id",
        "sis_account_id",
        "sis_term_id",
        "integration_id",
        "course_integration_id",
        "section_integration_id",
        "sis_import_id",
    }
)
LOGIN_FIELDS = frozenset({"login_id"})


def _table(store: Store) -> dict[str, dict[str, dict[str, bool]]]:
    return store.settings.setdefault("visibility", {"keys": {}, "users": {}})


def allowed(store: Store, key_id: int | None, user_id: int | None) -> dict[str, bool]:
    """Each permission of PERMISSIONS for a token of `key_id` issued to `user_id` (denied by either)."""
    table = _table(store)
    rules = (table["keys"].get(str(key_id), {}), table["users"].get(str(user_id), {}))
    # A rule that denies read_sis and says nothing of manage_sis denies both (a role with neither,
    # what "may not read SIS data" means); manage_sis alone is a role with "SIS Data - manage" only.
    rules = tuple({"manage_sis": rule.get("read_sis", True), **rule} for rule in rules)
    return {name: all(rule.get(name, True) for rule in rules) for name in PERMISSIONS}


def hidden_fields(store: Store, key_id: int | None, user_id: int | None) -> frozenset[str]:
    rights = allowed(store, key_id, user_id)
    hidden: set[str] = set()
    if not (rights["read_sis"] or rights["manage_sis"]):  # either shows them (CANVAS_API.md §5.1-5.5)
        hidden |= SIS_FIELDS
    if not rights["view_user_logins"]:
        hidden |= LOGIN_FIELDS
    return frozenset(hidden)


def strip(body: Any, hidden: frozenset[str]) -> Any:
    """The JSON with the hidden keys left out at every depth (embedded users, terms, sections...)."""
    if not hidden:
        return body
    if isinstance(body, dict):
        return {k: strip(v, hidden) for k, v in body.items() if k not in hidden}
    if isinstance(body, list):
        return [strip(item, hidden) for item in body]
    return body


def account_permissions(ctx: Ctx, account_id: str) -> Reply:
    """GET /api/v1/accounts/:account_id/permissions?permissions[]=...: each asked name -> true/false.
    Names the simulator does not vary are granted (the demo's authorizing user is an account admin)."""
    from .api import Reply, find

    find(ctx, "accounts", account_id)
    rights = allowed(ctx.store, ctx.key_id, ctx.user_id)
    return Reply({name: rights.get(name, True) for name in ctx.arg_list("permissions")})


def control(app: SimApp, request: Request) -> Response:
    """POST /_sim/permissions {"key_id": K | "user_id": U, "read_sis": false, "manage_sis": false,
    "view_user_logins": false}."""
    body = request.get_json(force=True, silent=True)
    body = body if isinstance(body, dict) else {}
    unknown = set(body) - {"key_id", "user_id", *PERMISSIONS}
    who = [name for name in ("key_id", "user_id") if name in body]
    if unknown or len(who) != 1:
        problems = [f"unknown permissions field: {name}" for name in sorted(unknown)] or [
            "give exactly one of key_id and user_id"
        ]
        return Response(json.dumps({"errors": problems}), status=400, content_type="application/json")
    table = _table(app.store)
    group = table["keys" if who[0] == "key_id" else "users"]
    rule = group.setdefault(str(body[who[0]]), {})
    rule.update({name: bool(body[name]) for name in PERMISSIONS if name in body})
    return Response(json.dumps(table), content_type="application/json")
