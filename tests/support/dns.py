"""A real authoritative DNS server on loopback (dnslib), for domain verification tests.

``server.txt["_gatehouse-challenge.example.com"] = ["gatehouse-verification=..."]``
publishes a record; point ``DNS_RESOLVER`` at ``server.address``.
"""

from __future__ import annotations

import socket

from dnslib import QTYPE
from dnslib import RR
from dnslib import TXT
from dnslib.server import BaseResolver
from dnslib.server import DNSLogger
from dnslib.server import DNSServer


class _Zone(BaseResolver):
    def __init__(self, records: dict[str, list[str]]):
        self.records = records

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if request.q.qtype == QTYPE.TXT and name in self.records:
            for value in self.records[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        elif not any(n == name or n.endswith("." + name) for n in self.records):
            reply.header.rcode = 3  # NXDOMAIN
        return reply


class LocalDns:
    """UDP DNS on 127.0.0.1:<free port>, answering TXT from ``self.txt``."""

    def __init__(self):
        self.txt: dict[str, list[str]] = {}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        logger = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self.server = DNSServer(_Zone(self.txt), address="127.0.0.1", port=self.port, logger=logger)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def publish(self, name: str, value: str) -> None:
        self.txt.setdefault(name.rstrip(".").lower(), []).append(value)

    def start(self):
        self.server.start_thread()
        return self

    def stop(self):
        self.server.stop()
