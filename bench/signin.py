"""Full sign-in flows against a running Gatehouse, as a browser and an app would do them:

  GET /oauth2/authorize (PKCE S256) → 302 /login → GET /login (form + CSRF cookie)
  → POST /login (email, password, csrf_token) → 302 back to /oauth2/authorize
  → 302 redirect_uri?code=... → POST /oauth2/token (authorization_code + code_verifier).

A small keep-alive HTTP client (one ``http.client`` connection per thread, which
reconnects by itself when the server closes) runs flows on a few threads; each flow is
a fresh browser (empty cookie jar) and a different user. The same code mints the
refresh and access tokens the wrk runs start from.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import re
import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

from bench import harness
from bench.seed import Manifest

_INPUT_RE = re.compile(r"<input\b[^>]*>", re.I | re.S)
_ATTR_RE = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')
_FORM_RE = re.compile(r"<form\b[^>]*>", re.I | re.S)


class FlowError(RuntimeError):
    """A step answered something a browser would not continue from."""


@dataclass
class Tokens:
    host: str
    authorization: str  # the client's Basic header value
    access_token: str
    refresh_token: str | None


@dataclass
class Target:
    """One tenant's client and users, as the flows see them."""

    host: str
    tenant_index: int
    client_id: str
    client_secret: str

    @property
    def authorization(self) -> str:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def targets(manifest: Manifest, base_domain: str, limit: int | None = None) -> list[Target]:
    rows = manifest.tenants[:limit] if limit else manifest.tenants
    return [
        Target(f"{t['slug']}.{base_domain}", i, t["client_id"], t["client_secret"])
        for i, t in enumerate(rows)
    ]


class Browser:
    """One keep-alive connection with a cookie jar (per host, which is all we need)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, host: str, path: str, body: dict | None = None, headers=None):
        head = {"Host": host, "User-Agent": "gatehouse-bench", **(headers or {})}
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            head["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):  # one retry when a kept-alive connection was closed
            try:
                self.conn.request(method, path, body=data, headers=head)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return response.status, response.headers, payload.decode("utf-8", "replace")

    def close(self) -> None:
        self.conn.close()


def _location(headers, status: int, step: str) -> str:
    if status not in (301, 302, 303, 307) or not headers.get("Location"):
        raise FlowError(f"{step}: expected a redirect, got {status}")
    return headers["Location"]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _login_form(page: str) -> tuple[str | None, dict[str, str]]:
    """The form's action and hidden fields (csrf_token, next, ...)."""
    form = _FORM_RE.search(page)
    action = None
    if form:
        attrs = dict(_ATTR_RE.findall(form.group(0)))
        action = html.unescape(attrs["action"]) if attrs.get("action") else None
    fields = {}
    for tag in _INPUT_RE.findall(page):
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR_RE.findall(tag)}
        if attrs.get("type", "").lower() == "hidden" and attrs.get("name"):
            fields[attrs["name"]] = attrs.get("value", "")
    return action, fields


