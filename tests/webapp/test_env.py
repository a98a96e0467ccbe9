"""The strict environment readers: a bad value fails at start-up and names its variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from webapp.settings import env


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (lambda: env.env_int("SQR_X", 1), "ten", "SQR_X must be an integer"),
        (lambda: env.env_int("SQR_X", 1, minimum=5), "3", "SQR_X must be >= 5"),
        (lambda: env.env_bool("SQR_X", False), "maybe", "SQR_X must be a boolean"),
        (lambda: env.env_list("SQR_X", []), "a,,b", "SQR_X must be a comma-separated list"),
        (lambda: env.env_choice("SQR_X", "a", ("a", "b")), "c", "SQR_X must be one of a, b"),
        (lambda: env.env_host_port("SQR_X", "h:1"), "nohost", "SQR_X must be host:port"),
        (lambda: env.env_host_port("SQR_X", "h:1"), "h:99999", "SQR_X must be host:port"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, reader, value, message):
    monkeypatch.setenv("SQR_X", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def test_good_values_and_defaults(monkeypatch):
    monkeypatch.setenv("SQR_INT", "42")
    monkeypatch.setenv("SQR_BOOL", "yes")
    monkeypatch.setenv("SQR_LIST", "a, b")
    monkeypatch.setenv("SQR_EMPTY", "   ")
    assert env.env_int("SQR_INT", 1) == 42
    assert env.env_bool("SQR_BOOL", False) is True
    assert env.env_list("SQR_LIST", []) == ["a", "b"]
    assert env.env_str("SQR_EMPTY", "fallback") == "fallback"
    with pytest.raises(ImproperlyConfigured, match="SQR_MISSING must be set"):
        env.env_str("SQR_MISSING")


def test_secret_from_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n")
    monkeypatch.setenv("SQR_SECRET_FILE", str(secret_file))
    assert env.env_secret("SQR_SECRET") == "s3cret"
    monkeypatch.setenv("SQR_SECRET", "other")
    with pytest.raises(ImproperlyConfigured, match="either SQR_SECRET or SQR_SECRET_FILE"):
        env.env_secret("SQR_SECRET")
    monkeypatch.delenv("SQR_SECRET")
    monkeypatch.setenv("SQR_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(ImproperlyConfigured, match="SQR_SECRET_FILE: cannot read"):
        env.env_secret("SQR_SECRET")


def test_database_urls():
    sqlite = env.parse_database_url("DATABASE_URL", "sqlite:////var/lib/sq.db").as_django()
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"
    assert sqlite["NAME"] == "/var/lib/sq.db"
    assert env.parse_database_url("DATABASE_URL", "sqlite:///var/sq.db").name == "var/sq.db"
    pg = env.parse_database_url("DATABASE_URL", "postgres://u:p%40ss@db.example:6543/sq?sslmode=require")
    config = pg.as_django()
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "u",
        "p@ss",
        "db.example",
        "6543",
        "sq",
    )
    assert config["OPTIONS"] == {"connect_timeout": 5, "sslmode": "require"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://h/db", "DATABASE_URL must use sqlite:// or postgres://"),
        ("postgres://h:5432/", "names no database"),
        ("postgres://h:notaport/db", "invalid port"),
        ("sqlite://", "sqlite URLs look like"),
    ],
)
def test_bad_database_urls(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        env.parse_database_url("DATABASE_URL", url)


def test_redis_urls():
    assert env.parse_redis_url("REDIS_URL", "redis://127.0.0.1:6379/2") == "redis://127.0.0.1:6379/2"
    assert env.parse_redis_url("REDIS_URL", "unix:///tmp/r.sock?db=0")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must use redis://"):
        env.parse_redis_url("REDIS_URL", "memcached://h")
    with pytest.raises(ImproperlyConfigured, match="names no host"):
        env.parse_redis_url("REDIS_URL", "redis://")
