"""Strict readers for settings taken from the environment.

Every reader names the variable in its error, so a bad deployment fails at start-up with a message an
operator can act on. Secrets may also come from ``<NAME>_FILE`` (Docker / Kubernetes secrets).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_optional(name: str) -> str | None:
    return _raw(name)


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be <= {maximum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name} must be a comma-separated list without empty items, got {value!r}")
    return items


def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of CIDR networks (``10.0.0.0/8,fd00::/8``)."""
    items = env_list(name, default)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be a comma-separated list of CIDR networks, got {item!r}"
            ) from None
    return items


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_secret(name: str) -> str | None:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE`` (not both)."""
    direct = _raw(name)
    file_name = _raw(f"{name}_FILE")
    if direct is not None and file_name is not None:
        raise ImproperlyConfigured(f"set either {name} or {name}_FILE, not both")
    if file_name is None:
        return direct
    path = Path(file_name)
    try:
        content = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from None
    if not content:
        raise ImproperlyConfigured(f"{name}_FILE: {file_name} is empty")
    return content


def env_host_port(name: str, default: str) -> str:
    value = env_str(name, default)
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"{name} must be host:port, got {value!r}")
    return value


def master_key_from_env(name: str) -> bytes | None:
    """32 random bytes (an AES-256 key, an Ed25519 seed), base64 (standard or URL-safe), from ``NAME``
    or ``NAME_FILE``."""
    value = env_secret(name)
    if value is None:
        return None
    try:
        key = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{name} must be base64 (32 random bytes)") from None
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must decode to 32 bytes, got {len(key)}")
    return key


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def as_django(self) -> dict[str, object]:
        config: dict[str, object] = {"ENGINE": self.engine, "NAME": self.name}
        if self.engine.endswith("postgresql"):
            config.update(
                USER=self.user,
                PASSWORD=self.password,
                HOST=self.host,
                PORT=self.port,
                CONN_MAX_AGE=60,
                CONN_HEALTH_CHECKS=True,
                OPTIONS={"connect_timeout": 5, **dict(self.options)},
            )
        else:
            config["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE", **dict(self.options)}
        return config


_PG_SCHEMES = {"postgres", "postgresql", "pgsql"}


def parse_database_url(name: str, url: str) -> DatabaseUrl:
    """Parse ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``postgres://u:p@h:5432/db?opt=v``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc or not path or path == "/":
            raise ImproperlyConfigured(f"{name}: sqlite URLs look like sqlite:///var/db.sqlite3, got {url!r}")
        # sqlite:///x.db is relative (path "/x.db"), sqlite:////abs/x.db absolute (path "//abs/x.db").
        return DatabaseUrl(engine="django.db.backends.sqlite3", name=path[1:])
    if parts.scheme in _PG_SCHEMES:
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name}: the PostgreSQL URL names no database: {parts.scheme}://…")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}: the PostgreSQL URL has an invalid port") from None
        return DatabaseUrl(
            engine="django.db.backends.postgresql",
            name=database,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            host=parts.hostname or "",
            port=str(port or ""),
            options=tuple(parse_qsl(parts.query)),
        )
    raise ImproperlyConfigured(f"{name} must use sqlite:// or postgres://, got scheme {parts.scheme!r}")


def parse_redis_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name} must use redis://, rediss:// or unix://, got scheme {parts.scheme!r}")
    if parts.scheme == "unix" and not parts.path:
        raise ImproperlyConfigured(f"{name}: unix:// URLs need a socket path")
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured(f"{name}: the Redis URL names no host")
    return url
