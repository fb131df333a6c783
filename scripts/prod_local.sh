#!/usr/bin/env bash
# The production shape on one machine, without Docker (README "Scaling out"):
#   web    gunicorn, several gthread workers, PostgreSQL connection pool per worker
#   node1  a Celery worker node (queues default, dsp, exports, events), its own working folder
#   node2  another node, same queues, another working folder: nothing on disk is shared with web or node1
#   beat   the one scheduler (sweepers, purges)
#   s3     moto's standalone S3 server (MinIO in docker-compose.yml), with the bucket created at start
# PostgreSQL and Redis are the machine's. Each piece runs in a process group of its own, so
# `kill-node N` is a SIGKILL of a whole node (main process and pool children), as a lost machine would be.
#
# Usage: scripts/prod_local.sh run            start everything, wait for Ctrl-C, stop cleanly (`make prod-local`)
#        scripts/prod_local.sh start|stop|status
#        scripts/prod_local.sh kill-node N | start-node N
#        scripts/prod_local.sh restart-web       gunicorn again (e.g. with other GUNICORN_WORKERS/THREADS)
#        scripts/prod_local.sh manage ARGS...   manage.py in the shape's environment (createsuperuser, backup...)
#        scripts/prod_local.sh py FILE ARGS...  a Python script in that environment (benchmarks/prod_seed.py)
#        scripts/prod_local.sh backup FOLDER | restore FOLDER [--tombstones NEWER]  scripts/backup.sh / restore.sh
#
# Everything is parametrised (tests start it on free ports and their own database):
#   EARMARK_PROD_DIR (var/prod)            working folders, logs, pid files
#   EARMARK_PROD_WEB_PORT (8800)           gunicorn on 127.0.0.1
#   EARMARK_PROD_S3_PORT (9800)            moto's S3 server on 127.0.0.1
#   EARMARK_PROD_METRICS_PORT (9850)       node N's metrics on this port + N
#   EARMARK_PROD_DATABASE_URL (postgres://postgres@127.0.0.1:5432/earmark_prod; created when missing)
#   EARMARK_PROD_BROKER_URL (redis://127.0.0.1:6379/9)
#   EARMARK_PROD_BUCKET (earmark)
#   GUNICORN_WORKERS (3), GUNICORN_THREADS (4), EARMARK_PROD_NODE_CONCURRENCY (2)
#   EARMARK_PROD_NODE_QUEUES (default,dsp,exports,events), EARMARK_PROD_NUMBA_CACHE (per node)
#   EARMARK_PROD_EXTRA_ENV ("" — extra NAME=value pairs for every process, e.g. EARMARK_LEASE_SECONDS=10)
#   EARMARK_WORKER_NICE (10)               CPU priority of the nodes and beat below web's (0: the same as web)
#
# On one machine the nodes' processing and web's requests share the cores, and requests should not wait for a
# core behind a recording's processing: the nodes and beat run at EARMARK_WORKER_NICE. Each piece is a session
# of its own (setsid), and with the kernel's autogroup scheduling (the default on desktop and most cloud
# kernels, /proc/sys/kernel/sched_autogroup_enabled) a process's nice value only orders it within its session:
# between sessions each autogroup gets an equal share, whatever its processes' nice. So the niceness is given
# to the node's autogroup too (/proc/<pid>/autogroup), which is what lowers it against web; `nice` alone
# measured no difference. In real production the nodes are other machines and none of this applies.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${EARMARK_PROD_PYTHON:-$ROOT/.venv/bin/python}"
BIN="$(dirname "$PY")"
DIR="${EARMARK_PROD_DIR:-$ROOT/var/prod}"
WEB_PORT="${EARMARK_PROD_WEB_PORT:-8800}"
S3_PORT="${EARMARK_PROD_S3_PORT:-9800}"
METRICS_PORT="${EARMARK_PROD_METRICS_PORT:-9850}"
DB_URL="${EARMARK_PROD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/earmark_prod}"
BROKER_URL="${EARMARK_PROD_BROKER_URL:-redis://127.0.0.1:6379/9}"
BUCKET="${EARMARK_PROD_BUCKET:-earmark}"
NODE_QUEUES="${EARMARK_PROD_NODE_QUEUES:-default,dsp,exports,events}"
NODE_CONCURRENCY="${EARMARK_PROD_NODE_CONCURRENCY:-2}"
GUNICORN_WORKERS="${GUNICORN_WORKERS:-3}"
GUNICORN_THREADS="${GUNICORN_THREADS:-4}"
WORKER_NICE="${EARMARK_WORKER_NICE:-10}"
PIDS="$DIR/pids"
S3_URL="http://127.0.0.1:$S3_PORT"

mkdir -p "$PIDS"
[ -s "$DIR/secret_key" ] || "$PY" -c "import secrets; print(secrets.token_urlsafe(50))" >"$DIR/secret_key"

