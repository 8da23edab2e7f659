"""One token's throttle gate shared through Redis by every process and machine that uses the token.

The same AIMD gate as throttle.ThrottleGate (its docstring says why each rule is there), with its state
in Redis: the limit and slow start in a hash, each request in flight as a lease in a sorted set scored
by its expiry, and the pause-until. Acquire and release are Lua scripts, so each reads and writes the
state atomically, and they read Redis's clock (TIME), never a machine's own. A lease expires unless
its process renews it (a daemon thread does, every quarter of `lease_ttl`, while the process holds any),
so a request may take as long as it takes, and a process killed mid-request frees its share of the
budget within `lease_ttl` instead of never.

A blocked acquire waits on Redis, not on a timer loop: a release that frees room in a full gate pushes
a wake-up onto a list, and the waiters BLPOP it (Redis serves the longest blocked first, so threads
and processes take turns). Every thread tries and waits on its own, on a connection of its own from
the client's pool: no lock in the process serializes them, because at the throttle bound the gate is
full nearly all the time, and one waiter per process meant each admission waited for the previous
one's round trips and GIL hand-offs (py-spy: a third of a batch's threads queued on that lock, and
10 of the gate's 13 slots in flight). A wake-up left in the list by a release that came before its
waiter's BLPOP is popped at once, so none is lost. A wait times out after `poll` seconds and tries
again, which is how an expired lease of a dead holder is noticed.

A release hands its slot over to a thread of the same process that is waiting, in the same script:
the waiter's lease is added if the gate, after the release's own update, has room, and the waiter is
woken in the process, without a round trip of its own. That was a BLPOP and a second try of the acquire
script per admission of a waiter (83 of a 50-course sync's 480 Redis commands, and a third of its
Canvas requests' CPU in the client, py-spy --gil). The script still decides, so every process's
leases stay within the one limit. While threads of this process wait locally, one of them (the
listener) waits on Redis's wake-ups as before, for the slots other processes free; the others wait
for a hand-over, trying the acquire script themselves every `poll`. A process's own waiters go before
another's at its releases: two processes on one token share its budget, not always evenly.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque

import redis

from lms_canvas.throttle import CANVAS_HWM, CANVAS_OUTFLOW, CANVAS_UP_FRONT_COST

# Returns 0 when a lease was taken, -1 when the gate is full, else the milliseconds left of a pause.
ACQUIRE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit')) or tonumber(ARGV[3])
local resume_at = tonumber(redis.call('HGET', KEYS[2], 'resume_at')) or 0
if resume_at > now then
  return math.ceil(resume_at - now)
end
if redis.call('ZCARD', KEYS[1]) >= math.max(1, math.floor(limit)) then
  return -1
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0
"""

# ARGV: lease, remaining ('' = no answer), throttled, up_front_cost, outflow (units/s), room, min limit,
# max limit, initial limit, key ttl (ms), a waiter's lease to hand the slot to ('' = none), lease ttl (ms).
# Returns {free slots, 1 if the waiter's lease was taken}.
RELEASE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held_before = redis.call('ZCARD', KEYS[1])
redis.call('ZREM', KEYS[1], ARGV[1])
local in_flight = redis.call('ZCARD', KEYS[1])
local remaining = tonumber(ARGV[2])
local cost, outflow, room = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local min_limit, max_limit = tonumber(ARGV[7]), tonumber(ARGV[8])
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit')) or tonumber(ARGV[9])
local slow_start = redis.call('HGET', KEYS[2], 'slow_start') ~= '0'
local resume_at = tonumber(redis.call('HGET', KEYS[2], 'resume_at')) or 0
local was_full = held_before >= math.max(1, math.floor(limit))

local function pause_until_room(left)
  resume_at = math.max(resume_at, now + (room - math.max(0, left)) / outflow * 1000)
end

if ARGV[3] == '1' then
  slow_start = false
  limit = math.max(min_limit, limit / 2)
  pause_until_room(0)
