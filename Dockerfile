# Recovery API: gunicorn + whitenoise on a slim Python 3.11 image, dependencies pinned by requirements.lock.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHON_BIN=python \
    RECOVERY_ENV=production \
    BIND=0.0.0.0:8000

WORKDIR /app
RUN useradd --create-home --uid 10001 app

COPY pyproject.toml requirements.lock README.md ./
COPY backend ./backend
COPY accounts ./accounts
COPY recovery ./recovery
COPY manage.py ./
COPY scripts/entrypoint ./scripts/entrypoint
RUN pip install -c requirements.lock . \
 && SECRET_KEY=build-only ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
 && rm -f /tmp/build.sqlite3 \
 && chown -R app:app /app

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["./scripts/entrypoint"]
