"""Read settings from the environment: booleans, lists and the database URL."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "pgsql"})
DB_ENGINE = "django_prometheus.db.backends.postgresql"


def env_bool(name: str, default: bool = False) -> bool:
    """`1/true/yes/on` or `0/false/no/off` (any case); anything else is a configuration error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma separated list; blanks are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(url: str) -> dict:
    """`postgres://user:pass@host:port/name?sslmode=require` -> the parts of a DATABASES entry.

    Query parameters become connection OPTIONS (libpq keywords such as sslmode).
    """
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            "DATABASE_URL must start with postgres:// or postgresql://; "
            f"got scheme {parts.scheme!r}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured(
            "DATABASE_URL names no database (postgres://user:pass@host/NAME)"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("DATABASE_URL has an invalid port") from None
    return {
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
    }


def database_from_env() -> dict:
    """The default DATABASES entry from DATABASE_URL, else from DB_HOST, DB_PORT, DB_NAME ..."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        db = parse_database_url(url)
    else:
        db = {
            "NAME": os.environ.get("DB_NAME", "sampleapp"),
            "USER": os.environ.get("DB_USER", "sampleapp"),
            "PASSWORD": os.environ.get("DB_PASSWORD", ""),
            "HOST": os.environ.get("DB_HOST", "127.0.0.1"),
            "PORT": os.environ.get("DB_PORT", "5432"),
            "OPTIONS": {},
        }
    # Fail fast when the database is down so /ready/ answers 503 instead of hanging.
    db["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3))
    db.update(
        {
            "ENGINE": DB_ENGINE,
            # Persistent connections, checked before reuse so a failover does not break requests.
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
        }
    )
    return db
