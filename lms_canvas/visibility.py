"""What Canvas shows the portal beyond its scopes: included data (the key's Allow Include Parameters)
and SIS ids and logins (the authorizing user's Canvas role). Both fail in silence, a 200 without the
data, so Generate Key checks them once and every sync or refresh notes what it saw on the connection's
status card (`CanvasConnection.capabilities`), which LMS Settings lists."""

from __future__ import annotations

from django.db import transaction

from lms_canvas import includes
from lms_canvas.client import CanvasClient
from lms_canvas.errors import CanvasError
from lms_canvas.models import CanvasConnection

INCLUDES = "includes"
SIS = "sis_visibility"

INCLUDES_OFF_MESSAGE = (
    "Canvas answers without the data the portal asks for with include parameters (such as terms, "
    "student counts and emails): the developer key's Allow Include Parameters box is not ticked."
)
SIS_LABEL = "SIS IDs and logins"
# Each thing Canvas may hide, and the permission of the authorizing user's role that shows it.
SIS_DATA = ("SIS IDs", "“SIS Data - read”")
LOGINS = ("logins", "“Users - view login IDs”")
SIS_HIDDEN_MESSAGE = (
    "Canvas hides {what} from the portal: the Canvas user who authorized it (Generate Key) has a role "
    "without the {permissions} permission{s}. They are not blank in Canvas."
)
SIS_HIDDEN_FIX = (
    "In Canvas, Admin > the account > Permissions: give that user's role {permissions}; or have a Canvas "
    "admin whose role has {them} choose Generate Key here and authorize the portal. Then Sync Now."
)


def _hidden(sis: bool, logins: bool) -> list[tuple[str, str]]:
    return [item for item, hidden in ((SIS_DATA, sis), (LOGINS, logins)) if hidden]


def sis_hidden_message(sis: bool = True, logins: bool = False) -> str:
    """Only what is hidden: a role that may read SIS data but not logins is not told its SIS IDs are hidden."""
    hidden = _hidden(sis, logins)
    return SIS_HIDDEN_MESSAGE.format(
        what=" and ".join(what for what, _ in hidden),
        permissions=" and ".join(permission for _, permission in hidden),
        s="s" if len(hidden) > 1 else "",
    )


def sis_hidden_fix(sis: bool = True, logins: bool = False) -> str:
    hidden = _hidden(sis, logins)
    return SIS_HIDDEN_FIX.format(
        permissions=" and ".join(permission for _, permission in hidden), them="them" if len(hidden) > 1 else "it"
    )


def includes_capability(ok: bool) -> dict:
    if ok:
        return {"label": "Include parameters", "ok": True, "message": "", "fix": ""}
    return {"label": "Include parameters", "ok": False, "message": INCLUDES_OFF_MESSAGE, "fix": includes.WHERE}


def sis_capability(sis_ok: bool, *, logins_ok: bool = True) -> dict:
    """The status card's line. `sis_hidden` (read by Select Courses: a blank SIS ID may be hidden) and
    `logins_hidden` say which; a card saved before they were kept has neither, and reads as SIS hidden."""
    found = {"sis_hidden": not sis_ok, "logins_hidden": not logins_ok}
    if sis_ok and logins_ok:
        return {"label": SIS_LABEL, "ok": True, "message": "", "fix": "", **found}
    hidden = {"sis": not sis_ok, "logins": not logins_ok}
    return {
        "label": SIS_LABEL,
        "ok": False,
        "message": sis_hidden_message(**hidden),
        "fix": sis_hidden_fix(**hidden),
        **found,
    }


def check_sis(client: CanvasClient, account_id: int | str, first_course: frozenset[str] | None) -> dict | None:
    """Generate Key's check: the authorizing user's permissions when the token may read them (a key
    that enforces scopes without the permissions scope may not: then the first course's fields tell,
    Canvas leaving `sis_course_id` out when the role may not read SIS data). None: nothing to tell by."""
    try:
        rights = client.get_permissions(account_id)
    except CanvasError:
        rights = None
    if rights is not None:
        return sis_capability(rights["read_sis"] or rights["manage_sis"], logins_ok=rights["view_user_logins"])
    if first_course is None:
        return None
    return sis_capability("sis_course_id" in first_course)


def note(institution_id: int, name: str, capability: dict) -> None:
    """What a run saw, on the connection's status card (a Verified connection's; others show why not).

    Each sync batch notes twice, nearly always what the card already says: that is one read of the
    card alone: the whole row cost three Fernet decrypts (its secrets) and a locking transaction each
    time, 4% of a 50-course run's worker CPU (h14's profile). Only a change locks the row, so that two
    batches noting different lines cannot drop one another's."""
    connections = CanvasConnection.objects.filter(institution_id=institution_id).only(
        "id", "capabilities", "updated_at"
    )
    found = connections.first()
    if found is None or found.capabilities.get(name) == capability:
        return
    with transaction.atomic():
        # server_url deferred: save() knows the connection did not move (CanvasConnection.save).
        conn = connections.select_for_update().first()
        if conn is None or conn.capabilities.get(name) == capability:
            return
        conn.capabilities = {**conn.capabilities, name: capability}
        conn.save(update_fields=["capabilities", "updated_at"])