elseif remaining then
  local grown = limit + (slow_start and 1 or 1 / limit)
  local ceiling = in_flight + math.ceil(math.max(0, remaining - room) / cost)
  if ceiling < grown then
    slow_start = false
  end
  limit = math.max(min_limit, math.min(grown, ceiling, max_limit))
  local after_in_flight = remaining + in_flight * cost
  if after_in_flight < room then
    pause_until_room(after_in_flight)
  end
end
redis.call('HSET', KEYS[2], 'limit', limit, 'slow_start', slow_start and '1' or '0', 'resume_at', resume_at)
redis.call('PEXPIRE', KEYS[2], ARGV[10])

local free = math.max(1, math.floor(limit)) - in_flight
local handed = 0
if ARGV[11] ~= '' and free > 0 and resume_at <= now then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[12]), ARGV[11])
  redis.call('PEXPIRE', KEYS[1], ARGV[10])
  free = free - 1
  handed = 1
end
if was_full and free > 0 and resume_at <= now then
  for _ = 1, math.min(free, max_limit) do
    redis.call('RPUSH', KEYS[3], '1')
  end
  -- Wake-ups nobody took must not pile up: each only costs its taker one more try.
  redis.call('LTRIM', KEYS[3], -max_limit, -1)
  redis.call('PEXPIRE', KEYS[3], ARGV[10])
end
return {free, handed}
"""

# Pushes out the expiry of leases still held; XX: a lease already pruned as expired stays gone.
RENEW = """
local t = redis.call('TIME')
local expires = t[1] * 1000 + t[2] / 1000 + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expires, ARGV[i])
end
"""


class _Waiter:
    """A thread of this process waiting for a hand-over: WAITING in the queue, RESERVED while a
    release's script may take its lease, GRANTED once it did."""

    WAITING, RESERVED, GRANTED = range(3)

    def __init__(self, lease: str) -> None:
        self.lease = lease
        self.state = self.WAITING
        self.woken = threading.Event()


