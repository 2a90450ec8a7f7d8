#!/usr/bin/env bash
# deploy/local/kafka.sh — run a real single-node Apache Kafka broker (KRaft, no
# ZooKeeper) on 127.0.0.1 for local development and CI.
#
# Why this exists: there is no Docker engine on our dev/CI machines and only
# Maven Central, Debian apt and npm are reachable, so the usual Kafka container
# or tarball is not an option. Instead we fetch the broker jars from Maven
# Central (deploy/local/kafka/pom.xml) into a cache dir and start
# `java -cp '<lib>/*' kafka.Kafka server.properties` in the background.
#
# Usage: deploy/local/kafka.sh up|down|reset|status|logs [-f] [LINES]|libs
#
#   up      download jars once (cached), write config, format storage once,
#           start the broker and wait until it answers metadata requests.
#           If a broker already answers on the port, does nothing.
#   down    stop the broker this script started (SIGTERM, then SIGKILL).
#   reset   stop it and delete its data (topics, offsets, cluster id); the next
#           `up` formats a new, empty broker. The downloaded jars stay.
#   status  exit 0 if a broker answers on 127.0.0.1:$KAFKA_PORT, else 1.
#   logs    print the last LINES (default 100) lines of the broker log; -f follows.
#   libs    only make sure Java and the cached jars are there and print the lib dir (for tests
#           that run a broker of their own configuration, e.g. shared/messaging's TLS test).
#
# Environment:
#   HUB_CACHE_DIR          cache root (default $HOME/.cache/notification-hub)
#   KAFKA_STATE_DIR        config/data/logs/pid (default <cache>/kafka-<ver>/state)
#   KAFKA_PORT             client listener port (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default 9093)
#   KAFKA_HEAP_OPTS        broker heap (default "-Xms256m -Xmx512m")
#   KAFKA_JVM_PERFORMANCE_OPTS  JIT/GC flags (default "-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
#                          -XX:InitiatingHeapOccupancyPercent=35"), as Kafka's own scripts name it
#   KAFKA_NUM_NETWORK_THREADS, KAFKA_NUM_IO_THREADS  broker threads (default 2 and 4)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker in `up` (default 180)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM in `down` (default 30)
#
# Everything the script writes lives in the cache/state dir, never in the repo.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/kafka/pom.xml"

# Single source of truth for the version is the pom.
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"

CACHE_ROOT="${HUB_CACHE_DIR:-$HOME/.cache/notification-hub}"
KAFKA_HOME="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIB_DIR="$KAFKA_HOME/lib"
MARKER="$LIB_DIR/.complete"          # holds the sha256 of the pom the libs came from
STATE_DIR="${KAFKA_STATE_DIR:-$KAFKA_HOME/state}"
DATA_DIR="$STATE_DIR/data"
LOG_DIR="$STATE_DIR/logs"
PID_FILE="$STATE_DIR/kafka.pid"
PROPS="$STATE_DIR/server.properties"
LOG4J="$STATE_DIR/log4j.properties"
TOOLS_LOG4J="$STATE_DIR/tools-log4j.properties"
ADMIN_PROPS="$STATE_DIR/admin-client.properties"
CLUSTER_ID_FILE="$STATE_DIR/cluster.id"
OUT_LOG="$LOG_DIR/server.out"         # stdout/stderr of the JVM (console appender + crashes)
LOCK_FILE="$KAFKA_HOME/.lock"

HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
BOOTSTRAP="$HOST:$KAFKA_PORT"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-180}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

# Main classes in the Kafka 3.9 jars (kafka_2.13 / kafka-tools).
MAIN_BROKER=kafka.Kafka
MAIN_STORAGE=kafka.tools.StorageTool
MAIN_TOPICS=org.apache.kafka.tools.TopicCommand

log() { echo "[kafka] $*"; }
err() { echo "[kafka] ERROR: $*" >&2; }
die() { err "$*"; exit 1; }
now_ms() { date +%s%3N; }
secs_since() { # $1 = start in ms -> "12.3"
  local d=$(( $(now_ms) - $1 ))
  printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100))
}

# ---------------------------------------------------------------- prerequisites

apt_install() { # $@ = Debian packages
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* via apt-get ..."
    apt-get update -qq
    # 9>&-: package scripts may start daemons; they must not inherit our lock fd.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 9>&-
  else
    die "missing $*; install it, e.g.: sudo apt-get update && sudo apt-get install -y $*"
  fi
}

