# The one image for web, worker, celery and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv \
 && useradd --system --create-home --home-dir /app sequester

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN UV_COMPILE_BYTECODE=1 uv sync --frozen --no-dev --no-install-project
COPY . .
ENV PATH="/app/.venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=webapp.settings.production \
    SEQUESTER_VAR_DIR=/app/var \
    PYTHONUNBUFFERED=1
RUN SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '\n') DATABASE_URL=sqlite:///tmp/build.db \
    REDIS_URL=redis://127.0.0.1:6379/0 python manage.py collectstatic --noinput \
 && python -m compileall -q -x '/\.venv/' . \
 && mkdir -p /app/var && chown -R sequester /app/var
USER sequester
EXPOSE 8000
# Served as `make run` serves it: webapp/gunicorn_conf.py (workers, threads, keep-alive, access log).
ENV SEQUESTER_WEB_BIND=0.0.0.0:8000
CMD ["gunicorn", "-c", "python:webapp.gunicorn_conf", "webapp.wsgi:application"]
