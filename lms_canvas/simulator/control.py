"""`/_sim/*` control endpoints for tests, demos and benchmarks (only with `--control`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from . import visibility
from .live_events import set_faults as set_live_faults
from .store import validate

if TYPE_CHECKING:
    from .app import SimApp

FAULT_KEYS = {
    "latency_ms",
    "error_rate",
    "error_status",
    "error_repeat_max",
    "timeout_rate",
    "timeout_s",
    "timeout_mode",
    "throttle",
    "paths",
    "malformed_json_rate",
    "loop_pagination",
    "lost_grade_write_rate",
    "seed",
    "live_events",
}
KEY_FIELDS = {
    "scopes",
    "require_scopes",
    "allow_includes",
    "state",
    "workflow_state",
    "redirect_uris",
    "name",
    "api_key",
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _body(request: Request) -> dict:
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


def reset(app: SimApp, request: Request) -> Response:
    from .app import build_store

    body = _body(request)
    if "generate" in body:
        app.replace_store(build_store(generate=int(body["generate"]), seed=int(body.get("seed", 1))))
        return _json({"ok": True, "courses": len(app.store.tables["courses"])})
    problems = validate(body)
    if problems:
        return _json({"errors": problems}, 400)
    app.replace_store(build_store(body))
    return _json({"ok": True, "courses": len(app.store.tables["courses"])})


def faults(app: SimApp, request: Request) -> Response:
    body = _body(request)
    unknown = set(body) - FAULT_KEYS
    if unknown:
        return _json({"errors": [f"unknown fault setting: {name}" for name in sorted(unknown)]}, 400)
    if "throttle" in body:
        # The throttle reads this dict on every request, so update it in place.
        app.store.settings["throttle"].update(body.pop("throttle"))
        app.throttle.reset()
    if not body:
        app.live_events.faults = {}
    if "live_events" in body:
        problems = set_live_faults(app.live_events, body.pop("live_events") or {})
        if problems:
            return _json({"errors": problems}, 400)
    if "seed" in body:
        app.fault_rng.seed(body.pop("seed"))
    app.faults = {**app.faults, **body} if body else {}
    with app.error_streaks_lock:
        app.error_streaks.clear()
    return _json({"faults": app.faults, "throttle": app.store.settings["throttle"]})


def clock(app: SimApp, request: Request) -> Response:
    app.clock.advance(float(_body(request).get("advance_s", 0)))
    return _json({"now": app.clock.now(), "offset_s": app.clock.offset})


def mutate(app: SimApp, request: Request) -> Response:
    body = _body(request)
    try:
        counts = app.live_events.mutate(app.store, body.get("upsert") or {}, body.get("delete") or {})
    except (ValueError, KeyError, TypeError) as error:
        return _json({"errors": [str(error)]}, 400)
    return _json(counts)


def key(app: SimApp, request: Request, key_id: int) -> Response:
    body = _body(request)
    unknown = set(body) - KEY_FIELDS
    if unknown:
        return _json({"errors": [f"unknown developer key field: {name}" for name in sorted(unknown)]}, 400)
    try:
        updated = app.update_key(key_id, body)
    except KeyError:
        return _json({"errors": [f"developer_keys id {key_id}: not found"]}, 404)
    return _json({k: v for k, v in updated.items() if k != "api_key"})


def revoke_tokens(app: SimApp, request: Request) -> Response:
    return _json({"revoked": app.auth.revoke_where(lambda record: True)})


def stats(app: SimApp, request: Request) -> Response:
    with app.stats.lock:
        requests = {endpoint: dict(codes) for endpoint, codes in app.stats.requests.items()}
        body = {
            "requests": requests,
            "total_requests": sum(sum(codes.values()) for codes in requests.values()),
            "peak_concurrent": app.stats.peak_concurrent,
            "in_flight": app.stats.in_flight,
            "throttled": app.stats.throttled,
            "cost": round(app.stats.cost, 4),
        }
    body.update({"tokens_issued": app.auth.issued, "tokens_refreshed": app.auth.refreshed})
    body["live_events"] = app.live_events.stats()
    return _json(body)


ROUTES = (
    ("/_sim/reset", ("POST",), reset),
    ("/_sim/faults", ("POST",), faults),
    ("/_sim/clock", ("POST",), clock),
    ("/_sim/mutate", ("POST",), mutate),
    ("/_sim/keys/<int:key_id>", ("POST",), key),
    ("/_sim/tokens/revoke", ("POST",), revoke_tokens),
    ("/_sim/permissions", ("POST",), visibility.control),
    ("/_sim/stats", ("GET",), stats),
)
