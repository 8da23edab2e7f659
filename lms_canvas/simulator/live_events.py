"""Canvas Live Events (Data Services) from the simulator: webhook subscriptions, the Canvas event format
with its quirks, RS256 signing by a key set served at /_sim/jwks that rotates, and delivery on
background threads with Canvas's retries and the faults of /_sim/faults "live_events".

Events come from the simulator's own changes (`mutate`, used by /_sim/mutate and the People page):
what Canvas would have sent for them, built from the rows before and after (CANVAS_API.md §9).
"""

from __future__ import annotations

import collections
import copy
import itertools
import json
import queue
import random
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.wrappers import Request, Response

from .live_event_format import events_for, global_id
from .shapes import uuid_for

if TYPE_CHECKING:
    from .app import SimApp
    from .store import Store

ISSUER = "https://live-events.canvas.instructure.com"
EVENT_TYPES = (
    "enrollment_created",
    "enrollment_updated",
    "enrollment_state_created",
    "enrollment_state_updated",
    "course_created",
    "course_updated",
    "course_section_created",
    "course_section_updated",
    "user_created",
    "user_updated",
)
# A mutate of more rows than this is an SIS import: background-job metadata, one job id for all.
BULK_ROWS = 20
JOB_TAG = "SIS::CSV::ImportRefactored#run_parallel_importer"
TOKEN_TTL_S = 300
DELIVERY_TIMEOUT_S = 15  # Canvas gives up on an answer after 15 s
# Canvas retries a failed delivery 3 times over 10-20 minutes; the simulator keeps the count and the
# doubling, in seconds, so a test or a demo sees the retries (settings "live_events": {"retry_s": [...]}).
RETRY_S = (1.0, 4.0, 16.0)
DELIVERY_THREADS = 8  # Canvas delivers from many workers at once; a burst must not queue behind one
REORDER_JITTER_S = 0.2
FAULT_KEYS = {"drop_rate", "duplicate_rate", "reorder", "delay_ms", "seed"}


