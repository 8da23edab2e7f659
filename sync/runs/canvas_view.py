"""What a run saw of Canvas's silent gaps: includes dropped (the key's Allow Include Parameters) and
SIS ids or logins hidden (the authorizing user's role). Each becomes one run-level issue, shown on the
run page and in the nightly email, and a line on LMS Settings' connection status card, which the next
run that sees the data again puts right."""

from __future__ import annotations

from collections.abc import Iterable

from lms_canvas import includes, visibility
from sync.models import SyncIssue
from sync.runs import issues
from sync.runs.reasons import reason

# The run-level reasons of this module, which the run's message and the nightly email name.
CODES = ("includes_off", "sis_hidden")


def note_includes(run_id: int, institution_id: int, honoured: Iterable[str], dropped: Iterable[str]) -> None:
    dropped, honoured = set(dropped), set(honoured)
    if dropped:
        issues.record_once(
            run_id, "includes_off", detail=f"Canvas left out {includes.names(dropped)} the portal asked for."
        )
        visibility.note(institution_id, visibility.INCLUDES, visibility.includes_capability(False))
    elif honoured:
        visibility.note(institution_id, visibility.INCLUDES, visibility.includes_capability(True))


def note_sis(run_id: int, institution_id: int, *, hidden: bool, shown: bool, logins: bool = False) -> None:
    """`hidden`: some answer left SIS ids out; `logins`: some answer left logins out; `shown`: some
    answer carried SIS ids."""
    if hidden or logins:
        issues.record_once(run_id, "sis_hidden")
        capability = visibility.sis_capability(not hidden, logins_ok=not logins)
        visibility.note(institution_id, visibility.SIS, capability)
    elif shown:
        visibility.note(institution_id, visibility.SIS, visibility.sis_capability(True))


def found(run_id: int) -> list[str]:
    """This module's codes the run recorded, in CODES order."""
    codes = set(
        SyncIssue.objects.filter(run_id=run_id, object_type="run", code__in=CODES).values_list("code", flat=True)
    )
    return [code for code in CODES if code in codes]


# What happened, in a few words, for the run's message (the issue has the whole sentence).
SHORT = {
    "includes_off": "Canvas answered without the data asked for with include parameters (the developer key's "
    "Allow Include Parameters is off); nothing was changed or removed for lack of it.",
    "sis_hidden": "Canvas hides the SIS IDs (or logins) from the Canvas user who authorized the portal; they "
    "are not blank in Canvas, and nothing was changed for lack of them.",
}


def summary(run_id: int) -> str:
    """ " <what happened> What to do: <fix>" for each, for the end of the run's message."""
    return "".join(f" {SHORT[code]} What to do: {reason(code).fix}" for code in found(run_id))
