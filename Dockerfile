# tlh-daemon container image. Build:  docker build -t tlh .     (or: podman build --format docker -t tlh .)
# Run:   docker run -d -v "$PWD/config:/config:ro" -v tlh-data:/data tlh        (the daemon: `tlh run`)
#        docker run --rm -v "$PWD/config:/config:ro" -v tlh-data:/data tlh db upgrade   (any tlh command)
#        docker compose up -d                                                   (with PostgreSQL: see README)
# The configuration is /config/tlh.toml (TLH_CONFIG); keep the database in /data, e.g.
# database_url = "sqlite:////data/tlh.db", or use PostgreSQL. Secrets come from the environment or *_FILE
# (Docker secrets), never from the configuration file (see README.md, "Deployment").
#
# Works with the official python:3.11-slim (Python in /usr/local/bin) and with a Debian-built base that has
# it in /usr/bin: only `python3` on PATH is assumed. The virtualenv lives at /opt/venv in both stages, so
# its scripts' shebangs (#!/opt/venv/bin/python3) stay valid after the copy.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
WORKDIR /src
# The dependencies first, in their own layer: a change to the code alone does not download them again.
COPY pyproject.toml ./
RUN /opt/venv/bin/python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"
COPY README.md ./
COPY daemon ./daemon
COPY brokers ./brokers
COPY migrations ./migrations
COPY config/substitutes.toml ./config/substitutes.toml
COPY config/sp500.csv ./config/sp500.csv
# The shipped substitute groups: daemon/config/substitutes.toml is a link to config/substitutes.toml in the
# source tree; install the file itself if the wheel did not carry it. Then check that the CLI starts.
RUN /opt/venv/bin/pip install --no-deps . \
 && target="$(/opt/venv/bin/python -c 'from daemon.config.loader import SHIPPED_SUBSTITUTES as p; print(p)')" \
 && { [ -f "$target" ] || cp config/substitutes.toml "$target"; } \
 && { [ -f "$(dirname "$target")/sp500.csv" ] || cp config/sp500.csv "$(dirname "$target")/sp500.csv"; } \
 && /opt/venv/bin/tlh --help >/dev/null

FROM python:3.11-slim
LABEL org.opencontainers.image.title="tlh-daemon" \
      org.opencontainers.image.description="Self-hosted tax-loss-harvesting daemon" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV TLH_CONFIG=/config/tlh.toml \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/venv /opt/venv
# A fixed uid/gid (10001) so that volume and secret file ownership can be set from the host.
RUN groupadd --gid 10001 tlh \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin tlh \
 && mkdir -p /config /data \
 && chown tlh:tlh /data
WORKDIR /data
VOLUME ["/config", "/data"]
USER tlh
# `tlh run` stops cleanly on SIGTERM (the current step finishes, the lease is released): give it time.
STOPSIGNAL SIGTERM
# The dashboard, opt-in: nothing listens unless the command is `serve` or `run --serve`, and then on all the
# container's addresses only with TLH_DASHBOARD_HOST=0.0.0.0 and a token (TLH_DASHBOARD_TOKEN_FILE). Publish
# it on the host's loopback: -p 127.0.0.1:8765:8765 (docker-compose.yml, profile "dashboard").
EXPOSE 8765
# Healthy: the database answers and this daemon's heartbeat is fresh.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["tlh", "health"]
ENTRYPOINT ["tlh"]
CMD ["run"]
