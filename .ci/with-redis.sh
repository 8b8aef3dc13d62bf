#!/usr/bin/env bash
# Run a command with Celery's broker (and the cache of the rate limits) on a private Redis
# on 127.0.0.1. Installs Debian's redis-server when it is missing; stops it by its pid and
# removes its directory when the command ends.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq redis-server >/dev/null
fi
REDIS_PORT=${REDIS_PORT:-56380}
DIR=$(mktemp -d /tmp/keti-redis.XXXXXX)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$DIR" \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --save "" --appendonly no
for _ in $(seq 50); do [ -s "$DIR/redis.pid" ] && break; sleep 0.1; done
cleanup() {
    kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export CELERY_RESULT_BACKEND="redis://127.0.0.1:$REDIS_PORT/1"
export CACHE_URL="rediscache://127.0.0.1:$REDIS_PORT/2"
"$@"
