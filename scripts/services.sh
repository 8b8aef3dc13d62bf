#!/usr/bin/env bash
# The production stack on one machine, on 127.0.0.1 only: `make services` / `make services-stop`.
#
#   start   installs Debian's postgresql and redis-server when they are missing, then starts
#           a private PostgreSQL cluster and a Redis server, migrates, collects the static
#           files, loads the demo data into an empty database, rebuilds the search index, and
#           starts a Celery worker for each queue, Celery beat and gunicorn, all with the
#           production settings (DEBUG off) written to var/services/env.
#   stop    stops exactly what start started, by the pids it recorded, newest first.
#   status  says which of them run.
#
# Everything lives under var/services/ (data, logs, pids). The ports and sizes can be set
# in the environment: KETI_PG_PORT (55432), KETI_REDIS_PORT (56379), PORT (8000),
# WEB_CONCURRENCY (gunicorn workers, 2 × cores + 1), CELERY_CONCURRENCY (2), DEMO=0 to
# start on an empty database, RATELIMIT_ENABLE=false for a load test from one address.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR="$ROOT/var/services"
PY="$ROOT/.venv/bin/python"
BIN="$ROOT/.venv/bin"
PG_PORT=${KETI_PG_PORT:-55432}
REDIS_PORT=${KETI_REDIS_PORT:-56379}
HTTP_PORT=${PORT:-8000}
WORKERS=${WEB_CONCURRENCY:-$(( $(nproc) * 2 + 1 ))}
# Started in this order, stopped in the reverse one.
SERVICES=(postgres redis worker indexer beat gunicorn)

say() { printf '%s\n' "$*"; }

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pid_of() { cat "$DIR/$1.pid" 2>/dev/null | head -n 1 || true; }

