"""Where quota and usage counters live: Redis when ``REDIS_URL`` is set (shared by every
worker of every instance), else this process.

Every operation is one round trip to Redis at most (a Lua script where it must be
atomic), and none touches the database. When Redis fails, the process falls back to its
own counters, as the rate limiter does (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``): limits
then hold per process until Redis is back.

Keys (under ``QUOTA_KEY_PREFIX``, ``gatehouse:`` by default):

* ``q:rate:<tenant>`` the token bucket's theoretical arrival time (GCRA);
* ``q:day:<quota>:<tenant>:<YYYY-MM-DD>`` a daily quota's count;
* ``u:au:<YYYY-MM-DD>:<tenant>`` / ``u:mau:<YYYY-MM>:<tenant>`` the set of active users;
* ``u:c:<YYYY-MM-DD>:<tenant>`` a hash of usage counters not yet flushed, listed in
  ``u:dirty``; the flush renames it away atomically, so no increment is lost or doubled;
* ``q:notice:<quota>:<tenant>:<window>`` once-per-window markers of going over.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter

log = logging.getLogger("gatehouse.quotas")

# GCRA (generic cell rate algorithm): one key per tenant, the time the bucket next
# empties. A request is allowed when the new arrival time is within ``burst`` intervals
# of now. Redis' clock is the only clock, so every instance agrees.
_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - tolerance - now
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(tolerance + interval) + 1000)
return '0'
"""
_TAKE = """
local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if v > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end
return 1
"""
_ADMIT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
local limit = tonumber(ARGV[2])
if limit >= 0 and redis.call('SCARD', KEYS[1]) >= limit then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class LocalStore:
    """The same operations on this process' memory (one process, or a fallback)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._counts: dict[str, tuple[int, float]] = {}
        self._sets: dict[str, tuple[set, float]] = {}
        self._notices: dict[str, float] = {}
        self._usage: Counter = Counter()  # (day, tenant, metric) -> n

    shared = False

    def rate(self, key: str, interval: float, tolerance: float) -> float:
        now = time.monotonic() * 1000
        with self._lock:
            tat = max(self._tat.get(key, 0.0), now)
            new_tat = tat + interval
            wait = new_tat - tolerance - now
            if wait > 0:
                return wait / 1000
            self._tat[key] = new_tat
            if len(self._tat) > 100_000:  # forget buckets that have long emptied
                self._tat = {k: v for k, v in self._tat.items() if v > now}
            return 0.0

    def take(self, key: str, limit: int, ttl: int) -> bool:
        now = time.time()
        with self._lock:
            value, expires = self._counts.get(key, (0, now + ttl))
            if expires < now:
                value, expires = 0, now + ttl
            if value >= limit:
                return False
            self._counts[key] = (value + 1, expires)
            return True

    def admit(self, key: str, member: str, limit: int | None, ttl: int) -> bool:
        now = time.time()
        with self._lock:
            members, expires = self._sets.get(key, (set(), now + ttl))
            if expires < now:
                members, expires = set(), now + ttl
            if member in members:
                return True
            if limit is not None and len(members) >= limit:
                return False
            members.add(member)
            self._sets[key] = (members, now + ttl)
            return True

    def cardinality(self, key: str) -> int:
        with self._lock:
            members, expires = self._sets.get(key, (set(), 0))
            return len(members) if expires >= time.time() else 0

    def first_in_window(self, key: str, ttl: int) -> bool:
        now = time.time()
        with self._lock:
            if self._notices.get(key, 0) > now:
                return False
            self._notices[key] = now + ttl
            if len(self._notices) > 100_000:  # forget windows that have passed
                self._notices = {k: v for k, v in self._notices.items() if v > now}
            return True

    # --- usage counters ---------------------------------------------------------------

    def add_usage(self, counts: Counter) -> None:
        with self._lock:
            self._usage.update(counts)

    def add_one(self, key: tuple[str, str, str], n: int = 1) -> None:
        with self._lock:
            self._usage[key] += n

    def pending_usage(self, day: str, tenant_id: str) -> Counter:
        with self._lock:
            return Counter(
                {m: n for (d, t, m), n in self._usage.items() if d == day and t == tenant_id}
            )

    def take_usage(self, batch: int = 500):
        """Yield ``(day, tenant, counts, done, undo)`` for every unflushed tenant-day."""
        with self._lock:
            taken, self._usage = self._usage, Counter()
        grouped: dict[tuple[str, str], Counter] = {}
        for (day, tenant_id, metric), n in taken.items():
            grouped.setdefault((day, tenant_id), Counter())[metric] += n
        for (day, tenant_id), counts in grouped.items():

            def undo(day=day, tenant_id=tenant_id, counts=counts):
                self.add_usage(Counter({(day, tenant_id, m): n for m, n in counts.items()}))

            yield day, tenant_id, counts, (lambda: None), undo


class RedisStore:
    """The operations on Redis; on a Redis error, the process' own ``fallback``."""

    shared = True

    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix
        self.fallback = LocalStore()
        self._rate = client.register_script(_RATE)
        self._take = client.register_script(_TAKE)
        self._admit = client.register_script(_ADMIT)
        self._warned = 0.0

    def _failed(self, what: str) -> None:
        now = time.monotonic()
        if now - self._warned > 10:  # one warning per 10 s, not one per request
            self._warned = now
            log.warning("Redis unavailable for %s; using this process' counters", what)

    def rate(self, key: str, interval: float, tolerance: float) -> float:
        try:
            return float(self._rate(keys=[self.prefix + key], args=[interval, tolerance])) / 1000
        except Exception:  # noqa: BLE001 - Redis down: per-process limits
            self._failed("rate limits")
            return self.fallback.rate(key, interval, tolerance)

    def take(self, key: str, limit: int, ttl: int) -> bool:
        try:
            return bool(self._take(keys=[self.prefix + key], args=[limit, ttl]))
        except Exception:  # noqa: BLE001
            self._failed("daily quotas")
            return self.fallback.take(key, limit, ttl)

    def admit(self, key: str, member: str, limit: int | None, ttl: int) -> bool:
        limit_arg = -1 if limit is None else limit
        try:
            return bool(self._admit(keys=[self.prefix + key], args=[member, limit_arg, ttl]))
        except Exception:  # noqa: BLE001
            self._failed("active users")
            return self.fallback.admit(key, member, limit, ttl)

    def cardinality(self, key: str) -> int:
        try:
            return int(self.client.scard(self.prefix + key))
        except Exception:  # noqa: BLE001
            return self.fallback.cardinality(key)

    def first_in_window(self, key: str, ttl: int) -> bool:
        try:
            return bool(self.client.set(self.prefix + key, b"1", nx=True, ex=ttl))
        except Exception:  # noqa: BLE001
            return self.fallback.first_in_window(key, ttl)

    # --- usage counters ---------------------------------------------------------------

    def _hash(self, day: str, tenant_id: str) -> str:
        return f"{self.prefix}u:c:{day}:{tenant_id}"

    def add_usage(self, counts: Counter) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            dirty = set()
            for (day, tenant_id, metric), n in counts.items():
                pipe.hincrby(self._hash(day, tenant_id), metric, n)
                dirty.add(f"{day}|{tenant_id}")
            if dirty:
                pipe.sadd(f"{self.prefix}u:dirty", *dirty)
            pipe.execute()
        except Exception:  # noqa: BLE001 - keep them here until Redis is back
            self._failed("usage counters")
            self.fallback.add_usage(counts)

    def pending_usage(self, day: str, tenant_id: str) -> Counter:
        counts = self.fallback.pending_usage(day, tenant_id)
        try:
            raw = self.client.hgetall(self._hash(day, tenant_id))
        except Exception:  # noqa: BLE001
            return counts
        counts.update({k.decode(): int(v) for k, v in raw.items()})
        return counts

    def _park(self, source: str, parked: str) -> bool:
        """Rename ``source`` away atomically; False when there is none (already taken)."""
        import redis

        try:
            self.client.rename(source, parked)
        except redis.ResponseError:  # no such key: another flush took it
            return False
        return True

    def take_usage(self, batch: int = 500):
        yield from self.fallback.take_usage(batch)
        dirty = f"{self.prefix}u:dirty"
        while True:
            members = self.client.spop(dirty, batch)
            if not members:
                return
            for member in members:
                day, _, tenant_id = member.decode().partition("|")
                source = self._hash(day, tenant_id)
                parked = f"{self.prefix}u:flushing:{uuid.uuid4().hex}"
                if not self._park(source, parked):
                    continue
                raw = self.client.hgetall(parked)
                counts = Counter({k.decode(): int(v) for k, v in raw.items()})

                def done(parked=parked):
                    self.client.delete(parked)

                def undo(parked=parked, day=day, tenant_id=tenant_id, counts=counts):
                    self.add_usage(Counter({(day, tenant_id, m): n for m, n in counts.items()}))
                    self.client.delete(parked)

                yield day, tenant_id, counts, done, undo
