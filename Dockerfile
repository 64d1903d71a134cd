# The server image: `inngest start` (self-hosted personality). Configure it through INNGEST_*
# environment variables (see docs/configuration.md) or a config file passed with --config.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package build needs, so edits elsewhere in the repository keep this layer cached.
COPY pyproject.toml README.md ./
COPY inngest ./inngest
RUN pip install . \
    && useradd --system --create-home --uid 10001 inngest

# The server never needs root.
USER inngest
WORKDIR /home/inngest

# Inside a container the API must listen on every interface to be reachable through a port mapping.
ENV INNGEST_API__ADDR=0.0.0.0 \
    INNGEST_LOG_FORMAT=json
EXPOSE 8288

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8288/health', timeout=2)"]

# SIGTERM (docker stop) lets in-flight calls finish within queue.shutdown_grace_s (25 s by default);
# give `docker stop` / compose a longer timeout than that.
STOPSIGNAL SIGTERM
CMD ["inngest", "start"]
