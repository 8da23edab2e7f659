"""Optional error reporting to Sentry (settings.SENTRY_DSN), with our secrets taken out before sending.

Three layers, since one alone misses something: sentry-sdk's EventScrubber blanks values under our
secrets' names wherever they sit (frame locals, request data, headers, breadcrumbs); `scrub_event`
then drops the local variables of the modules that hold decrypted secrets and tokens (lms_canvas and
the HTTP and OAuth libraries under it), and redacts in every remaining string what looks like a
secret (`Bearer <token>`, `client_secret=...`, a password in a URL) or is one of this deployment's
own keys. Request bodies and the command line are never sent: they can hold secrets and rosters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

FILTERED = "[Filtered]"

# Lower case: the scrubber compares lower-cased keys.
SECRET_NAMES = [
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "field_encryption_keys",
    "secret_key",
    "authorization",
    "bearer",
    "encrypted_client_secret",
    "encrypted_access_token",
    "encrypted_refresh_token",
    "email_host_password",
]

# Frames of these modules keep their code and line, not their local variables.
SECRET_HOLDING_MODULES = ("lms_canvas", "requests", "requests_oauthlib", "oauthlib", "urllib3", "cryptography")

_PAIR_NAMES = "client_secret|access_token|refresh_token|id_token|code|password|secret|token"
PATTERNS = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {FILTERED}"),  # RFC 6750's b64token
    (re.compile(rf"(?i)(\b(?:{_PAIR_NAMES})\b[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,;}}]+"), rf"\1{FILTERED}"),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@"), rf"\1{FILTERED}@"),
    # Instant sync's webhook address: its last segment is the institution's secret (sync/live).
    (re.compile(r"(/live-events/canvas/)[A-Za-z0-9_-]+"), rf"\1{FILTERED}"),
]


def init_sentry(dsn: str, *, known_secrets: Iterable[str] = (), **options: Any) -> None:
    """Start the SDK for Django and Celery. `known_secrets` are values (SECRET_KEY, the encryption
    keys, passwords) redacted wherever they appear; `options` go to sentry_sdk.init (tests pass a
    transport)."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    values = sorted({v for v in known_secrets if v and len(v) >= 8}, key=len, reverse=True)

    def before_send(event: Event, hint: Hint) -> Event:
        return scrub_event(event, values)

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SECRET_NAMES], recursive=True),
        before_send=before_send,
        before_send_transaction=before_send,
        **options,
    )


def scrub_event(event: Mapping[str, Any], known_secrets: Iterable[str] = ()) -> Event:
    """The event with secret-holding frames' locals dropped, no command line, and every string redacted."""
    # The SDK adds the process's command line; a management command's arguments can be secrets.
    (event.get("extra") or {}).pop("sys.argv", None)
    for container in ("exception", "threads"):
        for value in (event.get(container) or {}).get("values") or []:
            for frame in (value.get("stacktrace") or {}).get("frames") or []:
                module = frame.get("module") or ""
                if "vars" in frame and module.split(".")[0] in SECRET_HOLDING_MODULES:
                    frame["vars"] = {}
    return _redact(event, list(known_secrets))


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    for secret in known_secrets:
        text = text.replace(secret, FILTERED)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact(value: Any, known_secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, known_secrets)
    if isinstance(value, dict):
        return {k: _redact(v, known_secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, known_secrets) for v in value]
    return value
