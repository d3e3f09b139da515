# syntax=docker/dockerfile:1
# serpgate's image: wheels are built in a throwaway stage, and the final stage holds Python, the
# installed wheels and nothing else (no compiler, no source tree, no test tools), run as a non-root
# user. tests/ops/test_container.py performs these same steps without a Docker engine.

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml uv.lock README.md ./
COPY src/ src/
# Every runtime dependency at exactly the version and hash uv.lock holds (the dev and bench extras
# are not asked for), then serpgate itself, as wheels.
RUN pip install uv==0.13.9
RUN uv export --locked --no-dev --no-emit-project --no-header --output-file requirements.txt
RUN pip wheel --require-hashes --wheel-dir /wheels --requirement requirements.txt
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    SERPGATE_HOST=0.0.0.0 SERPGATE_PORT=8000
# Debian's Chromium, for engines behind a JavaScript wall (Google): serpgate drives it headless
# through Playwright's bundled driver, so no browser download ever happens at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 serpgate \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin serpgate
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels serpgate
# A numeric user, so that orchestrators can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# Liveness only: readiness (/readyz) turns 503 while draining, which must not get the container killed.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SERPGATE_PORT', '8000'), timeout=2)"]
# `docker stop` sends SIGTERM: serpgate drains (SERPGATE_SHUTDOWN__*) and exits 0. Keep the
# orchestrator's stop timeout above drain_delay + grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["serpgate"]
# Host and port come from SERPGATE_HOST and SERPGATE_PORT above, so the environment can change them.
CMD ["serve"]
