"""Fields that every log line carries while some work is under way (a run's id, its institution).

A task body runs inside `log_context(run_id=..., institution=...)`; the filter installed on the
log handler (settings.LOGGING) copies the fields onto each record, so the JSON formatter writes them
as keys and the plain format appends them. Context variables follow the code into threads only when
asked (`contextvars.copy_context().run`), which lms_canvas.throttle does for its request pool."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_fields: ContextVar[dict[str, Any] | None] = ContextVar("log_fields", default=None)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every log record emitted inside the block (nested blocks add to the outer ones)."""
    token = _fields.set({**current_fields(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def current_fields() -> dict[str, Any]:
    return dict(_fields.get() or {})


class LogContextFilter(logging.Filter):
    """Copies the current log_context fields onto each record; with `text=True` also sets
    `record.context` (" run_id=7 institution=alpha", or "") for a plain format string."""

    def __init__(self, text: bool = False) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current_fields()
        for key, value in fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if self.text:
            record.context = "".join(f" {key}={value}" for key, value in fields.items())
        return True
