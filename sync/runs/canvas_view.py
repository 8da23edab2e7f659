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
        issues.record_once(run_id, "includes_off", detail=f"Left out: {includes.names(dropped)}.")
        visibility.note(institution_id, visibility.INCLUDES, visibility.includes_capability(False))
    elif honoured:
        visibility.note(institution_id, visibility.INCLUDES, visibility.includes_capability(True))


def note_sis(run_id: int, institution_id: int, *, hidden: bool, shown: bool, logins: bool = False) -> None:
    """`hidden`: some answer left SIS ids (or, `logins`, logins) out; `shown`: some answer carried them."""
    if hidden:
        issues.record_once(run_id, "sis_hidden")
        visibility.note(institution_id, visibility.SIS, visibility.sis_capability(False, logins=logins))
    elif shown:
        visibility.note(institution_id, visibility.SIS, visibility.sis_capability(True))


def found(run_id: int) -> list[str]:
    """This module's codes the run recorded, in CODES order."""
    codes = set(
        SyncIssue.objects.filter(run_id=run_id, object_type="run", code__in=CODES).values_list("code", flat=True)
    )
    return [code for code in CODES if code in codes]


def summary(run_id: int) -> str:
    """ " Include parameters not allowed: <fix>" for each, for the end of the run's message."""
    return "".join(f" {reason(code).title}: {reason(code).fix}" for code in found(run_id))
