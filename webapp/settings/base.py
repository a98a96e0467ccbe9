"""Settings shared by every environment, read from the environment with strict helpers.

Defaults describe the embedded default of ``make run`` (SQLite under ``var/``, a local or private
Redis, the Temporal dev server on 127.0.0.1:7233); ``production.py`` removes the defaults for secrets.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from webapp.oidc.config import oidc_config_from_env
from webapp.settings.env import (
    env_bool,
    env_choice,
    env_host_port,
    env_int,
    env_list,
    env_networks,
    env_optional,
    env_secret,
    env_str,
    master_key_from_env,
    parse_database_url,
    parse_redis_url,
)
from webapp.settings.logs import configure_structlog, logging_config
from webapp.stack.redis_server import celery_url, default_redis_url

django_stubs_ext.monkeypatch()  # generic classes (ModelAdmin[Model], …) subscriptable at run time

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("SEQUESTER_VAR_DIR", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env_secret("SECRET_KEY") or ""
DEBUG = env_bool("SEQUESTER_DEBUG", False)
ALLOWED_HOSTS = env_list("SEQUESTER_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("SEQUESTER_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "webapp",
    "audit",
    "keyvault",
    "approvals",
    "incidents",
    "ir_workflows",
    "casefile",
    "regulatory",
    "notifications",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webapp.security_headers.SecurityHeadersMiddleware",
    "webapp.request_limits.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in refused by django-axes (too many failures) into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webapp.navigation.navigation",
            ]
        },
    }
]

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'sequester.sqlite3'}")
DATABASES = {"default": parse_database_url("DATABASE_URL", DATABASE_URL).as_django()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and Celery -------------------------------------------------------------------------
REDIS_URL = parse_redis_url("REDIS_URL", env_optional("REDIS_URL") or default_redis_url(VAR_DIR))
CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = celery_url(REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env_str("SEQUESTER_CELERY_QUEUE", "sequester")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- Temporal ---------------------------------------------------------------------------------
TEMPORAL_ADDRESS = env_host_port("TEMPORAL_ADDRESS", "127.0.0.1:7233")
TEMPORAL_NAMESPACE = env_str("TEMPORAL_NAMESPACE", "default")
TEMPORAL_TASK_QUEUE = env_str("TEMPORAL_TASK_QUEUE", "sequester")
TEMPORAL_UI_URL = env_optional("TEMPORAL_UI_URL")
# Payload encryption keys, "id:base64,id:base64" (the first encrypts). Unset: derived from the master key.
TEMPORAL_CODEC_KEYS = env_optional("TEMPORAL_CODEC_KEYS")

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in (site or admin) while the account or the address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # OpenID Connect (the callback only; authenticates nobody while SEQUESTER_OIDC_ISSUER is unset).
    "webapp.oidc.backend.OidcBackend",
]
# Sign-in with the organisation's identity provider: webapp/oidc/config.py, docs/identity-provider.md.
SEQUESTER_OIDC = oidc_config_from_env(require_https=False)
# Brute-force limits on sign-in and admin sign-in (django-axes, failures kept in the database):
# N failures for one username, or from one address, lock further sign-ins for the cool-off period.
AXES_FAILURE_LIMIT = env_int("SEQUESTER_SIGN_IN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("SEQUESTER_SIGN_IN_LOCKOUT_SECONDS", 900, minimum=60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # hammering a locked account does not extend its lock
AXES_CLIENT_IP_CALLABLE = "webapp.api.actors.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Step-up (WebAuthn assertions, TOTP codes, passwords re-entered): approvals.services.throttle.
SEQUESTER_STEP_UP_FAILURE_LIMIT = env_int("SEQUESTER_STEP_UP_FAILURE_LIMIT", 5, minimum=1, maximum=100)
SEQUESTER_STEP_UP_ADDRESS_FAILURE_LIMIT = env_int(
    "SEQUESTER_STEP_UP_ADDRESS_FAILURE_LIMIT", 20, minimum=1, maximum=1000
)
SEQUESTER_STEP_UP_LOCKOUT_SECONDS = env_int("SEQUESTER_STEP_UP_LOCKOUT_SECONDS", 900, minimum=60)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SEQUESTER_SESSION_SECONDS", 8 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webapp.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "webapp.api.schema.SequesterAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["webapp.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "webapp.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sequester API",
    "DESCRIPTION": "Incident response for compromised cryptographic keys (CSA CEK-19).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
SEQUESTER_API_TOKEN_DAYS = env_int("SEQUESTER_API_TOKEN_DAYS", 365, minimum=1, maximum=3650)

# --- Key custody ------------------------------------------------------------------------------
SEQUESTER_MASTER_KEY = master_key_from_env("SEQUESTER_MASTER_KEY")
# --- Audit: checkpoints are signed with this Ed25519 key (32-byte seed, base64) -------------------
SEQUESTER_AUDIT_SIGNING_KEY = master_key_from_env("SEQUESTER_AUDIT_SIGNING_KEY")
SEQUESTER_AUDIT_CHECKPOINT_SECONDS = env_int("SEQUESTER_AUDIT_CHECKPOINT_SECONDS", 300, minimum=10)
# --- Case files: signed (PAdES) with the deployment's certificate and key (PEM files) -------------
SEQUESTER_CASEFILE_CERT_FILE = env_optional("SEQUESTER_CASEFILE_CERT_FILE")
SEQUESTER_CASEFILE_KEY_FILE = env_optional("SEQUESTER_CASEFILE_KEY_FILE")
SEQUESTER_CASEFILE_KEY_PASSWORD = env_secret("SEQUESTER_CASEFILE_KEY_PASSWORD")
# Certificates that signed case files before a rotation: still published (with their validity) so that
# older case files keep verifying. Comma-separated PEM files.
SEQUESTER_CASEFILE_PREVIOUS_CERT_FILES = env_list("SEQUESTER_CASEFILE_PREVIOUS_CERT_FILES", [])
for _previous in SEQUESTER_CASEFILE_PREVIOUS_CERT_FILES:
    if not Path(_previous).is_file():
        raise ImproperlyConfigured(f"SEQUESTER_CASEFILE_PREVIOUS_CERT_FILES: {_previous!r} is not a file")
# An RFC 3161 time-stamping authority: each case file's signature gets a timestamp from it (PAdES B-T).
SEQUESTER_TSA_URL = env_optional("SEQUESTER_TSA_URL")
if SEQUESTER_TSA_URL is not None and not SEQUESTER_TSA_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SEQUESTER_TSA_URL must be an http(s) URL, got {SEQUESTER_TSA_URL!r}")
SEQUESTER_TSA_TIMEOUT_SECONDS = env_int("SEQUESTER_TSA_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
SEQUESTER_TSA_CERT_FILE = env_optional("SEQUESTER_TSA_CERT_FILE")  # the TSA's certificate, published for auditors
SEQUESTER_PKCS11_MODULE = env_optional("SEQUESTER_PKCS11_MODULE")
SEQUESTER_PKCS11_TOKEN_LABEL = env_str("SEQUESTER_PKCS11_TOKEN_LABEL", "sequester")
SEQUESTER_PKCS11_PIN = env_secret("SEQUESTER_PKCS11_PIN")
SEQUESTER_GATE_MAX_PAYLOAD_BYTES = env_int("SEQUESTER_GATE_MAX_PAYLOAD_BYTES", 1024 * 1024, minimum=1)
SEQUESTER_GATE_MAX_BATCH_ITEMS = env_int("SEQUESTER_GATE_MAX_BATCH_ITEMS", 10_000, minimum=1)
SEQUESTER_ENCRYPTION_EXCEPTION_MAX_HOURS = env_int(
    "SEQUESTER_ENCRYPTION_EXCEPTION_MAX_HOURS", 24, minimum=1, maximum=24
)
SEQUESTER_DECRYPT_GRANT_MAX_HOURS = env_int("SEQUESTER_DECRYPT_GRANT_MAX_HOURS", 24, minimum=1, maximum=168)
SEQUESTER_REWRAP_BATCH_SIZE = env_int("SEQUESTER_REWRAP_BATCH_SIZE", 500, minimum=1, maximum=10_000)
SEQUESTER_REWRAP_PAUSE_MS = env_int("SEQUESTER_REWRAP_PAUSE_MS", 0, minimum=0, maximum=60_000)
SEQUESTER_REWRAP_HEARTBEAT_SECONDS = env_int("SEQUESTER_REWRAP_HEARTBEAT_SECONDS", 10, minimum=1, maximum=3600)
SEQUESTER_USAGE_BACKGROUND_FLUSH = True  # tests turn it off: counters are then written when read
SEQUESTER_RESTRICTION_CHECK_SECONDS = env_int("SEQUESTER_RESTRICTION_CHECK_SECONDS", 300, minimum=10)
# Restrictions applied on the backend right after a state change commits; more keys go to the task.
SEQUESTER_RESTRICT_INLINE_KEYS = env_int("SEQUESTER_RESTRICT_INLINE_KEYS", 10, minimum=0, maximum=10_000)
# An operator's extra regulatory rules and holidays (*.toml), loaded after the shipped catalogue.
SEQUESTER_REGULATORY_DIR = env_optional("SEQUESTER_REGULATORY_DIR")
if SEQUESTER_REGULATORY_DIR is not None and not Path(SEQUESTER_REGULATORY_DIR).is_dir():
    raise ImproperlyConfigured(f"SEQUESTER_REGULATORY_DIR must be a directory, got {SEQUESTER_REGULATORY_DIR!r}")
# A batch of base64 items: well above one item's limit, still bounded.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("SEQUESTER_MAX_REQUEST_BYTES", 32 * 1024 * 1024, minimum=1024)
# A detector's webhook is read before its signature is checked: a much smaller bound.
SEQUESTER_SIGNAL_WEBHOOK_MAX_BYTES = env_int(
    "SEQUESTER_SIGNAL_WEBHOOK_MAX_BYTES", 1024 * 1024, minimum=1024, maximum=DATA_UPLOAD_MAX_MEMORY_SIZE
)
# Incidents opened by a detector (no person reported them) go to the on-call commander (a username that
# holds the commander role), else to the queue: the members of this group who may command are told and
# one of them takes it (docs/ownership.md).
SEQUESTER_ONCALL_COMMANDER = env_optional("SEQUESTER_ONCALL_COMMANDER") or ""
SEQUESTER_ONCALL_QUEUE = env_str("SEQUESTER_ONCALL_QUEUE", "commander")
CELERY_BEAT_SCHEDULE["temporal-outbox-sweep"] = {"task": "ir_workflows.sweep_outbox", "schedule": 30.0}
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "audit.checkpoint",
    "schedule": float(SEQUESTER_AUDIT_CHECKPOINT_SECONDS),
}
SEQUESTER_REGULATORY_SYNC_SECONDS = env_int("SEQUESTER_REGULATORY_SYNC_SECONDS", 60, minimum=10)
CELERY_BEAT_SCHEDULE["regulatory-sync-awareness"] = {
    "task": "regulatory.sync_awareness",
    "schedule": float(SEQUESTER_REGULATORY_SYNC_SECONDS),
}
CELERY_BEAT_SCHEDULE["keyvault-verify-restrictions"] = {
    "task": "keyvault.verify_restrictions",
    "schedule": float(SEQUESTER_RESTRICTION_CHECK_SECONDS),
}
# Key managers' inventories (OpenBao/Vault transit, KMIP, AWS KMS) brought in step: new versions,
# keys that vanished or changed outside Sequester.
SEQUESTER_KEY_MANAGER_SYNC_SECONDS = env_int("SEQUESTER_KEY_MANAGER_SYNC_SECONDS", 900, minimum=30)
CELERY_BEAT_SCHEDULE["keyvault-sync-key-managers"] = {
    "task": "keyvault.sync_key_managers",
    "schedule": float(SEQUESTER_KEY_MANAGER_SYNC_SECONDS),
}

# --- Approvals and step-up ----------------------------------------------------------------------
SEQUESTER_WEBAUTHN_RP_ID = env_str("SEQUESTER_WEBAUTHN_RP_ID", "localhost")
SEQUESTER_WEBAUTHN_RP_NAME = env_str("SEQUESTER_WEBAUTHN_RP_NAME", "Sequester")
SEQUESTER_WEBAUTHN_ORIGINS = env_list("SEQUESTER_WEBAUTHN_ORIGINS", ["http://localhost:8000"])
SEQUESTER_WEBAUTHN_REQUIRE_UV = env_bool("SEQUESTER_WEBAUTHN_REQUIRE_UV", True)
SEQUESTER_APPROVAL_SWEEP_SECONDS = env_int("SEQUESTER_APPROVAL_SWEEP_SECONDS", 30, minimum=5)
SEQUESTER_BASE_URL = env_str("SEQUESTER_BASE_URL", "http://localhost:8000")

# --- Email -------------------------------------------------------------------------------------
_SMTP_HOST = env_optional("SEQUESTER_SMTP_HOST")
EMAIL_BACKEND = (
    # No relay (development): mail is printed to the console, with acknowledgement tokens redacted.
    "django.core.mail.backends.smtp.EmailBackend"
    if _SMTP_HOST
    else "notifications.console_mail.RedactingConsoleBackend"
)
EMAIL_HOST = _SMTP_HOST or "localhost"
EMAIL_PORT = env_int("SEQUESTER_SMTP_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_optional("SEQUESTER_SMTP_USER") or ""
EMAIL_HOST_PASSWORD = env_secret("SEQUESTER_SMTP_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("SEQUESTER_SMTP_STARTTLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("SEQUESTER_MAIL_FROM", "sequester@localhost")
# Alert mail to Sequester's own people (approval needed, the commander needed): tried at once, then
# retried with exponential backoff (first retry, longest wait) until delivered or given up after so many
# hours; the failure is shown on the incident, approval and home pages and audited (webapp.services.staff_mail).
SEQUESTER_STAFF_MAIL_FIRST_RETRY_SECONDS = env_int("SEQUESTER_STAFF_MAIL_FIRST_RETRY_SECONDS", 30, minimum=1)
SEQUESTER_STAFF_MAIL_MAX_BACKOFF_SECONDS = env_int("SEQUESTER_STAFF_MAIL_MAX_BACKOFF_SECONDS", 1800, minimum=10)
SEQUESTER_STAFF_MAIL_GIVE_UP_HOURS = env_int("SEQUESTER_STAFF_MAIL_GIVE_UP_HOURS", 24, minimum=1, maximum=24 * 14)
CELERY_BEAT_SCHEDULE["webapp-retry-staff-mail"] = {"task": "webapp.retry_staff_mail", "schedule": 30.0}

# --- Notifying parties ------------------------------------------------------------------------
SEQUESTER_ACK_LINK_DAYS = env_int("SEQUESTER_ACK_LINK_DAYS", 14, minimum=1, maximum=90)
# Outbound webhooks: https only (production turns it on), never an internal address unless allowed here.
SEQUESTER_WEBHOOK_REQUIRE_HTTPS = env_bool("SEQUESTER_WEBHOOK_REQUIRE_HTTPS", False)
SEQUESTER_WEBHOOK_ALLOWED_NETWORKS = env_networks("SEQUESTER_WEBHOOK_ALLOWED_NETWORKS", [])
SEQUESTER_WEBHOOK_TIMEOUT_SECONDS = env_int("SEQUESTER_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)

# --- Evaluating the control: playbook reviews, drills, metrics --------------------------------------
SEQUESTER_PLAYBOOK_REVIEW_MONTHS = env_int("SEQUESTER_PLAYBOOK_REVIEW_MONTHS", 12, minimum=1, maximum=36)
# A cron expression (UTC) for the drill schedule the worker keeps in Temporal; empty: no scheduled drill.
SEQUESTER_DRILL_SCHEDULE = env_str("SEQUESTER_DRILL_SCHEDULE", "0 9 1 1,4,7,10 *")
# /metrics: a bearer token (or _FILE); without one, only the networks below may scrape.
SEQUESTER_METRICS_TOKEN = env_secret("SEQUESTER_METRICS_TOKEN")
SEQUESTER_METRICS_NETWORKS = env_list("SEQUESTER_METRICS_NETWORKS", ["127.0.0.1/32", "::1/128"])
for _network in SEQUESTER_METRICS_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"SEQUESTER_METRICS_NETWORKS: {_network!r} is not a network") from None
if SEQUESTER_DRILL_SCHEDULE and len(SEQUESTER_DRILL_SCHEDULE.split()) != 5:
    raise ImproperlyConfigured("SEQUESTER_DRILL_SCHEDULE is a 5-field cron expression (or empty)")
# The Temporal worker's own metrics (SDK, Prometheus): host:port, empty = off.
SEQUESTER_WORKER_METRICS_ADDRESS = env_str("SEQUESTER_WORKER_METRICS_ADDRESS", "")

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("SEQUESTER_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Health checks ----------------------------------------------------------------------------
SEQUESTER_HEALTH_TIMEOUT_SECONDS = env_int("SEQUESTER_HEALTH_TIMEOUT_MS", 1500, minimum=50, maximum=30000) / 1000
# Pages never probe: they show the stack's health as a background thread of each web process last found it,
# every this many seconds (0: no thread; /healthz always probes live).
SEQUESTER_HEALTH_REFRESH_SECONDS = env_int("SEQUESTER_HEALTH_REFRESH_SECONDS", 15, minimum=0, maximum=3600)

# --- Logging ----------------------------------------------------------------------------------
LOG_FORMAT = env_choice("SEQUESTER_LOG_FORMAT", "console", ("console", "json"))
LOG_LEVEL = env_choice("SEQUESTER_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = logging_config(json_logs=LOG_FORMAT == "json", level=LOG_LEVEL)
configure_structlog()

# --- Riding out an outage (docs/recovery.md) -----------------------------------------------------
# A playbook step still retrying after two minutes (a database outage) is reported without the database:
# an error log line, a Redis key per stalled incident (``sequester:stall:<reference>``) and a mail to
# these addresses (the on-call list, not looked up in the database); again when the step resumes.
SEQUESTER_STALL_ALERT_EMAILS = env_list("SEQUESTER_STALL_ALERT_EMAILS", [])
# Outbox delivery to Temporal: a Celery process waits at most this long for one call (then retries later).
TEMPORAL_RPC_TIMEOUT_SECONDS = env_int("TEMPORAL_RPC_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)
# The Temporal worker's build id (recorded in every workflow task it completes); by default a hash of the
# workflow-side source, so two deploys of the same workflow code share one id.
SEQUESTER_WORKER_BUILD_ID = env_optional("SEQUESTER_WORKER_BUILD_ID")
