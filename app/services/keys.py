"""Per-tenant signing keys: creation, rotation, the published JWKS, a per-worker key cache.

Statuses (app.models.SigningKey): ``next`` (published in JWKS, not yet signing),
``active`` (signs), ``retiring`` (published until ``retire_after``), ``retired``.

The rotation rule (DESIGN §4 "a new key is published in JWKS before it signs, the old one
stays published until every token it signed has expired"):

* :func:`ensure_keys` gives each tenant, lazily on first use of an algorithm, an ``active``
  and a ``next`` key for it (ES256 for access tokens, RS256 for ID tokens); publishing the
  JWKS creates both. So from the very first token on, a successor is already published,
  and a tenant that only ever issues client_credentials tokens never pays for RSA keys.
* :func:`rotate_keys` promotes, per algorithm, the ``next`` key (published since the
  previous rotation) to ``active``, demotes the old ``active`` to ``retiring`` with
  ``retire_after = now + the longest token lifetime (+ skew)``, stages a fresh ``next``
  key, and retires ``retiring`` keys whose ``retire_after`` has passed. A key therefore
  always spends one whole rotation period in JWKS before it signs, and one rotation is
  the whole safe dance.

The published set and the parsed key objects of a tenant live on the worker's tenant
snapshot (app/tenant_snapshot.py): built on first use, dropped by every worker when a key
is created or rotated (the change bumps the tenant's configuration version). Parsed keys
are also kept in a bounded per-worker LRU by key id (KEY_CACHE_SIZE; parsing an RSA key
costs milliseconds, and a key id always names the same key).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from jwt.algorithms import ECAlgorithm
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from app.extensions import db
from app.models import SigningKey
from app.models import Tenant
from app.models.base import new_id
from app.models.base import utcnow
from app.security import crypto
from app.services import audit
from app.services.settings import get_settings
from app.tenancy import config_of
from app.tenancy import scope
from app.tenant_cache import changed_tenants

ALGORITHMS = ("RS256", "ES256")
PUBLISHED = ("next", "active", "retiring")
# Clock skew allowance added to the retirement delay.
RETIRE_SKEW = timedelta(minutes=5)
_EXT = "gatehouse.keys"


@dataclass(frozen=True)
class LoadedKey:
    """A parsed key: signing uses ``private``, verification ``public``."""

    kid: str
    alg: str
    private: Any
    public: Any


class KeyCache:
    """Per-worker LRU of parsed keys by kid (a kid always names the same key)."""

    def __init__(self, size: int):
        self.size = max(int(size), 8)
        self.lock = threading.Lock()
        self.keys: OrderedDict[str, LoadedKey] = OrderedDict()

    def get_key(self, kid: str) -> LoadedKey | None:
        with self.lock:
            key = self.keys.get(kid)
            if key is not None:
                self.keys.move_to_end(kid)
            return key

    def put_key(self, key: LoadedKey) -> None:
        with self.lock:
            self.keys[key.kid] = key
            self.keys.move_to_end(key.kid)
            while len(self.keys) > self.size:
                self.keys.popitem(last=False)


def _cache() -> KeyCache:
    cache = current_app.extensions.get(_EXT)
    if cache is None:
        cache = current_app.extensions[_EXT] = KeyCache(current_app.config["KEY_CACHE_SIZE"])
    return cache


# --- creating keys ----------------------------------------------------------------------


def _generate(alg: str):
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported algorithm {alg}")


def _public_jwk(kid: str, alg: str, public_key) -> dict:
    algorithm = RSAAlgorithm if alg == "RS256" else ECAlgorithm
    jwk = algorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def _key_kinds(tenant: Tenant) -> set[tuple[str, str]]:
    existing = scope(tenant).all(SigningKey, SigningKey.status.in_(("active", "next")))
    return {(k.alg, k.status) for k in existing}


def _create_key(tenant: Tenant, alg: str, status: str) -> SigningKey:
    private = _generate(alg)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = SigningKey(alg=alg, status=status, private_key_encrypted=crypto.encrypt(pem))
    key.id = new_id("key")
    key.public_jwk = _public_jwk(key.id, alg, private.public_key())
    if status == "active":
        key.activated_at = utcnow()
    scope(tenant).add(key)
    _cache().put_key(LoadedKey(key.id, alg, private, private.public_key()))
    return key


def ensure_keys(tenant: Tenant, algorithms: tuple[str, ...] = ALGORITHMS) -> bool:
    """Give the tenant an active and a next key for each of ``algorithms``; True when any
    was created. Workers that find keys missing at once (a new tenant's first requests,
    on several instances) take turns on the tenant's row, so one of them makes the keys
    and the others see them."""
    have = _key_kinds(tenant)
    if all((alg, status) in have for alg in algorithms for status in ("active", "next")):
        return False
    # FOR NO KEY UPDATE: like the version bump, it never waits on rows that merely
    # reference the tenant (their FOR KEY SHARE), so it adds no deadlock.
    db.session.execute(
        select(Tenant.id).where(Tenant.id == tenant.id).with_for_update(key_share=True)
    )
    have = _key_kinds(tenant)  # as committed by whoever held the lock before us
    created = False
    for alg in algorithms:
        for status in ("active", "next"):
            if (alg, status) not in have:
                _create_key(tenant, alg, status)
                created = True
    if created:
        db.session.flush()
    return created


# --- loading and publishing -------------------------------------------------------------


def _load(row: SigningKey) -> LoadedKey:
    cache = _cache()
    key = cache.get_key(row.id)
    if key is None:
        private = serialization.load_pem_private_key(
            crypto.decrypt(row.private_key_encrypted), password=None
        )
        key = LoadedKey(row.id, row.alg, private, private.public_key())
        cache.put_key(key)
    return key


def _read_published(tenant: Tenant) -> dict:
    now = utcnow()
    rows = scope(tenant).all(SigningKey, SigningKey.status.in_(PUBLISHED), order_by=SigningKey.id)
    keys, active, staged, until = {}, {}, set(), None
    for row in rows:
        if row.status == "retiring" and row.retire_after:
            if row.retire_after <= now:
                continue
            until = min(until or row.retire_after, row.retire_after)
        keys[row.id] = {"alg": row.alg, "status": row.status, "jwk": row.public_jwk}
        if row.status == "active":
            active[row.alg] = row.id  # ordered by id (time): the newest active wins
        elif row.status == "next":
            staged.add(row.alg)
    # until: when a retiring key leaves the set (the kept copy must be re-read then).
    return {"keys": keys, "active": active, "staged": staged, "loaded": {}, "until": until}


def _published(tenant: Tenant, algorithms: tuple[str, ...] = ALGORITHMS) -> dict:
    """``{"keys": {kid: row-summary}, "active": {alg: kid}, ...}`` for this tenant, kept on
    its snapshot, after making sure it has an active and a next key for ``algorithms``
    (none: only read what exists)."""
    snapshot = config_of(tenant)
    if snapshot is not None and snapshot.id in changed_tenants(db.session):
        snapshot = None  # keys made or changed in this transaction: read, don't keep
    found = snapshot.memo.get("keys") if snapshot is not None else None
    read = found is None or bool(found["until"] and found["until"] <= utcnow())
    if read:
        found = _read_published(tenant)
    if not all(alg in found["active"] and alg in found["staged"] for alg in algorithms):
        # Made here, or by another worker since the read above (ensure_keys waits for
        # it): read again either way, never keep a set that lacks them.
        ensure_keys(tenant, algorithms)
        found, read = _read_published(tenant), True
    if read and snapshot is not None and snapshot.id not in changed_tenants(db.session):
        snapshot.memo["keys"] = found
    return found


def signing_key(tenant: Tenant, alg: str) -> LoadedKey:
    """The tenant's active key for ``alg``, parsed once per worker."""
    published = _published(tenant, (alg,))
    kid = published["active"].get(alg)
    if kid is None:
        raise ValueError(f"no active {alg} key")
    return _loaded(tenant, published, kid)