java_major() {
  local v
  v="$(java -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)"
  v="${v#1.}"           # 1.8.0_x -> 8.0_x
  echo "${v%%[.+_-]*}"
}

ensure_java() {
  if ! command -v java >/dev/null 2>&1; then
    apt_install default-jre-headless
  fi
  local major
  major="$(java_major)"
  if [[ -z "$major" || "$major" -lt 11 ]]; then
    die "Kafka $KAFKA_VERSION needs Java 11+ (17 recommended); found: $(java -version 2>&1 | head -n1). Install: apt-get install -y default-jre-headless"
  fi
}

ensure_mvn() {
  command -v mvn >/dev/null 2>&1 || apt_install maven
}

# ---------------------------------------------------------------- download

libs_ready() {
  [[ -f "$MARKER" ]] && [[ "$(cat "$MARKER")" == "$(sha256sum "$POM" | cut -d' ' -f1)" ]]
}

bootstrap_libs() {
  if libs_ready; then
    log "using cached Kafka $KAFKA_VERSION jars in $LIB_DIR"
    return
  fi
  ensure_mvn
  local t0 tmp
  t0="$(now_ms)"
  tmp="$KAFKA_HOME/lib.partial.$$"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIB_DIR (first run only) ..."
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Debian's Maven 3.8.7 prints stray ANSI resets even with -B; strip them.
  if ! mvn -B -q -f "$POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; then
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable? see output above)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after download"; }
  # Guard against a mismatched slf4j binding (prints warnings and drops logs).
  local api binding
  api="$(find "$tmp" -maxdepth 1 -name 'slf4j-api-*.jar' -printf '%f\n' | sed 's/slf4j-api-\(.*\)\.jar/\1/')"
  binding="$(find "$tmp" -maxdepth 1 -name 'slf4j-reload4j-*.jar' -printf '%f\n' | sed 's/slf4j-reload4j-\(.*\)\.jar/\1/')"
  [[ "$api" == "$binding" ]] || log "WARNING: slf4j-api $api vs slf4j-reload4j $binding; align slf4j.version in $POM"
  sha256sum "$POM" | cut -d' ' -f1 >"$tmp/.complete"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  log "bootstrap took $(secs_since "$t0")s ($(find "$LIB_DIR" -name '*.jar' | wc -l) jars, $(du -sh "$LIB_DIR" | cut -f1))"
}

# ---------------------------------------------------------------- config

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  # Regenerated on every `up` so KAFKA_PORT / KAFKA_CONTROLLER_PORT changes apply.
  cat >"$PROPS" <<EOF
# Generated by deploy/local/kafka.sh — edits are overwritten on the next 'up'.
# Single-node KRaft: this process is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR

# One broker: internal topics cannot be replicated.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Dev convenience.
group.initial.rebalance.delay.ms=0
num.partitions=4
auto.create.topics.enable=true
delete.topic.enable=true

# Small machine (2 cores): few threads, short retention, small segments.
num.network.threads=${KAFKA_NUM_NETWORK_THREADS:-2}
num.io.threads=${KAFKA_NUM_IO_THREADS:-4}
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.retention.check.interval.ms=300000
log.segment.bytes=67108864
offsets.topic.num.partitions=10
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
EOF

  cat >"$LOG4J" <<'EOF'
# Generated by deploy/local/kafka.sh. WARN for Kafka in general, INFO for the
# few loggers that say the server started (and which version it is).
log4j.rootLogger=WARN, stdout, kafkaAppender

log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.appender.kafkaAppender=org.apache.log4j.RollingFileAppender
log4j.appender.kafkaAppender.File=${kafka.logs.dir}/server.log
log4j.appender.kafkaAppender.MaxFileSize=10MB
log4j.appender.kafkaAppender.MaxBackupIndex=2
log4j.appender.kafkaAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.kafkaAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN

# Startup milestones.
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=INFO
EOF

  # CLI tools (StorageTool, TopicCommand): warnings to stderr only.
  cat >"$TOOLS_LOG4J" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
# The admin client logs every refused connection at WARN while we poll.
log4j.logger.org.apache.kafka.clients.NetworkClient=ERROR
log4j.logger.org.apache.kafka.clients.admin=ERROR
EOF

  # Admin client used for the readiness probe: fail fast instead of the 60 s default.
  cat >"$ADMIN_PROPS" <<'EOF'
request.timeout.ms=5000
default.api.timeout.ms=8000
reconnect.backoff.max.ms=1000
EOF
}