# What every process of the shape shares: the database, the broker and the bucket — never a folder.
common_env() {
  export DJANGO_SETTINGS_MODULE=config.settings.base PYTHONPATH="$ROOT" EARMARK_ENV_FILE=/nonexistent
  export EARMARK_PRODUCTION=true DEBUG=false SECRET_KEY="$(cat "$DIR/secret_key")"
  export ALLOWED_HOSTS="127.0.0.1,localhost" LOG_FORMAT=json
  # Plain HTTP on the loopback: no TLS proxy in front here (compose sits behind one).
  export SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false SECURE_HSTS_SECONDS=0
  export DATABASE_URL="$DB_URL" CELERY_BROKER_URL="$BROKER_URL" CELERY_TASK_ALWAYS_EAGER=false
  export EARMARK_STORAGE=s3 AWS_STORAGE_BUCKET_NAME="$BUCKET" AWS_S3_ENDPOINT_URL="$S3_URL"
  export AWS_ACCESS_KEY_ID=earmark AWS_SECRET_ACCESS_KEY=earmark-secret AWS_S3_REGION_NAME=us-east-1
  export AWS_DEFAULT_REGION=us-east-1
  local pair
  for pair in ${EARMARK_PROD_EXTRA_ENV:-}; do export "${pair?}"; done
}

# A piece's own folder: its working directory, var, temp files and metrics files.
piece_env() {
  local home="$DIR/$1"
  mkdir -p "$home/var" "$home/tmp"
  rm -rf "$home/prom" && mkdir -p "$home/prom"
  export EARMARK_VAR_DIR="$home/var" EARMARK_TEMP_DIR="$home/tmp" PROMETHEUS_MULTIPROC_DIR="$home/prom"
  export NUMBA_CACHE_DIR="${EARMARK_PROD_NUMBA_CACHE:-$home/numba-cache}"
}

group_alive() { [ -s "$1" ] && kill -0 -- "-$(cat "$1")" 2>/dev/null; }  # group_alive PIDFILE
alive() { group_alive "$PIDS/$1.pid"; }

# One shape per broker database: two shapes on one take each other's tasks (a node of one runs the other's jobs,
# against a database and a bucket it does not know, and the other's jobs stay queued). A shape claims its broker
# in a file named after the broker's URL, holding its folder; the claim of a shape with no piece left running
# (stopped without `stop`, or its machine restarted) is taken over.
CLAIM="${TMPDIR:-/tmp}/earmark-prod-broker-$(printf '%s' "$BROKER_URL" | cksum | cut -d' ' -f1)"

