# Production image for web, worker and beat (see docker-compose.yml). .dockerignore keeps the
# tests, the sandboxes and devstack out; DEBUG is off, so SECRET_KEY and FIELD_ENCRYPTION_KEYS
# must come from the environment at run time, and the processes run as the non-root `dropship`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=dropship.settings \
    DEBUG=0 \
    VAR_DIR=/app/var

RUN pip install --no-cache-dir uv && useradd --create-home --uid 1000 dropship
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --python python3.11
COPY . .
# Static files are collected at build time with throwaway secrets; real ones come at run time.
RUN DEBUG=0 SECRET_KEY=collectstatic-only \
    FIELD_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldCE= \
    STATIC_ROOT=/app/staticfiles VAR_DIR=/tmp/var \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R dropship /app/var
USER dropship
EXPOSE 8000
CMD ["gunicorn", "dropship.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
