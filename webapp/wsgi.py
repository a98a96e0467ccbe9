"""WSGI entry point (gunicorn in ``make run`` and in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.development")

application = get_wsgi_application()
