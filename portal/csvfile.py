"""The one CSV writer for everything the portal exports, and its inverse for what comes back.

Spreadsheet programs run a cell that starts with = + - @ (or a tab or carriage return, which they
skip before looking) as a formula, and Canvas names and SIS ids are not ours to trust. Such a cell
is written with a leading apostrophe, the spreadsheet's own "this is text" mark. A cell that
already starts with an apostrophe gets one more, so that `restore` undoes exactly what `neutralise`
did and a file the portal exported imports back unchanged. Numbers, including negative ones such
as "-2.5", are left alone: they are not formulas, and a score must stay a number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


NUL_IN_FILE = (
    "Line {line} contains a NUL character (a zero byte), which CSV text never has: the file was probably "
    "saved in another format. In your spreadsheet program, save it as “CSV UTF-8” and try again."
)


def first_nul_line(text: str) -> int | None:
    """The line (from 1) of the text's first NUL character, or None. No CSV text has one, but a file
    saved in a spreadsheet's own format or as UTF-16 does; PostgreSQL refuses a NUL in any text it is
    asked to store or compare, so an upload with one is refused whole, before any of it is looked up."""
    at = text.find("\x00")
    return None if at < 0 else text.count("\n", 0, at) + 1


def _needs_mark(text: str) -> bool:
    return text.startswith(TRIGGERS) and not NUMBER.fullmatch(text)


def neutralise(value: Any) -> Any:
    """The cell as it is safe to write: text that a spreadsheet would run gets a leading apostrophe."""
    if isinstance(value, str) and _needs_mark(value):
        return "'" + value
    return value


def restore(text: str) -> str:
    """The inverse of `neutralise` for a cell read back from a file the portal exported."""
    if text.startswith("'") and _needs_mark(text[1:]):
        return text[1:]
    return text


class SafeWriter:
    """csv.writer, with every cell passed through `neutralise`."""

    def __init__(self, out: Any) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(v) for v in row])


def writer(out: Any) -> SafeWriter:
    return SafeWriter(out)
