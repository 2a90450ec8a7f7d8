#!/usr/bin/env bash
# deploy/local/infra.sh — bring up the local infrastructure Notification Hub
# needs: Postgres (127.0.0.1:5432), Redis (127.0.0.1:6379) and Kafka
# (127.0.0.1:9092, via deploy/local/kafka.sh).
#
# Why this exists: our dev and CI machines are plain Debian hosts with no
# Docker engine, so there is no docker-compose. Services run natively:
# Postgres and Redis from Debian packages, Kafka from Maven Central jars.
# Whatever already answers is reused as is; only what this script starts is
# recorded (in the state dir) and stopped again by `down`.
#
# Usage: deploy/local/infra.sh up|down|status|env
#
#   up      make sure all three answer (installing Debian packages if needed),
#           create database notification_hub, print the env exports.
#   down    stop Kafka; stop Postgres/Redis only if `up` started them.
#   status  report each service; exit 0 only if all three answer.
#   env     print just the export lines, for: eval "$(deploy/local/infra.sh env)"
#
# Environment: HUB_CACHE_DIR (default $HOME/.cache/notification-hub), REDIS_PORT
# (default 6379); the Kafka variables documented in kafka.sh (KAFKA_PORT, ...)
# are passed through. Postgres is always the cluster on 127.0.0.1:5432.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_SH="$SCRIPT_DIR/kafka.sh"

CACHE_ROOT="${HUB_CACHE_DIR:-$HOME/.cache/notification-hub}"
STATE_DIR="$CACHE_ROOT/infra"
PG_STARTED="$STATE_DIR/postgres.started"        # "<version> <cluster>" if we started it
PG_INSTALLED="$STATE_DIR/postgres.installed"    # we apt-installed it (so we may configure it)
REDIS_STARTED="$STATE_DIR/redis.started"

HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
DB_NAME=notification_hub
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
READY_TIMEOUT=30

log() { echo "[infra] $*"; }
err() { echo "[infra] ERROR: $*" >&2; }
die() { err "$*"; exit 1; }

apt_install() { # $@ = Debian packages
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* via apt-get ..."
    apt-get update -qq
    # 8>&-: package scripts may start daemons; they must not inherit our lock fd.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 8>&-
  else
    die "missing $*; install it, e.g.: sudo apt-get update && sudo apt-get install -y $*"
  fi
}

wait_for() { # $1 = what, rest = probe command
  local what="$1"; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    ((SECONDS < deadline)) || die "$what not ready after ${READY_TIMEOUT}s"
    sleep 0.5
  done
}

# ---------------------------------------------------------------- postgres

pg_ready() { pg_isready -q -h "$HOST" -p "$PG_PORT" >/dev/null 2>&1; }
pg_sql() { psql -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -w -d postgres -v ON_ERROR_STOP=1 -tAc "$1"; }
pg_access_ok() { [[ "$(pg_sql 'SELECT 1' 2>/dev/null)" == 1 ]]; }

# Newest installed server version that has a "main" cluster, e.g. "15".
pg_cluster_version() {
  find /etc/postgresql -mindepth 2 -maxdepth 2 -name main -type d 2>/dev/null \
    | awk -F/ '{print $4}' | sort -V | tail -n1
}

pg_trust_localhost() { # $1 = version; only for a cluster this script installed
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  grep -q 'notification-hub infra.sh' "$hba" && return 0
  log "allowing password-less access for user $PG_USER from localhost in $hba (dev-only cluster we installed)"
  local tmp
  tmp="$(mktemp)"
  {
    echo "# added by notification-hub deploy/local/infra.sh: local dev access without password"
    echo "host all $PG_USER 127.0.0.1/32 trust"
    echo "host all $PG_USER ::1/128 trust"
    cat "$hba"
  } >"$tmp"
  cat "$tmp" >"$hba"   # keep owner/mode of the original file
  rm -f "$tmp"
  pg_ctlcluster --skip-systemctl-redirect "$1" main reload
}

