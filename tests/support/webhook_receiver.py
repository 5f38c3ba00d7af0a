"""A real HTTP webhook receiver on 127.0.0.1: records every request, answers scripted
statuses, and can hold a request open (to kill a worker mid-delivery)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Received:
    def __init__(self, headers: dict[str, str], body: bytes):
        self.headers = headers
        self.body = body

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> dict:
        """Verify as a receiver would, with the standardwebhooks package."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self, statuses: list[int] | None = None):
        self.requests: list[Received] = []
        self.statuses = list(statuses or [])
        self.hold = threading.Event()  # while clear, requests marked to hang wait here
        self.hold.set()
        self.hang_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append(Received(headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    hang = receiver.hang_next > 0
                    receiver.hang_next -= 1 if hang else 0
                if hang:
                    receiver.hold.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("content-type", "text/plain")
                    self.end_headers()
                    self.wfile.write(f"status {status} from the test receiver".encode())
                except OSError:
                    pass  # the worker is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def of_type(self, type_: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.json["type"] == type_]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.requests)} requests, expected {count}")
