"""A real SMTP server (aiosmtpd) on a local port, keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.handler = _Handler()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def wait_for(self, to: str, timeout: float = 5.0, subject_contains: str = ""):
        """The newest message to ``to`` (waiting for it to arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if to.lower() in str(message["To"]).lower() and subject_contains in str(
                    message["Subject"]
                ):
                    return message
            time.sleep(0.02)
        raise AssertionError(f"no mail to {to} within {timeout}s; got {len(self.messages)}")


def body_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else message.get_content()


def link_in_text(text: str, pattern: str = r"https?://\S+") -> str:
    """The first link in a plain-text body (an SMTP message's or a dev-outbox row's)."""
    match = re.search(pattern, text)
    assert match, f"no link matching {pattern!r} in {text!r}"
    return match.group(0)


def link_in(message, pattern: str = r"https?://\S+") -> str:
    return link_in_text(body_of(message), pattern)