postgres_up() {
  command -v pg_isready >/dev/null 2>&1 || apt_install postgresql-client
  if pg_ready; then
    log "postgres: already answering on $HOST:$PG_PORT, using it"
  else
    local ver
    ver="$(pg_cluster_version)"
    if [[ -z "$ver" ]]; then
      if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
        apt_install postgresql
        touch "$PG_INSTALLED"
      fi
      ver="$(pg_cluster_version)"
      if [[ -z "$ver" ]]; then
        ver="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)"
        log "postgres: creating cluster $ver/main"
        pg_createcluster "$ver" main >/dev/null
      fi
    fi
    # The package's postinst may already have started it.
    if ! pg_ready; then
      log "postgres: starting cluster $ver/main ..."
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start 8>&-
    fi
    wait_for "postgres on $HOST:$PG_PORT" pg_ready
    echo "$ver main" >"$PG_STARTED"
    log "postgres: $ver/main started on $HOST:$PG_PORT"
  fi

  if ! pg_access_ok && [[ -f "$PG_INSTALLED" ]]; then
    pg_trust_localhost "$(pg_cluster_version)"
  fi
  if ! pg_access_ok; then
    err "postgres answers, but user $PG_USER cannot log in over $HOST without a password."
    err "For local dev, add these lines at the TOP of /etc/postgresql/<version>/main/pg_hba.conf:"
    err "    host all $PG_USER 127.0.0.1/32 trust"
    err "    host all $PG_USER ::1/128 trust"
    err "then reload: pg_ctlcluster --skip-systemctl-redirect <version> main reload"
    exit 1
  fi

  if [[ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
    pg_sql "CREATE DATABASE $DB_NAME" >/dev/null
    log "postgres: created database $DB_NAME"
  else
    log "postgres: database $DB_NAME exists"
  fi
}

postgres_down() {
  if [[ -f "$PG_STARTED" ]]; then
    local ver cluster
    read -r ver cluster <"$PG_STARTED"
    log "postgres: stopping cluster $ver/$cluster (started by infra.sh up)"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" stop || true
    rm -f "$PG_STARTED"
  else
    log "postgres: not started by infra.sh, leaving it running"
  fi
}

# ---------------------------------------------------------------- redis

redis_ready() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_up() {
  command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools
  if redis_ready; then
    log "redis: already answering on $HOST:$REDIS_PORT, using it"
    return
  fi
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  # The package's postinst may already have started it.
  if ! redis_ready; then
    log "redis: starting redis-server on $HOST:$REDIS_PORT (no persistence) ..."
    local common=(--daemonize yes --port "$REDIS_PORT" --save "" --appendonly no
      --dir "$STATE_DIR" --pidfile "$STATE_DIR/redis.pid" --logfile "$STATE_DIR/redis.log")
    # "-::1" (optional IPv6 bind) needs Redis 7; fall back to IPv4 only.
    redis-server --bind 127.0.0.1 -::1 "${common[@]}" 2>/dev/null 8>&- \
      || redis-server --bind 127.0.0.1 "${common[@]}" 8>&-
  fi
  wait_for "redis on $HOST:$REDIS_PORT" redis_ready
  touch "$REDIS_STARTED"
  log "redis: started on $HOST:$REDIS_PORT"
}

redis_down() {
  if [[ -f "$REDIS_STARTED" ]]; then
    log "redis: stopping (started by infra.sh up)"
    redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -f "$REDIS_STARTED"
  else
    log "redis: not started by infra.sh, leaving it running"
  fi
}

# ---------------------------------------------------------------- commands

print_env() {
  echo "export DATABASE_URL=postgres://$PG_USER@$HOST:$PG_PORT/$DB_NAME"
  echo "export REDIS_URL=redis://$HOST:$REDIS_PORT"
  echo "export KAFKA_BROKERS=$HOST:$KAFKA_PORT"
}

# Serialise concurrent runs. Every daemon we start gets "8>&-" so it does not
# inherit (and hold forever) this lock.
with_lock() {
  mkdir -p "$STATE_DIR"
  exec 8>"$STATE_DIR/.lock"
  flock -w 300 8 || die "another infra.sh is running (lock $STATE_DIR/.lock)"
}

cmd_up() {
  with_lock
  postgres_up
  redis_up
  bash "$KAFKA_SH" up 8>&-
  log "all services ready. Use:"
  print_env
  log "(or: eval \"\$(bash deploy/local/infra.sh env)\")"
}

cmd_down() {
  with_lock
  bash "$KAFKA_SH" down 8>&-
  redis_down
  postgres_down
}

cmd_status() {
  local rc=0
  if pg_ready && pg_access_ok; then
    log "postgres: ok ($HOST:$PG_PORT$([[ -f "$PG_STARTED" ]] && echo ', started by infra.sh'))"
  else
    log "postgres: NOT answering (or no password-less access) on $HOST:$PG_PORT"; rc=1
  fi
  if redis_ready; then
    log "redis: ok ($HOST:$REDIS_PORT$([[ -f "$REDIS_STARTED" ]] && echo ', started by infra.sh'))"
  else
    log "redis: NOT answering on $HOST:$REDIS_PORT"; rc=1
  fi
  bash "$KAFKA_SH" status || rc=1
  return "$rc"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) print_env ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
