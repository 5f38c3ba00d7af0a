"""Signatures per second on one core: what the machine gives the token endpoint.

Run pinned to the server core (``taskset -c 0 python -m bench.signatures``): RS256 with a
2048-bit key (the ID tokens of a client that registers no algorithm) and ES256 on P-256
(access tokens, and ID tokens of a client that registers it), signed by ``cryptography``
as the app signs them; prints one JSON line. A refresh signs one of each, so the RS256
rate alone bounds a core's refreshes: the figure to read the refresh target against when
the machine's speed moves between runs.
"""

from __future__ import annotations

import json
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

SIGNING_INPUT = b"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + b"x" * 600  # an ID token's size


def _rate(sign, seconds: float) -> dict:
    sign()  # warm up
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        sign()
        count += 1
    return {"rate": count / elapsed, "ms": elapsed / count * 1000}


def signatures_per_second(seconds: float = 2.0) -> dict:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "RS256": _rate(
            lambda: rsa_key.sign(SIGNING_INPUT, padding.PKCS1v15(), hashes.SHA256()), seconds
        ),
        "ES256": _rate(lambda: ec_key.sign(SIGNING_INPUT, ec.ECDSA(hashes.SHA256())), seconds),
    }


if __name__ == "__main__":
    print(json.dumps(signatures_per_second(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)))
