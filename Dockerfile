# Multi-stage: build a wheel with the toolchain, run it on a slim image as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY item_bank ./item_bank
COPY scoring ./scoring
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UJIAN_VAR_DIR=/srv/ujian/var \
    UJIAN_DATABASE_URL=sqlite:////srv/ujian/var/ujian.db
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ujian \
    && mkdir -p /srv/ujian/var && chown -R ujian:ujian /srv/ujian
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /srv/ujian
USER ujian
VOLUME ["/srv/ujian/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
# Migrations first (idempotent), then the service on all interfaces.
CMD ["sh", "-c", "ujian db upgrade && exec ujian serve --host 0.0.0.0 --port 8000 --workers ${UJIAN_WORKERS:-1}"]
