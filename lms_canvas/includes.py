"""Did Canvas honour the `include[]` the portal sent? Canvas drops includes without a word when the
developer key does not Allow Include Parameters (CANVAS_API.md §2): the answer is still 200, only
the included fields are missing. The client records what each answer lacks (CanvasClient.dropped_includes)
and the runs say so, naming the checkbox, instead of saving the gaps as data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Each include the portal sends, and the field an answer carries when it was honoured. `all_courses`
# adds no field (it only finds deleted courses), so it cannot be checked.
INCLUDE_FIELDS = {
    "term": "term",
    "total_students": "total_students",
    "enrollments": "enrollments",
    "email": "email",
    "sections": "sections",
    "students": "students",
    "teachers": "teachers",
}
# Canvas leaves out every personal field, email included, of people whose enrollments are all pending.
NO_PERSONAL_INFO_STATES = frozenset({"invited", "creation_pending", "rejected"})

# Where an admin switches includes on, for every message that names the checkbox.
WHERE = (
    "In Canvas, go to Admin > Developer Keys, find the portal's key, choose edit (the pencil), tick "
    "Allow Include Parameters and Save."
)


def judged(items: list[dict[str, Any]], include: Iterable[str], *, embedded: str = "") -> tuple[set[str], set[str]]:
    """(honoured, dropped): the includes of `include` some item carries, and those none carries
    (`embedded`: the field is on each item's nested object, e.g. an enrollment's `user`). An empty
    answer, or one of people without personal info for `email`, tells nothing either way."""
    honoured: set[str] = set()
    missing: set[str] = set()
    for name in include:
        field = INCLUDE_FIELDS.get(name)
        if field is None:
            continue
        telling = [
            (item.get(embedded) or {}) if embedded else item
            for item in items
            if not (field == "email" and item.get("enrollment_state") in NO_PERSONAL_INFO_STATES)
        ]
        if telling:
            (honoured if any(field in item for item in telling) else missing).add(name)
    return honoured, missing


# What each include brings, in the words an admin reads (the parameter syntax goes to no page).
INCLUDE_WORDS = {
    "term": "the course terms",
    "total_students": "the student counts",
    "enrollments": "the people's enrollments",
    "email": "the email addresses",
    "sections": "the sections",
    "students": "the students of each section",
    "teachers": "the teachers",
}


def names(dropped_includes: Iterable[str]) -> str:
    """ "the course terms and the student counts", for a message."""
    listed = [INCLUDE_WORDS.get(name, name) for name in sorted(dropped_includes)]
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