def sign_in(browser: Browser, target: Target, manifest: Manifest, user_index: int) -> Tokens:
    """One full authorization-code flow with PKCE for user ``user_index`` of the target."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": target.client_id,
            "redirect_uri": manifest.redirect_uri,
            "scope": manifest.scope,
            "state": state,
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    host = target.host
    status, headers, _ = browser.request("GET", host, f"/oauth2/authorize?{query}")
    login_url = _path(_location(headers, status, "authorize"))
    status, headers, page = browser.request("GET", host, login_url)
    if status != 200:
        raise FlowError(f"GET /login: {status}")
    action, fields = _login_form(page)
    fields["email"] = Manifest.email(target.tenant_index, user_index)
    fields["password"] = manifest.password
    status, headers, body = browser.request(
        "POST", host, _path(action) if action else login_url, fields
    )
    back = _path(_location(headers, status, "POST /login"))
    status, headers, _ = browser.request("GET", host, back)
    callback = _location(headers, status, "authorize (signed in)")
    params = parse_qs(urlsplit(callback).query)
    if params.get("state") != [state] or "code" not in params:
        raise FlowError(f"callback without code/state: {callback[:200]}")
    status, _, body = browser.request(
        "POST",
        host,
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": manifest.redirect_uri,
            "code_verifier": verifier,
        },
        headers={"Authorization": target.authorization},
    )
    if status != 200:
        raise FlowError(f"token exchange: {status} {body[:200]}")
    import json

    data = json.loads(body)
    return Tokens(host, target.authorization, data["access_token"], data.get("refresh_token"))


@dataclass
class FlowStats:
    flows: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def run_flows(
    port: int,
    manifest: Manifest,
    targets_: list[Target],
    *,
    seconds: float | None = None,
    count: int | None = None,
    threads: int = 4,
    user_offset: int = 0,
) -> tuple[FlowStats, list[Tokens]]:
    """Run flows on ``threads`` threads for ``seconds`` (or until ``count`` flows)."""
    stats = FlowStats()
    tokens: list[Tokens] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds if seconds else None

    def worker():
        browser = Browser(port)
        try:
            while True:
                with lock:
                    n = next(counter)
                if (count is not None and n >= count) or (
                    deadline and time.monotonic() >= deadline
                ):
                    return
                target = targets_[n % len(targets_)]
                user = (user_offset + n // len(targets_)) % manifest.users_per_tenant
                browser.cookies.clear()  # a fresh browser per flow
                started = time.perf_counter()
                try:
                    result = sign_in(browser, target, manifest, user)
                except (FlowError, OSError, KeyError, ValueError) as exc:
                    with lock:
                        stats.errors += 1
                        stats.first_error = stats.first_error or f"{type(exc).__name__}: {exc}"
                    browser.close()
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    stats.flows += 1
                    stats.latencies.append(elapsed)
                    tokens.append(result)
        finally:
            browser.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    stats.seconds = time.monotonic() - started
    return stats, tokens


def workloads(targets: list[Target], tokens: list[Tokens], connections: int) -> dict:
    """The wrk runs of the token endpoints, ``{name: (script, rows, extra arguments, wrk
    threads)}``: client_credentials over the tenants' clients, refresh_token with rotation
    (one chain a connection, one wrk thread each), userinfo and introspection with the
    flows' access tokens."""
    return {
        "client_credentials": (
            "client_credentials.lua",
            [(t.host, t.authorization) for t in targets],
            (),
            1,
        ),
        "refresh_token": (
            "refresh_token.lua",
            [(t.host, t.authorization, t.refresh_token) for t in tokens],
            (str(connections),),
            connections,
        ),
        "userinfo": ("userinfo.lua", [(t.host, t.access_token) for t in tokens], (), 1),
        "introspection": (
            "introspect.lua",
            [(t.host, t.authorization, t.access_token) for t in tokens],
            (),
            1,
        ),
    }


def run_workload(workload: tuple, url: str, tag: str, *, seconds: int, connections: int):
    """One of :func:`workloads`' runs against ``url``: its rows written for wrk (under
    ``tag``), then wrk for ``seconds`` on ``connections`` (bench/harness.run_wrk)."""
    script, rows, extra, wrk_threads = workload
    return harness.run_wrk(
        script,
        url,
        harness.write_lines(f"{tag}-{script}.tsv", rows),
        seconds=seconds,
        connections=connections,
        threads=wrk_threads,
        extra=extra,
    )


def touch_every_tenant(server, targets, budget: float, threads=4):
    """One client_credentials grant per tenant (creating its keys on first use), for at
    most ``budget`` seconds; returns (tenants done, seconds, errors)."""
    errors = []
    lock = threading.Lock()
    queue = list(reversed(targets))
    done = [0]
    deadline = time.monotonic() + budget

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    break
                t = queue.pop()
                done[0] += 1
            try:
                conn.request(
                    "POST",
                    "/oauth2/token",
                    body="grant_type=client_credentials",
                    headers={
                        "Host": t.host,
                        "Authorization": t.authorization,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors.append(resp.status)
            except OSError as exc:
                errors.append(str(exc))
                conn.close()
        conn.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return done[0], time.monotonic() - started, len(errors)