def verification_key(tenant: Tenant, kid: str | None) -> LoadedKey | None:
    """The key ``kid`` if this tenant publishes it (next, active or retiring), else None."""
    if not kid or not isinstance(kid, str):
        return None
    published = _published(tenant, ())  # verifying never creates keys
    if kid not in published["keys"]:
        return None
    return _loaded(tenant, published, kid)


def _loaded(tenant: Tenant, published: dict, kid: str) -> LoadedKey | None:
    """The parsed key ``kid`` of the ``published`` set, parsed once per worker."""
    loaded = published["loaded"]
    key = loaded.get(kid) or _cache().get_key(kid)
    if key is None:
        row = scope(tenant).get(SigningKey, kid)
        if row is None:
            return None
        key = _load(row)
    loaded[kid] = key
    return key


def jwks(tenant: Tenant) -> dict:
    """The public JWK Set: next, active and still-retiring keys."""
    return {"keys": [entry["jwk"] for entry in _published(tenant)["keys"].values()]}


# --- rotation ---------------------------------------------------------------------------


def _retire_delay(tenant: Tenant) -> timedelta:
    settings = get_settings(tenant)
    longest = max(settings["access_token_ttl_seconds"], settings["id_token_ttl_seconds"])
    return timedelta(seconds=longest) + RETIRE_SKEW


def rotate_keys(tenant: Tenant) -> list[SigningKey]:
    """Promote next → active, active → retiring, stage new next keys; returns the touched keys."""
    ensure_keys(tenant)
    now = utcnow()
    touched: list[SigningKey] = []
    rows = scope(tenant).all(SigningKey, SigningKey.status.in_(PUBLISHED), order_by=SigningKey.id)
    for row in rows:
        if row.status == "retiring" and row.retire_after and row.retire_after <= now:
            row.status = "retired"
            touched.append(row)
    for alg in ALGORITHMS:
        for row in rows:
            if row.alg == alg and row.status == "active":
                row.status = "retiring"
                row.retire_after = now + _retire_delay(tenant)
                touched.append(row)
        for row in rows:
            if row.alg == alg and row.status == "next":
                row.status = "active"
                row.activated_at = now
                touched.append(row)
        touched.append(_create_key(tenant, alg, "next"))
    db.session.flush()
    audit.record(
        tenant,
        "keys.rotated",
        target_type="signing_key",
        activated=[k.id for k in touched if k.status == "active"],
    )
    return touched


def list_keys(tenant: Tenant) -> list[SigningKey]:
    """Every key of the tenant, newest first."""
    return scope(tenant).all(SigningKey, order_by=SigningKey.id.desc())


def key_to_dict(key: SigningKey) -> dict:
    """The public view of a key (never the private part)."""
    return {
        "id": key.id,
        "kid": key.id,
        "alg": key.alg,
        "status": key.status,
        "created_at": key.created_at.isoformat() if key.created_at else None,
        "activated_at": key.activated_at.isoformat() if key.activated_at else None,
        "retire_after": key.retire_after.isoformat() if key.retire_after else None,
        "public_jwk": key.public_jwk,
    }
