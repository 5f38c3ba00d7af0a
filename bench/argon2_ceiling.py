"""The physical ceiling of sign-in: argon2id verifications per second on one core.

Run pinned to the server core (``taskset -c 0 python -m bench.argon2_ceiling``) with the
production parameters of app/config.py (m=19456 KiB, t=2, p=1); prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

from argon2 import PasswordHasher
from argon2 import Type

MEMORY_COST = 19456
TIME_COST = 2
PARALLELISM = 1


def verifications_per_second(seconds: float = 5.0) -> dict:
    """Verify one correct password in a loop for ``seconds``; rate and per-call latency."""
    hasher = PasswordHasher(
        time_cost=TIME_COST, memory_cost=MEMORY_COST, parallelism=PARALLELISM, type=Type.ID
    )
    password = "correct horse battery staple"
    stored = hasher.hash(password)
    hasher.verify(stored, password)  # warm up the allocator
    samples = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        hasher.verify(stored, password)
        samples.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    samples.sort()
    return {
        "rate": len(samples) / elapsed,
        "count": len(samples),
        "p50_ms": samples[len(samples) // 2] * 1000,
        "p99_ms": samples[min(len(samples) - 1, int(0.99 * len(samples)))] * 1000,
        "params": f"m={MEMORY_COST},t={TIME_COST},p={PARALLELISM}",
    }


if __name__ == "__main__":
    print(json.dumps(verifications_per_second(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)))