# Run a Kafka CLI main class from the cached jars with a small, quick-start JVM.
# Usage: run_tool [timeout-seconds] MAIN-CLASS ARGS...
run_tool() {
  local limit=0
  if [[ "$1" =~ ^[0-9]+$ ]]; then limit="$1"; shift; fi
  local main="$1"; shift
  timeout "$limit" java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$TOOLS_LOG4J" \
    -cp "$LIB_DIR/*" "$main" "$@"
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return
  fi
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    run_tool "$MAIN_STORAGE" random-uuid >"$CLUSTER_ID_FILE"
  fi
  local cid
  cid="$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")"
  log "formatting KRaft storage in $DATA_DIR (cluster id $cid) ..."
  run_tool "$MAIN_STORAGE" format -t "$cid" -c "$PROPS" --ignore-formatted >/dev/null
}

# ---------------------------------------------------------------- probes

port_open() { # $1 = port
  timeout 2 bash -c ">/dev/tcp/$HOST/$1" 2>/dev/null
}

# A real Kafka protocol round-trip (metadata request via the admin client).
metadata_ok() {
  [[ -f "$LIB_DIR/kafka_2.13-$KAFKA_VERSION.jar" ]] || return 1
  [[ -f "$ADMIN_PROPS" && -f "$TOOLS_LOG4J" ]] || write_config
  run_tool 20 "$MAIN_TOPICS" --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_PROPS" --list >/dev/null 2>&1
}

broker_answers() { port_open "$KAFKA_PORT" && metadata_ok; }

# PID of the broker this script started, if it is still that process.
managed_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against PID reuse: it must be our kafka.Kafka with our config.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$MAIN_BROKER $PROPS" || return 1
  echo "$pid"
}

# ---------------------------------------------------------------- commands

# Last 50 lines of the broker output, from this start attempt only.
show_log_tail() {
  [[ -f "$OUT_LOG" ]] || { err "(no log at $OUT_LOG)"; return 0; }
  err "last 50 lines of $OUT_LOG (this start attempt):"
  local from
  from="$(grep -n '^=== .* kafka.sh up:' "$OUT_LOG" | tail -n1 | cut -d: -f1)"
  tail -n +"${from:-1}" "$OUT_LOG" | tail -n 50 >&2
}

# Partition directories in the data dir: what a start must load (and, after an unclean stop,
# recover) before the broker answers. Start time grows with it. A deleted topic's directories
# are renamed '<name>-<n>.<id>-delete' and removed later; they are not counted.
partition_count() {
  find "$DATA_DIR" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' ! -name '*-delete' 2>/dev/null | wc -l
}

wait_ready() { # $1 = pid, $2 = start ms
  local pid="$1" t0="$2" deadline=$((SECONDS + KAFKA_START_TIMEOUT)) next_note=$((SECONDS + 15))
  log "loading $(partition_count) partitions from $DATA_DIR"
  while ((SECONDS < deadline)); do
    if ((SECONDS >= next_note)); then
      log "still starting after $(secs_since "$t0")s (a broker stopped uncleanly recovers every partition first)"
      next_note=$((SECONDS + 15))
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      err "broker process $pid exited during startup"
      rm -f "$PID_FILE"
      show_log_tail
      exit 1
    fi
    if port_open "$KAFKA_PORT" && metadata_ok; then
      log "broker ready on $BOOTSTRAP (pid $pid) after $(secs_since "$t0")s"
      return 0
    fi
    sleep 1
  done
  err "broker did not answer on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s (pid $pid still running; 'kafka.sh down' to stop it)"
  err "it had $(partition_count) partitions to load; raise KAFKA_START_TIMEOUT, or 'kafka.sh reset' to start from an empty broker (deletes its topics)"
  show_log_tail
  exit 1
}

cmd_up() {
  local t_all pid
  t_all="$(now_ms)"
  mkdir -p "$KAFKA_HOME" "$STATE_DIR"
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || die "another kafka.sh is holding $LOCK_FILE"

  ensure_java

  if pid="$(managed_pid)"; then
    if broker_answers; then
      log "already running on $BOOTSTRAP (pid $pid)"
      return 0
    fi
    log "broker pid $pid is running but not answering yet; waiting ..."
    wait_ready "$pid" "$t_all"
    return 0
  fi

  if port_open "$KAFKA_PORT"; then
    bootstrap_libs   # needed for the metadata probe
    write_config
    if metadata_ok; then
      log "a Kafka broker (not started by this script) already answers on $BOOTSTRAP; not starting another"
      return 0
    fi
    die "port $KAFKA_PORT is in use but does not speak Kafka: $(ss -ltnpH "sport = :$KAFKA_PORT" 2>/dev/null || true)"
  fi
  if port_open "$KAFKA_CONTROLLER_PORT"; then
    die "controller port $KAFKA_CONTROLLER_PORT is in use (set KAFKA_CONTROLLER_PORT): $(ss -ltnpH "sport = :$KAFKA_CONTROLLER_PORT" 2>/dev/null || true)"
  fi

  bootstrap_libs
  write_config
  format_storage

  # Keep server.out from growing forever across many restarts.
  if [[ -f "$OUT_LOG" ]] && (($(stat -c %s "$OUT_LOG") > 10485760)); then
    mv -f "$OUT_LOG" "$OUT_LOG.1"
  fi
  echo "=== $(date -Is) kafka.sh up: Kafka $KAFKA_VERSION on $BOOTSTRAP ===" >>"$OUT_LOG"

  log "starting Kafka $KAFKA_VERSION broker on $BOOTSTRAP (controller $HOST:$KAFKA_CONTROLLER_PORT, state $STATE_DIR) ..."
  local t_start
  t_start="$(now_ms)"
  # setsid + nohup: own session, immune to SIGHUP, survives this script and its terminal.
  # shellcheck disable=SC2086  # the *_OPTS are deliberately word-split
  setsid nohup java $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOG_DIR" -Dlog4j.configuration="file:$LOG4J" \
    -cp "$LIB_DIR/*" "$MAIN_BROKER" "$PROPS" \
    >>"$OUT_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  wait_ready "$pid" "$t_start"
  log "up took $(secs_since "$t_all")s in total"
}

cmd_down() {
  mkdir -p "$KAFKA_HOME" "$STATE_DIR"
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || die "another kafka.sh is holding $LOCK_FILE"

  local pid
  if ! pid="$(managed_pid)"; then
    rm -f "$PID_FILE"
    if port_open "$KAFKA_PORT"; then
      log "no broker started by this script; something else listens on $BOOTSTRAP — leaving it alone"
    else
      log "not running"
    fi
    return 0
  fi
  log "stopping broker pid $pid (SIGTERM, up to ${KAFKA_STOP_TIMEOUT}s) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_reset() {
  cmd_down
  # cmd_down holds the lock on fd 9 until we exit.
  log "deleting broker state in $STATE_DIR (topics, offsets, cluster id); jars in $LIB_DIR stay"
  rm -rf "$DATA_DIR" "$CLUSTER_ID_FILE"
  log "reset; the next 'up' formats an empty broker"
}

cmd_status() {
  local pid=""
  pid="$(managed_pid)" || pid=""
  if [[ ! -f "$MARKER" ]] && port_open "$KAFKA_PORT"; then
    log "something listens on $BOOTSTRAP (TCP only: Kafka jars not cached yet, cannot send a metadata request)"
    return 0
  fi
  if port_open "$KAFKA_PORT" && metadata_ok; then
    if [[ -n "$pid" ]]; then
      log "running: Kafka $KAFKA_VERSION answers on $BOOTSTRAP (pid $pid, state $STATE_DIR)"
    else
      log "running: a Kafka broker answers on $BOOTSTRAP (not started by this script)"
    fi
    return 0
  fi
  if [[ -n "$pid" ]]; then
    log "not answering on $BOOTSTRAP, but broker pid $pid is running (starting up or stuck; see 'kafka.sh logs')"
  else
    log "not running on $BOOTSTRAP"
  fi
  return 1
}

cmd_logs() {
  local follow="" lines=100 a
  for a in "$@"; do
    case "$a" in
      -f|--follow) follow=1 ;;
      ''|*[!0-9]*) die "usage: kafka.sh logs [-f] [LINES]" ;;
      *) lines="$a" ;;
    esac
  done
  [[ -f "$OUT_LOG" ]] || die "no log yet at $OUT_LOG"
  if [[ -n "$follow" ]]; then
    exec tail -n "$lines" -F "$OUT_LOG"
  fi
  tail -n "$lines" "$OUT_LOG"
}

cmd_libs() {
  # Cached: no lock, so a broker starting elsewhere (holding it while it waits) delays nobody.
  if libs_ready && command -v java >/dev/null 2>&1; then
    echo "$LIB_DIR"
    return
  fi
  mkdir -p "$KAFKA_HOME"
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || die "another kafka.sh is holding $LOCK_FILE"
  ensure_java
  bootstrap_libs >&2
  echo "$LIB_DIR"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
  [[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $POM"
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    libs) cmd_libs ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