class KeySet:
    """The previous, current and next signing keys, as Canvas's Live Events service publishes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []

    @property
    def keys(self) -> list[tuple[str, rsa.RSAPrivateKey]]:
        """Made when first asked for: three 2048-bit keys cost ~0.1-0.2 s of CPU, and most simulators
        (every test's, every benchmark's) never sign an event or serve their key set."""
        with self.lock:
            if not self._keys:
                self._keys = [self._new_key() for _ in range(3)]
            return self._keys

    @staticmethod
    def _new_key() -> tuple[str, rsa.RSAPrivateKey]:
        return f"sim-{uuid.uuid4().hex[:12]}", rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def rotate(self) -> None:
        """The monthly rotation: the current key becomes the previous one, the next one current."""
        fresh = self._new_key()
        self.keys  # noqa: B018 (made first, so the rotation moves the three a signer may have used)
        with self.lock:
            self._keys = [*self._keys[1:], fresh]

    @property
    def current_kid(self) -> str:
        return self.keys[1][0]

    def jwks(self) -> dict:
        keys = list(self.keys)
        published = []
        for kid, private in keys:
            jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
            published.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": published}

    def sign(self, claims: dict) -> str:
        kid, private = self.keys[1]
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


class LiveEvents:
    """Subscriptions, the events of each change, and their delivery (one per `SimApp`)."""

    def __init__(self) -> None:
        self.keys = KeySet()
        self.lock = threading.Lock()
        self.subscriptions: dict[str, dict] = {}
        self.faults: dict[str, Any] = {}
        self.rng = random.Random()
        self.retry_s: tuple[float, ...] = RETRY_S
        self.outbox: queue.Queue[tuple[dict, dict, int]] = queue.Queue()
        self.counts: dict[str, int] = dict.fromkeys(
            ("emitted", "sent", "delivered", "retried", "failed", "dropped", "duplicated"), 0
        )
        self.in_flight = 0
        self.answer_s: collections.deque[float] = collections.deque(maxlen=10000)  # the webhook's answer times
        self.job_ids = itertools.count(1000)
        self.http = requests.Session()
        self.threads: list[threading.Thread] = []

    def subscribe(self, sub: dict) -> None:
        """Add a subscription; the delivery threads start with the first one (most simulators have none)."""
        with self.lock:
            self.subscriptions[sub["id"]] = sub
            if not self.threads:
                self.threads = [
                    threading.Thread(target=self._deliver_forever, daemon=True) for _ in range(DELIVERY_THREADS)
                ]
                for thread in self.threads:
                    thread.start()

    def reset(self) -> None:
        """A new dataset: no subscriptions, faults or counts (the keys stay, as Canvas's do)."""
        with self.lock:
            self.subscriptions.clear()
            self.faults = {}
            for name in self.counts:
                self.counts[name] = 0
            self.answer_s.clear()

    # -- events from a change --------------------------------------------------------------------
    def mutate(self, store: Store, upsert: dict, delete: dict) -> dict[str, int]:
        """`store.mutate` and the Live Events Canvas would send for it."""
        upsert, delete = upsert or {}, delete or {}
        with store.lock:
            existed = {
                (table, row["id"]): _row(store, table, row["id"]) is not None
                for table, rows in upsert.items()
                for row in rows
                if isinstance(row, dict) and "id" in row
            }
            gone = {
                (table, row_id): copy.deepcopy(_row(store, table, row_id))
                for table, row_ids in delete.items()
                for row_id in row_ids
            }
            counts = store.mutate(upsert, delete)
            if not self.subscriptions:
                return counts
            rows = sum(len(r) for r in upsert.values()) + sum(len(ids) for ids in delete.values())
            metadata = self._metadata(store, bulk=rows > BULK_ROWS)
            events: list[dict] = []
            for table, rows_given in upsert.items():
                for given in rows_given:
                    row = _row(store, table, given["id"])
                    if row is not None:
                        created = not existed[(table, given["id"])]
                        events.extend(events_for(store, table, row, created=created, metadata=metadata))
            for (table, _row_id), row in gone.items():
                if row is not None:
                    events.extend(events_for(store, table, row, created=False, metadata=metadata, deleted=True))
        self.publish(events)
        return counts

    def _metadata(self, store: Store, bulk: bool) -> dict:
        root = store.root_account
        common = {
            "root_account_uuid": uuid_for("account", root["id"]),
            "root_account_id": global_id(root["id"]),
            "root_account_lti_guid": f"{uuid_for('account', root['id'])}:canvas-lms",
            "producer": "canvas",
        }
        if bulk:
            return {**common, "job_id": str(next(self.job_ids)), "job_tag": JOB_TAG}
        return {
            **common,
            "user_id": global_id(1),
            "user_login": "canvas-admin",
            "request_id": str(uuid.uuid4()),
            "session_id": uuid.uuid4().hex,
            "hostname": "canvas.simulator",
            "http_method": "POST",
            "user_agent": "lms-canvas-simulator",
            "time_zone": root.get("default_time_zone"),
            "client_ip": "127.0.0.1",
        }

    def publish(self, events: list[dict]) -> None:
        with self.lock:
            subscriptions = list(self.subscriptions.values())
            self.counts["emitted"] += len(events)
        items = [(sub, event) for event in events for sub in subscriptions if _wants(sub, event)]
        if self.faults.get("reorder"):
            self.rng.shuffle(items)
        for sub, event in items:
            if self.rng.random() < float(self.faults.get("drop_rate", 0)):
                self._count("dropped")
                continue
            copies = 2 if self.rng.random() < float(self.faults.get("duplicate_rate", 0)) else 1
            if copies == 2:
                self._count("duplicated")
            for _ in range(copies):
                with self.lock:
                    self.in_flight += 1
                self.outbox.put((sub, event, 0))

    # -- delivery --------------------------------------------------------------------------------
    def _deliver_forever(self) -> None:
        while True:
            sub, event, attempt = self.outbox.get()
            try:
                self._deliver(sub, event, attempt)
            finally:
                with self.lock:
                    self.in_flight -= 1

    def _deliver(self, sub: dict, event: dict, attempt: int) -> None:
        delay_s = float(self.faults.get("delay_ms", 0)) / 1000
        if self.faults.get("reorder"):
            delay_s += self.rng.uniform(0, REORDER_JITTER_S)  # later events overtake earlier ones
        if delay_s:
            time.sleep(delay_s)
        if sub["id"] not in self.subscriptions:
            return
        now = time.time()
        if sub.get("sign", True):
            body = self.keys.sign({**event, "iss": ISSUER, "iat": int(now), "exp": int(now) + TOKEN_TTL_S})
            content_type = "application/jwt"
        else:
            body, content_type = json.dumps(event), "application/json"
        self._count("sent")
        started = time.monotonic()
        try:
            answer = self.http.post(
                sub["url"], data=body, headers={"Content-Type": content_type}, timeout=DELIVERY_TIMEOUT_S
            )
            ok = 200 <= answer.status_code < 300
        except requests.RequestException:
            ok = False
        with self.lock:
            self.answer_s.append(time.monotonic() - started)
        if ok:
            self._count("delivered")
        elif attempt < len(self.retry_s):
            self._count("retried")
            with self.lock:
                self.in_flight += 1
            timer = threading.Timer(self.retry_s[attempt], self.outbox.put, args=((sub, event, attempt + 1),))
            timer.daemon = True
            timer.start()
        else:
            self._count("failed")

    def _count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1

    def idle(self) -> bool:
        """True when no delivery is queued, being sent or waiting for a retry."""
        with self.lock:
            return self.in_flight == 0

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stats(self) -> dict:
        with self.lock:
            answers = sorted(self.answer_s)
            body = {**self.counts, "in_flight": self.in_flight, "subscriptions": len(self.subscriptions)}
        if answers:
            body["answer_ms_p50"] = round(1000 * answers[len(answers) // 2], 1)
            body["answer_ms_p95"] = round(1000 * answers[min(len(answers) - 1, int(len(answers) * 0.95))], 1)
        return body


def _row(store: Store, table: str, row_id: Any) -> dict | None:
    if table == "enrollments":
        return store.enrollment(row_id)
    if table in ("users", "courses", "sections"):
        return store.get(table, row_id)
    return store.tables[table].get(row_id) if table in store.tables else None


def _wants(sub: dict, event: dict) -> bool:
    types = sub.get("event_types") or EVENT_TYPES
    return event["metadata"]["event_name"] in types


# -- control endpoints ---------------------------------------------------------------------------
def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def subscriptions(app: SimApp, request: Request) -> Response:
    live = app.live_events
    if request.method == "GET":
        return _json({"subscriptions": list(live.subscriptions.values())})
    body = request.get_json(force=True, silent=True) or {}
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return _json({"errors": ["url: an http(s) address is required"]}, 400)
    unknown = sorted(set(body.get("event_types") or ()) - set(EVENT_TYPES))
    if unknown:
        return _json({"errors": [f"event_types: unknown event type {name}" for name in unknown]}, 400)
    sub = {
        "id": uuid.uuid4().hex,
        "url": url,
        "event_types": list(body.get("event_types") or EVENT_TYPES),
        "sign": bool(body.get("sign", True)),
        "format": "canvas",
    }
    live.subscribe(sub)
    return _json(sub, 201)


def unsubscribe(app: SimApp, request: Request, sub_id: str) -> Response:
    with app.live_events.lock:
        removed = app.live_events.subscriptions.pop(sub_id, None)
    return _json({"deleted": removed is not None}, 200 if removed else 404)


def rotate(app: SimApp, request: Request) -> Response:
    app.live_events.keys.rotate()
    return _json({"current_kid": app.live_events.keys.current_kid})


def jwks(app: SimApp, request: Request) -> Response:
    return _json(app.live_events.keys.jwks())


def set_faults(live: LiveEvents, settings: dict) -> list[str]:
    """The "live_events" part of /_sim/faults; the problems, or [] once applied."""
    unknown = sorted(set(settings) - FAULT_KEYS)
    if unknown:
        return [f"unknown live_events fault setting: {name}" for name in unknown]
    if "seed" in settings:
        live.rng.seed(settings["seed"])
    live.faults = {k: v for k, v in settings.items() if k != "seed"}
    return []


ROUTES = (
    ("/_sim/live_events/subscriptions", ("GET", "POST"), subscriptions),
    ("/_sim/live_events/subscriptions/<sub_id>", ("DELETE",), unsubscribe),
    ("/_sim/live_events/rotate", ("POST",), rotate),
    ("/_sim/jwks", ("GET",), jwks),
)
