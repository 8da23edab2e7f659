"""Is this webhook body an event Canvas's Live Events service signed? (CANVAS_API.md §9)

The body is a compact JWT signed RS256 by keys published as a JWKS document (LIVE_EVENTS_JWKS_URL),
rotated monthly with the previous, current and next keys listed. The key set is cached; a `kid` not
in it fetches it again, at most once a minute, so a forged `kid` cannot make every request a fetch.
Only RS256 is accepted: `alg: none` and HS256 (with the public key as the HMAC secret) are refused
before any key is looked at, and PyJWT is told the one algorithm as well.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache

from lms_canvas.client import get_live_events_keys
from lms_canvas.errors import CanvasError

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
CACHE_S = 3600
REFETCH_AT_MOST_EVERY_S = 60
LEEWAY_S = 30  # clocks differ a little between Canvas and us


class InvalidEvent(Exception):
    """Not an event Canvas signed, or not one we can check now; `reason` says which, for the log, and
    `code` which kind for the admin (refusals.py): "unsigned" (Sign Payload off), "format" (not the
    Canvas format), "signature" (not Canvas's, expired), "keys" (the key set unreadable: ours)."""

    def __init__(self, reason: str, code: str = "signature") -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


def _cache_key(url: str) -> str:
    return f"live-events-jwks:{url}"


def _fetch(url: str) -> dict[str, Any]:
    keys = get_live_events_keys(url)
    cache.set(_cache_key(url), keys, CACHE_S)
    return keys


def _key_for(kid: str) -> jwt.PyJWK:
    url = settings.LIVE_EVENTS_JWKS_URL
    keys = cache.get(_cache_key(url))
    try:
        if keys is None:
            keys = _fetch(url)
        found = _find(keys, kid)
        if found is None and cache.add(f"{_cache_key(url)}:refetched", 1, REFETCH_AT_MOST_EVERY_S):
            found = _find(_fetch(url), kid)  # a rotation we have not seen yet
    except CanvasError as exc:
        raise InvalidEvent(f"the key set could not be read: {exc.message}", "keys") from exc
    if found is None:
        raise InvalidEvent(f"no published key has kid {kid!r}")
    return found


def _find(keys: dict[str, Any], kid: str) -> jwt.PyJWK | None:
    for candidate in keys.get("keys", []):
        if isinstance(candidate, dict) and candidate.get("kid") == kid and candidate.get("kty") == "RSA":
            try:
                return _parsed(json.dumps(candidate, sort_keys=True))
            except jwt.PyJWTError:
                logger.warning("Live Events key %s in the published set is not a usable RSA key", kid)
                return None
    return None


@functools.lru_cache(maxsize=16)
def _parsed(jwk_json: str) -> jwt.PyJWK:
    """A published key, parsed once per process (a burst is thousands of deliveries signed by one key)."""
    return jwt.PyJWK(json.loads(jwk_json), algorithm=ALGORITHM)


def verify(token: bytes | str) -> dict[str, Any]:
    """The event's claims ({"metadata": ..., "body": ...}) if Canvas signed it and it has not expired."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidEvent("the body is not a JWT", "unsigned") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidEvent(f"algorithm {header.get('alg')!r} refused: only {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidEvent("the JWT names no key (kid)")
    key = _key_for(kid)
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[ALGORITHM],
            issuer=settings.LIVE_EVENTS_ISSUER,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidEvent("expired") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidEvent("wrong issuer") from exc
    except jwt.PyJWTError as exc:
        raise InvalidEvent(f"signature or claims refused ({type(exc).__name__})") from exc
    if not isinstance(claims.get("metadata"), dict) or not isinstance(claims.get("body"), dict):
        raise InvalidEvent("not a Canvas-format event (metadata and body)", "format")
    return claims
