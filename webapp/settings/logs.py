"""Structured logging (structlog) on top of the standard library, with secrets redacted."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

# Event keys that may never reach a log line in clear, whatever code put them there.
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "secret",
        "token",
        "api_token",
        "authorization",
        "plaintext",
        "plaintext_b64",
        "key_material",
        "master_key",
        "private_key",
        "cookie",
        "sessionid",
    }
)
REDACTED = "[redacted]"


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]


def logging_config(*, json_logs: bool, level: str) -> dict[str, Any]:
    renderer: Any = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                "foreign_pre_chain": shared_processors(),
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "temporalio": {"level": "WARNING"},
            "weasyprint": {"level": "WARNING"},  # a line per layout step and page otherwise
            "fontTools": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[*shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.captureWarnings(True)
