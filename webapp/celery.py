"""The Celery application: web-tier background jobs (the incident lifecycle belongs to Temporal)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.development")

app = Celery("sequester")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
