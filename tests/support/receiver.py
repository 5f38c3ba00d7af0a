"""A real HTTP server on a loopback address that records what it receives (for the
outbound-fetch tests: upstream providers, redirects, size limits)."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain"
        return self.body, "application/octet-stream"


class Receiver:
    """``Receiver(answer, host="127.0.0.1")``: ``answer(method, path)`` returns a Reply;
    ``hits`` lists ``(method, path, headers, body)`` of every request received."""

    def __init__(self, answer=lambda method, path: Reply(), host: str = "127.0.0.1"):
        self.answer = answer
        self.hits: list[tuple[str, str, dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.hits.append((self.command, self.path, dict(self.headers), body))
                reply = outer.answer(self.command, self.path)
                payload, content_type = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.pop("Content-Type", content_type))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.origin = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
