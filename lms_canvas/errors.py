"""What can go wrong when talking to Canvas, as one hierarchy.

Every message is safe to show an institution admin: it names the request (method and path) and
what Canvas said, never a token or secret. `.permanent` tells callers whether retrying later can
help; `.fix` is one sentence telling the admin what to do.
"""

from __future__ import annotations

import re

# Canvas accepts tokens as a query or form parameter; such a URL must never reach a message or log.
_SECRET_PARAM = re.compile(r"(?i)\b(access_token|refresh_token|client_secret|api_key|code)=[^&\s#\"']*")
_BEARER = re.compile(r"(?i)\bbearer\s+[^\s\"',]+")


def redact(text: str) -> str:
    """Remove token-like parameters and bearer credentials from text meant for a message or log."""
    return _BEARER.sub("Bearer [redacted]", _SECRET_PARAM.sub(r"\1=[redacted]", text))


class CanvasError(Exception):
    permanent = False
    fix = "Try again later; if it keeps happening, contact support with the time it happened."

    def __init__(self, message: str, *, fix: str | None = None, status: int | None = None) -> None:
        self.message = redact(message)
        self.status = status
        if fix is not None:
            self.fix = fix
        super().__init__(self.message)


class TokenInvalid(CanvasError):
    """Canvas rejected the access token itself (401 with WWW-Authenticate)."""

    permanent = True
    fix = "Choose Generate Key in LMS Settings to authorize the portal again."

    def __init__(self, message: str, *, refresh_may_help: bool, fix: str | None = None) -> None:
        super().__init__(message, fix=fix, status=401)
        self.refresh_may_help = refresh_may_help


class ScopeMissing(CanvasError):
    """The token works but its developer key does not grant this endpoint (401, no WWW-Authenticate)."""

    permanent = True

    def __init__(self, message: str, *, scope: str | None) -> None:
        self.scope = scope
        needed = scope or "the scope for this endpoint"
        super().__init__(
            message,
            status=401,
            fix=(
                f"In Canvas, Admin > Developer Keys, edit the portal's key, enable {needed} and save; "
                "then choose Generate Key in LMS Settings, because existing tokens do not gain new scopes."
            ),
        )


class Forbidden(CanvasError):
    """The Canvas user who authorized the portal lacks a permission for this object."""

    permanent = True
    fix = (
        "Authorize the portal with a Canvas account admin (Generate Key in LMS Settings), "
        "or give the authorizing user this permission in Canvas."
    )


class NotFound(CanvasError):
    permanent = True
    fix = "Check that the object still exists in Canvas and that the ID is right, then refresh courses."


class Throttled(CanvasError):
    """Canvas kept answering 'Rate Limit Exceeded' after every patient retry."""

    fix = "Canvas is busy with other integrations using this token; try again in a few minutes."


class CanvasUnavailable(CanvasError):
    """5xx answers, timeouts or connection errors, after the retries ran out."""

    fix = "Check that the Canvas server URL is right and Canvas is up, then try again later."


class RequestRejected(CanvasError):
    """Canvas refused the request's content (400, 409, 422): a validation error, not a fault."""

    permanent = True
    fix = "Correct the value Canvas names in the message, then try again."


class AddressRefused(CanvasError):
    """The portal would not connect: the Canvas Server leads to a private, local or metadata address."""

    permanent = True
    fix = (
        "In LMS Settings, set Canvas Server to your Canvas instance's public https address, "
        "such as https://yourschool.instructure.com."
    )


class UnexpectedResponse(CanvasError):
    """Canvas answered with something this client does not understand or cannot safely follow."""

    permanent = True
    fix = "Check that the Canvas server URL points at Canvas itself; if it does, contact support."
