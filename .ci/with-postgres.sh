#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at a private PostgreSQL on 127.0.0.1.
# Installs Debian's postgresql when it is missing, makes a throw-away cluster,
# and stops it (and removes it) when the command ends.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGPORT=${PGPORT:-55432}
DIR=$(mktemp -d /tmp/keti-pg.XXXXXX)
chmod 755 "$DIR"

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$DIR"

as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U keti -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
    -o "-h 127.0.0.1 -p $PGPORT -k $DIR -c fsync=off -c max_connections=100" start >/dev/null
cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U keti keti

export DATABASE_URL="postgres://keti@127.0.0.1:$PGPORT/keti"
"$@"
