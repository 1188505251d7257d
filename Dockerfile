# geomon: API + situation map + ingest listeners. For people who have Docker; our own
# machines have no Docker engine, so nothing in the project depends on this file.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev
COPY pyproject.toml README.md ./
COPY geomon ./geomon
COPY sensors ./sensors
COPY tiles ./tiles
COPY api ./api
COPY migrations ./migrations
COPY data ./data
RUN pip install --no-cache-dir .

ENV GEOMON_API__HOST=0.0.0.0 \
    GEOMON_API__PORT=8000 \
    GEOMON_API__ASSETS_DIR=/app/node_modules \
    GEOMON_REFERENCE_DIR=/app/data/reference \
    GEOMON_INGEST__NMEA_TCP=0.0.0.0:5010 \
    GEOMON_INGEST__SPOOL_DIR=/var/lib/geomon/spool \
    GEOMON_DATA_DIR=/var/lib/geomon/data
VOLUME /var/lib/geomon
EXPOSE 8000 5010

HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"

# Migrations (and this month's partitions) on every start, then the reference data.
CMD ["sh", "-c", "geomon db upgrade && geomon load-reference && exec geomon serve"]
