"""Production: secrets have no defaults, transport security is on. ``check --deploy`` is clean."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from webapp.oidc.config import oidc_config_from_env
from webapp.settings.base import *  # noqa: F403
from webapp.settings.base import LOG_LEVEL
from webapp.settings.env import env_bool, env_choice, env_int, env_optional, env_secret
from webapp.settings.logs import logging_config

SECRET_KEY = env_secret("SECRET_KEY") or ""
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set, at least 50 characters, in production")
if env_optional("DATABASE_URL") is None:
    raise ImproperlyConfigured("DATABASE_URL must be set in production")
if env_optional("SEQUESTER_MASTER_KEY") is None and env_optional("SEQUESTER_MASTER_KEY_FILE") is None:
    raise ImproperlyConfigured("SEQUESTER_MASTER_KEY (or SEQUESTER_MASTER_KEY_FILE) must be set in production")
if env_optional("SEQUESTER_AUDIT_SIGNING_KEY") is None and env_optional("SEQUESTER_AUDIT_SIGNING_KEY_FILE") is None:
    raise ImproperlyConfigured(
        "SEQUESTER_AUDIT_SIGNING_KEY (or SEQUESTER_AUDIT_SIGNING_KEY_FILE) must be set in production"
    )
if not (env_optional("SEQUESTER_CASEFILE_CERT_FILE") and env_optional("SEQUESTER_CASEFILE_KEY_FILE")):
    raise ImproperlyConfigured("SEQUESTER_CASEFILE_CERT_FILE and SEQUESTER_CASEFILE_KEY_FILE must be set in production")
if env_optional("REDIS_URL") is None:
    raise ImproperlyConfigured("REDIS_URL must be set in production")

DEBUG = False
SECURE_SSL_REDIRECT = env_bool("SEQUESTER_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SEQUESTER_HSTS_SECONDS", 31536000, minimum=3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SEQUESTER_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SEQUESTER_HSTS_PRELOAD", True)
SEQUESTER_WEBHOOK_REQUIRE_HTTPS = env_bool("SEQUESTER_WEBHOOK_REQUIRE_HTTPS", True)
SESSION_COOKIE_SECURE = True
SEQUESTER_OIDC = oidc_config_from_env(require_https=True)  # the provider over https only
CSRF_COOKIE_SECURE = True

LOG_FORMAT = env_choice("SEQUESTER_LOG_FORMAT", "json", ("console", "json"))
LOGGING = logging_config(json_logs=LOG_FORMAT == "json", level=LOG_LEVEL)