running() {
    local pid
    pid=$(pid_of "$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

install_packages() {
    local missing=()
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    [ ${#missing[@]} = 0 ] && return
    if [ "$(id -u)" != 0 ]; then
        say "Please install the Debian packages: apt-get install ${missing[*]}"; exit 1
    fi
    say "installing ${missing[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

write_env() {
    # The secret key is made once and kept, so sessions survive a restart.
    [ -s "$DIR/secret_key" ] || "$PY" -c "import secrets; print(secrets.token_urlsafe(50))" >"$DIR/secret_key"
    chmod 600 "$DIR/secret_key"
    cat >"$DIR/env" <<EOF
# Written by scripts/services.sh: the production settings of the local stack.
# Source it to run manage.py against the stack:  . var/services/env
export DJANGO_SETTINGS_MODULE=config.settings
export DEBUG=false
export SECRET_KEY='$(cat "$DIR/secret_key")'
export ALLOWED_HOSTS=127.0.0.1,localhost
export SITE_URL=http://127.0.0.1:$HTTP_PORT
export DATABASE_URL=postgres://keti@127.0.0.1:$PG_PORT/keti
export CONN_MAX_AGE=60
export CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0
export CELERY_RESULT_BACKEND=redis://127.0.0.1:$REDIS_PORT/1
export CACHE_URL=rediscache://127.0.0.1:$REDIS_PORT/2
export SEARCH_BACKEND=postgres
export MEDIA_ROOT=$ROOT/var/media
export STATIC_ROOT=$ROOT/var/static
export EMAIL_URL=filemail:///$DIR/mail
export KETI_WARM_JIEBA=1
export RATELIMIT_ENABLE=${RATELIMIT_ENABLE:-true}
# Plain http on loopback: behind a TLS proxy these stay at their secure defaults.
export SECURE_SSL_REDIRECT=false
export SESSION_COOKIE_SECURE=false
export CSRF_COOKIE_SECURE=false
export SECURE_HSTS_SECONDS=0
EOF
}

start_postgres() {
    running postgres && return
    local pgbin
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    mkdir -p "$DIR/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR/pg"
    if [ ! -s "$DIR/pg/data/PG_VERSION" ]; then
        as_postgres "$pgbin/initdb" -D "$DIR/pg/data" -A trust -U keti -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_postgres "$pgbin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w \
        -o "-h 127.0.0.1 -p $PG_PORT -k $DIR/pg -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
    head -n 1 "$DIR/pg/data/postmaster.pid" >"$DIR/postgres.pid"
    "$pgbin/psql" -h 127.0.0.1 -p "$PG_PORT" -U keti -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='keti'" \
        | grep -q 1 || "$pgbin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U keti keti
    say "postgresql   127.0.0.1:$PG_PORT   pid $(pid_of postgres)"
}

start_redis() {
    running redis && return
    mkdir -p "$DIR/redis"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$DIR/redis" \
        --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --save "" --appendonly yes
    for _ in $(seq 50); do [ -s "$DIR/redis.pid" ] && break; sleep 0.1; done
    say "redis        127.0.0.1:$REDIS_PORT   pid $(pid_of redis)"
}

prepare_database() {
    "$PY" manage.py migrate --noinput -v 0
    "$PY" manage.py collectstatic --noinput -v 0
    if [ "${DEMO:-1}" != 0 ] && [ "$("$PY" manage.py shell --no-imports -c 'from projects.models import Call; print(Call.objects.exists())')" = False ]; then
        say "loading the demo data"
        "$PY" manage.py load_demo >/dev/null
    fi
    "$PY" manage.py rebuild_archive_index >/dev/null
}

start_celery() {
    # One worker for mail and documents, one for the search index, whose updates are serial.
    running worker || "$BIN/celery" -A config worker -Q celery -n "worker@%h" --concurrency "${CELERY_CONCURRENCY:-2}" \
        --detach --pidfile "$DIR/worker.pid" --logfile "$DIR/worker.log" --loglevel INFO
    running indexer || "$BIN/celery" -A config worker -Q archive-index -n "indexer@%h" --concurrency 1 \
        --detach --pidfile "$DIR/indexer.pid" --logfile "$DIR/indexer.log" --loglevel INFO
    running beat || "$BIN/celery" -A config beat --detach --pidfile "$DIR/beat.pid" --logfile "$DIR/beat.log" \
        --schedule "$DIR/celerybeat-schedule" --loglevel INFO
    for name in worker indexer beat; do
        for _ in $(seq 100); do [ -s "$DIR/$name.pid" ] && break; sleep 0.1; done
        say "celery $name   pid $(pid_of "$name")"
    done
}

start_gunicorn() {
    running gunicorn && return
    "$BIN/gunicorn" config.wsgi --bind "127.0.0.1:$HTTP_PORT" --workers "$WORKERS" --daemon \
        --pid "$DIR/gunicorn.pid" --access-logfile "$DIR/gunicorn-access.log" --error-logfile "$DIR/gunicorn.log" \
        --timeout 60 --max-requests 5000 --max-requests-jitter 500
    for _ in $(seq 150); do
        curl -fsS "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    curl -fsS "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || { say "gunicorn did not answer; see $DIR/gunicorn.log"; exit 1; }
    say "gunicorn     http://127.0.0.1:$HTTP_PORT   pid $(pid_of gunicorn), $WORKERS workers"
}

start() {
    install_packages
    make -s install
    # The load bench's generator (locust), once per change of pyproject.toml.
    if [ ! "$ROOT/.venv/.installed-bench" -nt pyproject.toml ]; then
        "$BIN/pip" install --quiet -e ".[bench]" >/dev/null 2>&1
        touch "$ROOT/.venv/.installed-bench"
    fi
    mkdir -p "$DIR/mail"
    write_env
    # shellcheck disable=SC1091
    . "$DIR/env"
    start_postgres
    start_redis
    prepare_database
    start_celery
    start_gunicorn
    say "The stack runs with the production settings in var/services/env; stop it with: make services-stop"
}

# The command a pid must still belong to before it is signalled (a pid may have been reused).
expected_command() {
    case "$1" in
        postgres) echo postgres ;;
        redis) echo redis-server ;;
        worker | indexer | beat) echo celery ;;
        gunicorn) echo gunicorn ;;
    esac
}

stop_one() {
    local name=$1 pid
    pid=$(pid_of "$name")
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$(expected_command "$name")"; then
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM is the graceful stop of the others.
        if [ "$name" = postgres ]; then kill -INT "$pid"; else kill -TERM "$pid"; fi
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$DIR/$name.pid"
}

stop() {
    local i
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_one "${SERVICES[$i]}"; done
}

status() {
    local name
    for name in "${SERVICES[@]}"; do
        if running "$name"; then say "$name: running (pid $(pid_of "$name"))"; else say "$name: stopped"; fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) say "usage: $0 start|stop|status"; exit 2 ;;
esac
