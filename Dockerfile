# Small non-root image whose default command serves the API with gunicorn.
# Stage 1 builds the virtualenv (durable-rules has no wheel and needs a C++ compiler);
# stage 2 copies that virtualenv and the sources, without any compiler or pip cache.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rules ./rules
COPY service ./service
COPY client ./client
# Not editable: the package (code, templates, calibration) lives in the virtualenv; the rules and
# the contract are data, copied below and named by OPSDIAG_KB_DIR and OPSDIAG_OPENAPI.
RUN pip install --no-cache-dir --no-compile .


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    OPSDIAG_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:////data/opsdiag.db \
    OPSDIAG_KB_DIR=/app/kb_content \
    OPSDIAG_OPENAPI=/app/openapi.yaml

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin opsdiag \
    && mkdir -p /data && chown opsdiag /data

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY openapi.yaml ./
COPY kb_content ./kb_content

USER opsdiag
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/readyz', timeout=2)"
# Seed an empty store from kb_content, never overwrite curated versions, then serve.
CMD ["sh", "-c", "opsdiag kb load --if-empty && exec gunicorn -c python:service.web.gunicorn_conf service.web.wsgi:app"]
