#!/usr/bin/env bash
# `make container-test`: the Dockerfile, built and run for real with Podman.
#   1. Podman and a local python:3.11-slim base (CONTAINER_BASE, default ../shared/tools/container-base.sh,
#      run as root) when either is missing.
#   2. podman build --pull=never --format docker -t tlh:ci .
#   3. `tlh import` of the demo trades in a throwaway container, then the daemon (`tlh run`, the image's
#      default command) detached, on the built-in paper broker, without network, with the config mounted
#      read-only at /config and a named volume at /data.
#   4. Waits (bounded) until `podman healthcheck run` passes; the log must name the next harvest.
#   4b. The dashboard (opt-in): `tlh serve` in a second container on the same volume, on all its addresses
#      with a token (TLH_DASHBOARD_TOKEN): /healthz open, the API 401 without the token and 200 with it.
#   5. podman stop -t 20 (SIGTERM): exit code 0, then the database checked in a throwaway container:
#      PRAGMA integrity_check = ok and the Alembic revision at head.
# Prints the figures (build time, image size, time to healthy, idle memory, stop time). Cleans up after itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

IMAGE=${TLH_IMAGE:-tlh:ci}
BASE_IMAGE=docker.io/library/python:3.11-slim
CONTAINER_BASE=${CONTAINER_BASE:-../shared/tools/container-base.sh}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-120}
NAME="tlh-ci-$$"
DASH="tlh-ci-dash-$$"
VOLUME="tlh-ci-data-$$"
work=$(mktemp -d)

say() { echo "container-test: $*"; }
# Podman schedules healthchecks with systemd timers; without systemd (containers, CI) it complains on every
# container start and stop. The checks themselves run with `podman healthcheck run`: drop that noise only.
pm() { podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
cleanup() {
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  podman rm -f -t 0 "$DASH" >/dev/null 2>&1 || true
  podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    say "needs root (or passwordless sudo) to run: $*"; return 1; fi
}

# 1. Podman and the base image
if ! command -v podman >/dev/null || ! podman image exists "$BASE_IMAGE" 2>/dev/null; then
  [ -f "$CONTAINER_BASE" ] || { say "no $CONTAINER_BASE to install Podman and the base image"; exit 1; }
  say "preparing Podman and the base image with $CONTAINER_BASE"
  t0=$(date +%s)
  as_root bash "$CONTAINER_BASE"
  say "base ready in $(( $(date +%s) - t0 ))s"
fi

# 2. Build
t0=$(date +%s)
podman build --pull=never --format docker -t "$IMAGE" . > "$work/build.log" 2>&1 || {
  tail -40 "$work/build.log"; say "FAILED: podman build"; exit 1; }
build_s=$(( $(date +%s) - t0 ))
podman image prune -f >/dev/null 2>&1 || true  # the previous build's image, now untagged
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
say "built $IMAGE in ${build_s}s, $(( size / 1000000 )) MB"

# 3. Config, data volume, seed, run
mkdir -p "$work/config"
cp tests/container/tlh.toml config/demo/prices.csv config/demo/trades.csv tests/container/check_db.py \
  tests/container/check_dashboard.py "$work/config/"
chmod -R a+rX "$work/config"
podman volume create "$VOLUME" >/dev/null
mounts=(-v "$work/config:/config:ro" -v "$VOLUME:/data")
pm run --rm --network none --no-healthcheck "${mounts[@]}" "$IMAGE" import /config/trades.csv
pm run -d --name "$NAME" --network none "${mounts[@]}" "$IMAGE" >/dev/null
say "started $NAME"

# 4. Healthy, and the next harvest in the log
t0=$(date +%s)
until podman healthcheck run "$NAME" >/dev/null 2>&1; do
  if [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" != true ]; then
    podman logs "$NAME" 2>&1 | tail -30; say "FAILED: the daemon exited before it was healthy"; exit 1
  fi
  if [ $(( $(date +%s) - t0 )) -ge "$HEALTH_TIMEOUT" ]; then
    podman logs "$NAME" 2>&1 | tail -30; say "FAILED: not healthy within ${HEALTH_TIMEOUT}s"; exit 1
  fi
  sleep 2
done
say "healthy after $(( $(date +%s) - t0 ))s"
for _ in $(seq 1 30); do podman logs "$NAME" 2>&1 | grep -q next_harvest && break; sleep 1; done
next=$(podman logs "$NAME" 2>&1 | grep -o '"next_harvest": *"[^"]*"' | tail -1 || true)
[ -n "$next" ] || { podman logs "$NAME" 2>&1 | tail -30; say "FAILED: no next_harvest in the log"; exit 1; }
say "log: $next"
rss=$(podman exec "$NAME" sh -c 'grep VmRSS /proc/1/status' 2>/dev/null | awk '{print $2}' || true)
[ -z "$rss" ] || say "idle daemon resident memory: $(( rss / 1024 )) MB"

# 4b. The dashboard, opt-in: its own container, listening on every address of it, so a token is required
token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
pm run -d --name "$DASH" --network none --no-healthcheck "${mounts[@]}" -e TLH_DASHBOARD_TOKEN="$token" \
  -e TLH_DASHBOARD_HOST=0.0.0.0 "$IMAGE" serve >/dev/null
podman exec -e TOKEN="$token" "$DASH" python3 /config/check_dashboard.py \
  || { podman logs "$DASH" 2>&1 | tail -20; say "FAILED: dashboard"; exit 1; }
pm stop -t 10 "$DASH" >/dev/null

# 5. SIGTERM, clean exit, intact database
t0=$(date +%s)
pm stop -t 20 "$NAME" >/dev/null
stop_s=$(( $(date +%s) - t0 ))
code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
podman logs "$NAME" 2>&1 | tail -3
[ "$code" = 0 ] || { say "FAILED: exit code $code after SIGTERM (${stop_s}s)"; exit 1; }
say "stopped by SIGTERM in ${stop_s}s, exit code 0"
pm run --rm --network none --no-healthcheck "${mounts[@]}" --entrypoint python3 "$IMAGE" /config/check_db.py \
  || { say "FAILED: database check"; exit 1; }
say "OK"
