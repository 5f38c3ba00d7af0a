"""Proving control of a DNS name with a TXT record (DESIGN §5, ``DNS_RESOLVER``).

Reusable by any feature that verifies a domain (organizations' email domains, custom
domains): the caller keeps a random token, publishes ``record_for(...)`` to the admin, and
calls :func:`txt_values` / :func:`has_txt` when the admin asks to check. Lookups go to
``DNS_RESOLVER`` (``host:port``) when it is set, else to the system resolver.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver
from flask import current_app

from app.extensions import db
from app.models.base import utcnow
from app.services.errors import ServiceError

PREFIX = "_gatehouse-challenge"
TIMEOUT = 5.0


@dataclass(frozen=True)
class TxtRecord:
    """The record an admin must publish: ``name`` (FQDN) ``TXT`` ``value``."""

    name: str
    value: str

    def as_dict(self) -> dict:
        return {"type": "TXT", "name": self.name, "value": self.value}


class VerificationFailed(ServiceError):
    """The record is not published (``reason="record_missing"``) or DNS cannot answer
    (``reason="dns_unavailable"``)."""

    status = 422
    title = "Not verified"


class DnsUnavailable(Exception):
    """The resolver could not answer (timeout, SERVFAIL): try again later."""


def record_for(domain: str, token: str, prefix: str = PREFIX) -> TxtRecord:
    """The record proving control of ``domain``: ``<prefix>.<domain>`` TXT
    ``gatehouse-verification=<token>`` (custom domains use ``_gatehouse``)."""
    return TxtRecord(f"{prefix}.{domain}", f"gatehouse-verification={token}")


def resolver(address: str | None) -> dns.resolver.Resolver:
    """A resolver for ``host:port`` (or ``host``, port 53), or the system's when None."""
    if not address:
        return dns.resolver.Resolver()
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "53")
    found = dns.resolver.Resolver(configure=False)
    found.nameservers = [host.strip("[]")]
    found.port = int(port or 53)
    return found


def txt_values(name: str, address: str | None) -> list[str]:
    """Every TXT string published at ``name`` (empty when there is none)."""
    lookup = resolver(address)
    lookup.lifetime = TIMEOUT
    try:
        answer = lookup.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError) as exc:
        raise DnsUnavailable(str(exc) or type(exc).__name__) from exc
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def has_txt(record: TxtRecord, address: str | None) -> bool:
    """True when ``record.value`` is published at ``record.name``."""
    return record.value in txt_values(record.name, address)


def require_txt(record: TxtRecord) -> None:
    """Check now, through ``DNS_RESOLVER``, that ``record`` is published; raises
    VerificationFailed with a message an admin can act on when it is not."""
    try:
        found = has_txt(record, current_app.config.get("DNS_RESOLVER"))
    except DnsUnavailable as exc:
        raise VerificationFailed(
            "DNS did not answer; try again in a few minutes.", reason="dns_unavailable"
        ) from exc
    if not found:
        raise VerificationFailed(
            f"No TXT record {record.name} with value {record.value} was found yet.",
            reason="record_missing",
        )


def mark_verified(row, record: TxtRecord, *, operator: bool = False) -> None:
    """Verify a custom or organization domain row now: its TXT ``record`` is checked
    (``require_txt``) unless an instance operator vouches for it, then ``verified_at`` and
    ``verified_by`` ("dns" or "operator") are set and flushed."""
    if not operator:
        require_txt(record)
    row.verified_at = utcnow()
    row.verified_by = "operator" if operator else "dns"
    db.session.flush()
