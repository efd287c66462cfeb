# Small non-root image whose default command serves the API with gunicorn.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OPSDIAG_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:////data/opsdiag.db

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin opsdiag \
    && mkdir -p /data && chown opsdiag /data

WORKDIR /app
COPY pyproject.toml README.md openapi.yaml ./
COPY rules ./rules
COPY service ./service
COPY kb_content ./kb_content
RUN pip install --no-compile -e .

USER opsdiag
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
# Seed an empty store from kb_content, never overwrite curated versions, then serve.
CMD ["sh", "-c", "opsdiag kb load --if-empty && exec gunicorn -c service/gunicorn_conf.py service.wsgi:app"]
