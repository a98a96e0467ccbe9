"""Sequester's Django project: settings, URLs, the Celery app, the base UI and authentication."""

from webapp.celery import app as celery_app

__all__ = ["celery_app"]