class RedisGate:
    """A concurrency limit for one access token, shared by everyone who uses the same Redis and `name`.

    Like ThrottleGate, `release` must be called on the thread that called `acquire`: that is how it
    knows which lease to give back (the Gate protocol passes none).
    """

    def __init__(
        self,
        client: redis.Redis,
        name: str,
        *,
        hwm: float = CANVAS_HWM,
        up_front_cost: float = CANVAS_UP_FRONT_COST,
        outflow: float = CANVAS_OUTFLOW,
        initial_limit: float = 4.0,
        min_limit: float = 1.0,
        room: float = 10.0,
        # How soon a dead holder's share comes back; live leases are renewed well within it.
        lease_ttl: float = 10.0,
        # An idle token's state is forgotten after this; slow start finds the limit again in a few round trips.
        state_ttl: float = 3600.0,
        poll: float = 0.2,
    ) -> None:
        self.redis = client
        self.name = name
        self.up_front_cost = up_front_cost
        self.outflow = outflow
        self.room = room
        self.min_limit = min_limit
        self.max_limit = max(min_limit, hwm / up_front_cost)
        self.initial_limit = min(max(initial_limit, min_limit), self.max_limit)
        self.lease_ttl = lease_ttl
        self.state_ttl = max(state_ttl, lease_ttl)
        self.poll = poll
        # The braces are a Redis Cluster hash tag: a script may only touch keys on one slot.
        prefix = f"lms:throttle:{{{name}}}"
        self.keys = [f"{prefix}:leases", f"{prefix}:state", f"{prefix}:freed"]
        self._acquire = client.register_script(ACQUIRE)
        self._release = client.register_script(RELEASE)
        self._renew = client.register_script(RENEW)
        self._held = threading.local()
        self._mine: set[str] = set()
        self._mine_lock = threading.Lock()
        self._renewer: threading.Thread | None = None
        self._local = threading.Lock()
        self._waiters: deque[_Waiter] = deque()
        self._listening = False

    @property
    def limit(self) -> float:
        stored = self.redis.hget(self.keys[1], "limit")
        return float(stored) if stored is not None else self.initial_limit

    @property
    def in_flight(self) -> int:
        return int(self.redis.zcount(self.keys[0], f"({self._now_ms()}", "+inf"))

    @property
    def pause(self) -> float:
        """Seconds until new requests may start again (0 when they may start now)."""
        resume_at = float(self.redis.hget(self.keys[1], "resume_at") or 0)
        return max(0.0, resume_at - self._now_ms()) / 1000

    def acquire(self) -> None:
        """Block until one more request may be sent."""
        lease = uuid.uuid4().hex
        args = [lease, int(self.lease_ttl * 1000), self.initial_limit, int(self.state_ttl * 1000)]
        self._wait_for_lease(lease, args)
        self._leases().append(lease)
        self._hold(lease)

    def _wait_for_lease(self, lease: str, args: list) -> None:
        waiter = _Waiter(lease)
        while True:
            wait_ms = self._acquire(keys=self.keys[:2], args=args)
            if wait_ms == 0:
                return
            if wait_ms > 0:
                # Paused for the bucket to drain: nothing can change that sooner.
                time.sleep(wait_ms / 1000)
            elif self._wait_here(waiter):
                return

    def _wait_here(self, waiter: _Waiter) -> bool:
        """Wait once for room, as the process's listener on Redis or for a release's hand-over;
        whether a release took this waiter's lease (else the caller tries the acquire script again)."""
        with self._local:
            listen = not self._listening
            if listen:
                self._listening = True
            else:
                waiter.state = _Waiter.WAITING
                waiter.woken.clear()
                self._waiters.append(waiter)
        if listen:
            try:
                self.redis.blpop([self.keys[2]], timeout=self.poll)
            finally:
                with self._local:
                    self._listening = False
            return False
        while True:
            waiter.woken.wait(self.poll)
            with self._local:
                if waiter.state == _Waiter.RESERVED:  # a release's script is deciding: its answer comes next
                    waiter.woken.clear()
                    continue
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                return waiter.state == _Waiter.GRANTED

    def release(self, remaining: float | None, throttled: bool) -> None:
        """Record the end of a request and what Canvas said about the bucket (None: no answer), and
        hand the slot to a waiting thread of this process if the gate has room for it."""
        lease = self._leases().pop()
        with self._mine_lock:
            self._mine.discard(lease)
        with self._local:
            waiter = self._waiters.popleft() if self._waiters else None
            if waiter is not None:
                waiter.state = _Waiter.RESERVED
        args = [
            lease,
            "" if remaining is None else repr(float(remaining)),
            "1" if throttled else "0",
            self.up_front_cost,
            self.outflow,
            self.room,
            self.min_limit,
            self.max_limit,
            self.initial_limit,
            int(self.state_ttl * 1000),
            waiter.lease if waiter is not None else "",
            int(self.lease_ttl * 1000),
        ]
        handed = False
        try:
            handed = bool(self._release(keys=self.keys, args=args)[1])
        finally:
            if waiter is not None:
                with self._local:
                    # Not handed (no room, a pause, or Redis failed): it tries the acquire script itself.
                    waiter.state = _Waiter.GRANTED if handed else _Waiter.WAITING
                    waiter.woken.set()

    def _hold(self, lease: str) -> None:
        with self._mine_lock:
            self._mine.add(lease)
            # Started on demand, so also in a forked child, and gone while nothing is held.
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(target=self._renew_while_held, name="throttle-leases", daemon=True)
                self._renewer.start()

    def _renew_while_held(self) -> None:
        while True:
            time.sleep(self.lease_ttl / 4)
            with self._mine_lock:
                leases = list(self._mine)
                if not leases:
                    self._renewer = None
                    return
            try:
                self._renew(keys=self.keys[:1], args=[int(self.lease_ttl * 1000), *leases])
            except (redis.ConnectionError, redis.TimeoutError):
                # Acquire and release report an outage (FallbackGate); until Redis is back, leases lapse.
                continue

    def _leases(self) -> list[str]:
        if not hasattr(self._held, "leases"):
            self._held.leases = []
        return self._held.leases

    def _now_ms(self) -> float:
        seconds, micros = self.redis.time()
        return seconds * 1000 + micros / 1000
