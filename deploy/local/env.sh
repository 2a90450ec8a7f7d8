#!/usr/bin/env bash
# Shared by hub.sh and test.sh (source it): Node 24 on PATH, dependencies installed, and the
# connection settings of the local infrastructure started by infra.sh.
set -euo pipefail
HUB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$HUB_ROOT"
# shellcheck source=deploy/local/node24.sh
. deploy/local/node24.sh

# Install (or re-install) dependencies when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[env] installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

export TURBO_TELEMETRY_DISABLED=1
# Node's compile cache: services load their (type-stripped) modules from it after the first start.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$HOME/.cache/notification-hub/compile-cache}"
# kafkajs 2.2.4 schedules a negative timeout on Node 24 (clamped to 1 ms, harmless; upstream
# issue tulios/kafkajs#1751). Hide only that warning type.
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning"

# Connection settings for the infrastructure that infra.sh starts on this machine.
hub_local_infra_env() {
  export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/notification_hub}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
}

hub_docker_engine() {
  command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1
}
