"""Real concurrent requests for the unique-constraint race tests.

``widened_race_window(Model)`` makes every flush that inserts a ``Model`` wait a moment
before it reaches the database, in the server's threads as well: two requests released
together then both pass the service's "already exists?" check before either inserts,
so the race the database's unique constraint settles happens on every run instead of
once in a while. Nothing is replaced: the real views, services and database run.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import requests
from sqlalchemy import event
from sqlalchemy.orm import Session


@contextmanager
def widened_race_window(model, seconds: float = 0.4):
    def delay(session, _context, _instances):
        if any(isinstance(obj, model) for obj in session.new):
            time.sleep(seconds)

    event.listen(Session, "before_flush", delay)
    try:
        yield
    finally:
        event.remove(Session, "before_flush", delay)


def together(*calls) -> list:
    """Run ``calls`` in threads released at the same instant; their results, in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported to the test as a result
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


class HttpClient:
    """A ``requests`` session against the live server, with the Host of one origin."""

    def __init__(self, live_server, host: str):
        self.session = requests.Session()
        self.root = f"http://127.0.0.1:{live_server.port}"
        self.host = host

    def request(self, method: str, path: str, **kwargs):
        headers = {"Host": self.host, **kwargs.pop("headers", {})}
        return self.session.request(
            method, self.root + path, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )

    def csrf(self, path: str) -> str:
        from tests.support.http import csrf_from

        page = self.request("GET", path)
        token = csrf_from(page.text)
        assert token, (path, page.status_code)
        return token
