# The Candor image used by compose.yml for web, worker and beat.
FROM python:3.11-slim-bookworm

# OpenCV (used by the analysis) needs these shared libraries.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
# Dependencies first, from the lock file, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY candor ./candor
COPY web ./web
COPY worker ./worker
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --frozen --no-dev

RUN useradd --create-home --uid 1000 candor && mkdir /data && chown candor /data
USER candor
ENV PATH=/app/.venv/bin:$PATH CANDOR_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["candor", "serve", "--host", "0.0.0.0"]
