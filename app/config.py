"""Settings from the environment (DESIGN §5)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app import json_codec


class ConfigError(RuntimeError):
    """The configuration cannot run: the message says what to set."""


def _default_scheme(base_domain: str) -> str:
    host = base_domain.split(":", 1)[0]
    return "http" if host == "localhost" or host.endswith(".localhost") else "https"


def _instance_secret(instance_path: Path) -> str:
    """Generate the development secret once and keep it in instance/."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path: str, env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if env is None else env)
    instance = Path(instance_path)
    mode = env.get("GATEHOUSE_ENV", "development").lower()
    if mode not in {"development", "production"}:
        raise ConfigError("GATEHOUSE_ENV must be 'development' or 'production'.")
    production = mode == "production"

    # A key ring (SECRET_KEYS=new,old): the first signs and encrypts, all verify and
    # decrypt (app/security/crypto.py; Flask's SECRET_KEY_FALLBACKS for cookies).
    ring = [k.strip() for k in (env.get("SECRET_KEYS") or "").split(",") if k.strip()]
    secret_key = ring[0] if ring else env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production Gatehouse needs a long random "
                "SECRET_KEY (it encrypts signing keys and signs cookies); set it, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        secret_key = _instance_secret(instance)
    if production and any(len(key) < 32 for key in ring or [secret_key]):
        raise ConfigError("SECRET_KEY must be at least 32 characters in production.")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'gatehouse.db'}"
    base_domain = env.get("BASE_DOMAIN", "localhost:5000").lower().strip()
    routing = env.get("TENANT_ROUTING", "subdomain").lower()
    if routing not in {"subdomain", "path"}:
        raise ConfigError("TENANT_ROUTING must be 'subdomain' or 'path'.")
    scheme = env.get("URL_SCHEME") or _default_scheme(base_domain)
    if scheme not in {"http", "https"}:
        raise ConfigError("URL_SCHEME must be 'http' or 'https'.")

    return {
        "GATEHOUSE_ENV": mode,
        "PRODUCTION": production,
        "SECRET_KEY": secret_key,
        "SECRET_KEY_FALLBACKS": ring[1:],
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No pool_pre_ping: a dead pooled connection is retried on the first statement
        # (app/db_session.py) instead of paying a round trip on every checkout.
        # JSON columns read with orjson where it gives json's answer (app/json_codec.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800, "json_deserializer": json_codec.loads},
        "BASE_DOMAIN": base_domain,
        "TENANT_ROUTING": routing,
        "URL_SCHEME": scheme,
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "Gatehouse <no-reply@gatehouse.local>"),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,  # Redis down: per-process limits
        # Throttles on the hosted credential forms (POSTs): per client IP, per (tenant, email).
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "30 per minute;300 per hour"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get(
            "LOGIN_ACCOUNT_RATE_LIMIT", "10 per minute;60 per hour"
        ),
        "SIGNUP_RATE_LIMIT": env.get("SIGNUP_RATE_LIMIT", "10 per minute;60 per hour"),
        "PASSWORD_RESET_RATE_LIMIT": env.get(
            "PASSWORD_RESET_RATE_LIMIT", "10 per minute;60 per hour"
        ),
        "PASSWORD_RESET_ACCOUNT_RATE_LIMIT": env.get(
            "PASSWORD_RESET_ACCOUNT_RATE_LIMIT", "5 per hour"
        ),
        # User codes typed at /device (RFC 8628 §5.1): per client IP and per tenant.
        "DEVICE_CODE_RATE_LIMIT": env.get("DEVICE_CODE_RATE_LIMIT", "10 per minute;60 per hour"),
        "DEVICE_CODE_TENANT_RATE_LIMIT": env.get(
            "DEVICE_CODE_TENANT_RATE_LIMIT", "120 per minute;2000 per hour"
        ),
        # Open dynamic client registration (RFC 7591): POST /oauth2/register per client IP.
        "REGISTRATION_RATE_LIMIT": env.get("REGISTRATION_RATE_LIMIT", "10 per minute;100 per hour"),
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF's Referer check would refuse every HTTPS form (our pages send no
        # Referer); app/web/origin.py checks Origin (or Referer) on unsafe requests.
        "WTF_CSRF_SSL_STRICT": False,
        "SESSION_COOKIE_NAME": "__Host-gh_flask" if scheme == "https" else "gh_flask",
        "SESSION_COOKIE_SECURE": scheme == "https",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # argon2id at the OWASP minimum: m=19 MiB, t=2, p=1.
        "ARGON2_TIME_COST": int(env.get("ARGON2_TIME_COST", 2)),
        "ARGON2_MEMORY_COST": int(env.get("ARGON2_MEMORY_COST", 19456)),
        "ARGON2_PARALLELISM": int(env.get("ARGON2_PARALLELISM", 1)),
        "KEY_CACHE_SIZE": int(env.get("KEY_CACHE_SIZE", 2048)),
        # Tenant snapshots (app/tenant_cache.py): every configuration change reaches every
        # worker within about a second (Redis stream with REDIS_URL, else a polled version);
        # the TTL only bounds how long an untouched snapshot lives (0 = no cache).
        "TENANT_CACHE_TTL": float(env.get("TENANT_CACHE_TTL", 3600)),
        "TENANT_CACHE_SIZE": int(env.get("TENANT_CACHE_SIZE", 20_000)),
        "TENANT_SYNC": env.get("TENANT_SYNC", "auto"),
        "TENANT_SYNC_INTERVAL": float(env.get("TENANT_SYNC_INTERVAL", 0.5)),
        "TENANT_SYNC_BACKSTOP": float(env.get("TENANT_SYNC_BACKSTOP", 30)),
        # Failed client authentications (token, introspection, revocation) per tenant and
        # client address before 429; successes are not counted.
        "CLIENT_AUTH_FAILURE_LIMIT": env.get("CLIENT_AUTH_FAILURE_LIMIT", "30 per minute"),
        # Quotas and usage (app/quotas/, app/services/usage.py). Defaults written into each
        # new tenant (a JSON object of quotas); key prefix of the counters in Redis; how
        # often a process pushes its usage counts to Redis, and flushes them to the database.
        "TENANT_QUOTA_DEFAULTS": env.get("TENANT_QUOTA_DEFAULTS") or None,
        "QUOTA_KEY_PREFIX": env.get("QUOTA_KEY_PREFIX", "gatehouse:"),
        "USAGE_PUSH_INTERVAL": float(env.get("USAGE_PUSH_INTERVAL", 1)),
        "USAGE_FLUSH_INTERVAL": float(env.get("USAGE_FLUSH_INTERVAL", 60)),
        # /metrics: tenants with their own label (the rest are "other").
        "METRICS_TENANT_TOP_N": int(env.get("METRICS_TENANT_TOP_N", 20)),
        # OpenTelemetry tracing over OTLP/HTTP; unset = off (nothing imported).
        "OTEL_EXPORTER_OTLP_ENDPOINT": env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
        "OTEL_SERVICE_NAME": env.get("OTEL_SERVICE_NAME") or "gatehouse",
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # How many reverse proxies sit in front (trust that many X-Forwarded-For hops).
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT", 0)),
        # Bearer token for /metrics (base host only). Unset: open in development, and in
        # production /metrics answers 404 (no metrics rather than public ones).
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        # Server-side fetches (upstream providers, JWKS, webhooks) to loopback, private or
        # link-local addresses: allowed in development, refused in production.
        "OUTBOUND_ALLOW_PRIVATE": _flag(env.get("OUTBOUND_ALLOW_PRIVATE"), not production),
        # host:port of the DNS resolver that verifies domains (None: the system resolver).
        "DNS_RESOLVER": env.get("DNS_RESOLVER") or None,
        # `gatehouse run` starts an outbox worker thread (production runs `gatehouse worker`).
        "EMBEDDED_WORKER": _flag(env.get("EMBEDDED_WORKER"), True),
        # A worker's lease on a delivery it is sending (longer than the 10 s timeout); a
        # worker that dies leaves it to expire, then another one sends again.
        "WORKER_LEASE_SECONDS": float(env.get("WORKER_LEASE_SECONDS", 60)),
        "WEBHOOK_RETRY_BASE_SECONDS": float(env.get("WEBHOOK_RETRY_BASE_SECONDS", 30)),
        "WEBHOOK_RETRY_WINDOW_SECONDS": float(env.get("WEBHOOK_RETRY_WINDOW_SECONDS", 259200)),
        "WEBHOOK_DISABLE_AFTER_SECONDS": float(env.get("WEBHOOK_DISABLE_AFTER_SECONDS", 259200)),
        "MAIL_RETRY_BASE_SECONDS": float(env.get("MAIL_RETRY_BASE_SECONDS", 30)),
        "EVENT_RETENTION_DAYS": float(env.get("EVENT_RETENTION_DAYS", 30)),
        # /_dev/mail on the base host lists the outbox; never in production.
        "DEV_MAIL_VIEWER": not production,
        # User imports: uploads up to this size run inside the request, larger ones in a
        # background thread; nothing larger than IMPORT_MAX_BYTES is accepted.
        "IMPORT_INLINE_BYTES": int(env.get("IMPORT_INLINE_BYTES", 1024 * 1024)),
        "IMPORT_MAX_BYTES": int(env.get("IMPORT_MAX_BYTES", 512 * 1024 * 1024)),
    }
