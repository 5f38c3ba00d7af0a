"""A real HTTP server around the app, in a thread, for browsers and foreign clients."""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import make_server


class LiveServer:
    """Serves ``app`` on 127.0.0.1:<port>; tenants at ``<slug>.localhost:<port>``."""

    def __init__(self, app_factory):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base_domain = f"localhost:{self.port}"
        self.app = app_factory(BASE_DOMAIN=self.base_domain, URL_SCHEME="http")
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)

    def origin(self, slug: str | None = None, *, path_routing: bool = False) -> str:
        """The browser-facing origin of a tenant (subdomain form by default)."""
        if slug is None:
            return f"http://{self.base_domain}"
        if path_routing:
            return f"http://{self.base_domain}/t/{slug}"
        return f"http://{slug}.{self.base_domain}"
