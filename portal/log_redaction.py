"""Log lines without the secrets a request's address can carry: the authorization code on the OAuth
callback's address (and in the Referer of the page after it), and instant sync's webhook address, whose
last segment is the institution's secret (sync/live). The patterns are error reports' own
(portal.sentry.redact), so a log line and a Sentry event hide the same things.

Two places write addresses: gunicorn's access log (`--logger-class portal.log_redaction.AccessLogger`
in docker-compose.yml and the Dockerfile) and Django's own warnings ("Not Found: /live-events/...",
through settings.LOGGING's console handler and its RedactFilter)."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger

from portal.sentry import redact


class AccessLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        # Every text atom: the request line, path, query and Referer, and any header or environ atom a
        # custom --access-logformat may name.
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }


class RedactFilter(logging.Filter):
    """The record's message, formatted and redacted; django.request's `request` extra (which the JSON
    format writes out, address and all) as its redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        request = getattr(record, "request", None)
        if request is not None and not isinstance(request, str):
            record.request = redact(repr(request))
        return True