shape_alive() {  # shape_alive FOLDER: is any piece of the shape kept in FOLDER running?
  local pid
  for pid in "$1"/pids/*.pid; do
    if group_alive "$pid"; then return 0; fi
  done
  return 1
}

claim_broker() {
  local other=""
  [ -s "$CLAIM" ] && other="$(cat "$CLAIM")"
  if [ -n "$other" ] && [ "$other" != "$DIR" ] && shape_alive "$other"; then
    echo "Another production shape (EARMARK_PROD_DIR=$other) is running on the broker $BROKER_URL." >&2
    echo "Stop it first (EARMARK_PROD_DIR=$other $0 stop), or give this one a broker of its own" \
      "(EARMARK_PROD_BROKER_URL, e.g. another Redis database)." >&2
    return 1
  fi
  echo "$DIR" >"$CLAIM"
}

release_broker() {
  if [ -s "$CLAIM" ] && [ "$(cat "$CLAIM")" = "$DIR" ]; then rm -f "$CLAIM"; fi
}

# Start "$@" as the leader of a new process group (setsid: without job control the child is no group leader,
# so setsid makes it one in place and $! is the group id). Runs in a subshell so each piece's env stays its own.
spawn() {
  local name="$1" nice=0
  shift
  if [ "$1" = "--nice" ]; then
    nice="$2"
    shift 2
  fi
  if alive "$name"; then
    echo "$name is already running (process group $(cat "$PIDS/$name.pid"))"
    return
  fi
  (
    common_env
    piece_env "$name"
    cd "$DIR/$name"
    setsid nice -n "$nice" "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$PIDS/$name.pid"
    # The session's autogroup weight is what counts against the other pieces (see the header); children forked
    # later (Celery's pool) are in the same session. Where the kernel has no autogroups the file is missing.
    # Only once the child leads its own session: before that, its autogroup is this script's.
    if [ "$nice" != 0 ] && [ -e "/proc/$!/autogroup" ]; then
      local tries=0
      until [ "$(sed 's/.*) //' "/proc/$!/stat" 2>/dev/null | cut -d' ' -f4)" = "$!" ] || [ "$tries" -ge 50 ]; do
        sleep 0.02
        tries=$((tries + 1))
      done
      if [ "$tries" -lt 50 ]; then echo "$nice" >"/proc/$!/autogroup" || true; fi
    fi
  )
  echo "$name started (process group $(cat "$PIDS/$name.pid"), log $DIR/$name.log)"
}

wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what="$1" deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

start_s3() {
  spawn s3 "$BIN/moto_server" -H 127.0.0.1 -p "$S3_PORT"
  wait_for "the S3 server" 60 "$PY" -c "import urllib.request; urllib.request.urlopen('$S3_URL/moto-api/')"
  (common_env && "$PY" - <<EOF
import boto3
s3 = boto3.client("s3", endpoint_url="$S3_URL", region_name="us-east-1")
if "$BUCKET" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket="$BUCKET")
EOF
  )
}

prepare_database() {
  local name="${DB_URL##*/}" admin="${DB_URL%/*}/postgres"
  if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    psql "$admin" -qc "CREATE DATABASE \"$name\""
  fi
  (common_env && piece_env web && cd "$ROOT" && "$PY" manage.py migrate --noinput -v 0 && STATIC_ROOT="$DIR/web/static" "$PY" manage.py collectstatic --noinput -v 0)
}

start_web() {
  GUNICORN_BIND="127.0.0.1:$WEB_PORT" GUNICORN_WORKERS="$GUNICORN_WORKERS" GUNICORN_THREADS="$GUNICORN_THREADS" \
    DB_POOL_MAX_SIZE="${DB_POOL_MAX_SIZE:-$((GUNICORN_THREADS + 1))}" STATIC_ROOT="$DIR/web/static" \
    spawn web "$BIN/gunicorn" -c "$ROOT/config/gunicorn_conf.py" config.wsgi:application
}

start_node() {
  local n="$1"
  EARMARK_METRICS_PORT=$((METRICS_PORT + n)) spawn "node$n" --nice "$WORKER_NICE" "$PY" -m celery -A config worker -Q "$NODE_QUEUES" \
    -c "$NODE_CONCURRENCY" --prefetch-multiplier 1 -n "node$n@%h" --without-gossip --without-mingle -l INFO
}

start_beat() {
  spawn beat --nice "$WORKER_NICE" "$PY" -m celery -A config beat -l INFO --schedule "$DIR/beat/schedule"
}

wait_ready() {
  wait_for "the web server's /readyz" 120 "$PY" -c \
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$WEB_PORT/readyz', timeout=5)"
  local n
  for n in 1 2; do
    wait_for "node$n" 180 grep -q " ready." "$DIR/node$n.log"
  done
}

stop_piece() {  # SIGTERM the group, SIGKILL what is left after 30 s
  local name="$1" group
  [ -s "$PIDS/$name.pid" ] || return 0
  group="$(cat "$PIDS/$name.pid")"
  if kill -TERM -- "-$group" 2>/dev/null; then
    local deadline=$((SECONDS + 30))
    while kill -0 -- "-$group" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    kill -KILL -- "-$group" 2>/dev/null || true
    echo "$name stopped"
  fi
  rm -f "$PIDS/$name.pid"
}

start() {
  # Explicit: `run` calls start on the left of ||, where bash ignores set -e inside the function too.
  claim_broker || return 1
  start_s3
  prepare_database
  start_web
  start_node 1
  start_node 2
  start_beat
  wait_ready
  echo "ready: http://127.0.0.1:$WEB_PORT/ (metrics /metrics; nodes :$((METRICS_PORT + 1)) :$((METRICS_PORT + 2)))"
}

stop() {
  # Web first (no new work), then beat, then the nodes (they finish or hand back their task), then storage.
  local name
  for name in web beat node1 node2 s3; do stop_piece "$name"; done
  release_broker
}

status() {
  local name
  for name in web node1 node2 beat s3; do
    if alive "$name"; then echo "$name up (process group $(cat "$PIDS/$name.pid"))"; else echo "$name down"; fi
  done
}

case "${1:-run}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-node)
    group="$(cat "$PIDS/node${2:?which node}.pid")"
    kill -KILL -- "-$group"
    rm -f "$PIDS/node$2.pid"
    echo "node$2 killed (SIGKILL to process group $group)"
    ;;
  start-node) start_node "${2:?which node}" ;;
  restart-web)
    stop_piece web
    start_web
    wait_for "the web server's /readyz" 120 "$PY" -c \
      "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$WEB_PORT/readyz', timeout=5)"
    ;;
  manage | py | backup | restore)
    what="$1"
    shift
    common_env
    export EARMARK_VAR_DIR="$DIR/web/var" EARMARK_TEMP_DIR="$DIR/web/tmp" EARMARK_PYTHON="$PY"
    cd "$ROOT"
    case "$what" in
      manage) exec "$PY" manage.py "$@" ;;
      py) exec "$PY" "$@" ;;
      *) exec "$ROOT/scripts/$what.sh" "$@" ;;
    esac
    ;;
  run)
    trap 'stop; exit 0' INT TERM
    start || { stop; exit 1; }
    echo "Ctrl-C stops everything."
    while true; do sleep 1; done
    ;;
  *)
    echo "usage: $0 {run|start|stop|status|kill-node N|start-node N}" >&2
    exit 2
    ;;
esac
