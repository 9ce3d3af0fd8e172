#!/usr/bin/env bash
# A throwaway PostgreSQL for the app's tests: Debian's server binaries, a private cluster
# under .cache/pgtest, listening on 127.0.0.1:55432 only, password (scram) auth.
#
#   scripts/pg-test.sh start    initdb once, start (idempotent), ensure the test role and database
#   scripts/pg-test.sh stop     stop the server (the cluster stays for the next start)
#   scripts/pg-test.sh status   exit 0 when the server answers
#   scripts/pg-test.sh env      print DATABASE_URL=... (for `env $(scripts/pg-test.sh env) cmd`)
#   scripts/pg-test.sh url      print the bare URL
#   scripts/pg-test.sh destroy  stop and delete the cluster
#
# The credentials are fake on purpose: this cluster holds test data only.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# As root the server runs as 'postgres', which must reach the cluster directory: a checkout
# under a private home (mode 0700) cannot hold it, so such a checkout keeps it under /var/tmp.
default_dir() {
  mkdir -p "$here/.cache"
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$here/.cache" 2>/dev/null; then
    echo "$here/.cache/pgtest"
  else
    echo "/var/tmp/devops-django-pgtest-$(printf '%s' "$here" | sha256sum | cut -c1-12)"
  fi
}
PGTEST_DIR=${PGTEST_DIR:-$(default_dir)}
PGTEST_PORT=${PGTEST_PORT:-55432}
PGTEST_USER=sampleapp_test
PGTEST_PASSWORD=fake-test-password
PGTEST_DB=sampleapp_test
data=$PGTEST_DIR/data
sockets=$PGTEST_DIR/run
logfile=$PGTEST_DIR/postgres.log

say() { printf '==> %s\n' "$*" >&2; }
url() { echo "postgres://$PGTEST_USER:$PGTEST_PASSWORD@127.0.0.1:$PGTEST_PORT/$PGTEST_DB"; }

# Debian keeps the server binaries under /usr/lib/postgresql/<version>/bin; other systems
# put initdb and pg_ctl on PATH.
newest_bindir() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$dir" ] && command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dir=$(dirname "$(command -v pg_ctl)")
  fi
  echo "$dir"
}

pg_bindir() {
  local dir
  dir=$(newest_bindir)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing Debian's postgresql package"
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null
      dir=$(newest_bindir)
    else
      echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2
      exit 1
    fi
  fi
  echo "$dir"
}

# The server refuses to run as root: as root, run it (and initdb) as the 'postgres' user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

init_cluster() {
  [ -f "$data/PG_VERSION" ] && return
  say "initdb $data"
  mkdir -p "$PGTEST_DIR"
  rm -rf "$data" "$sockets"
  mkdir -p "$data" "$sockets"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "user 'postgres' missing (apt-get install postgresql)" >&2; exit 1; }
    chown postgres: "$PGTEST_DIR" "$data" "$sockets"
  fi
  chmod 0700 "$data"
  # Local socket: peer auth for the cluster owner (set-up only); TCP: passwords only.
  as_owner "$bin/initdb" -D "$data" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >"$PGTEST_DIR/initdb.log" 2>&1 \
    || { cat "$PGTEST_DIR/initdb.log" >&2; exit 1; }
  cat >>"$data/postgresql.conf" <<CONF

# pg-test.sh: loopback only, tuned for throwaway test data (no durability needed).
listen_addresses = '127.0.0.1'
port = $PGTEST_PORT
unix_socket_directories = '$sockets'
max_connections = 60
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = scram-sha-256
log_min_messages = warning
CONF
}

psql_admin() {
  as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$sockets" -p "$PGTEST_PORT" -d postgres
}

ensure_role_and_db() {
  psql_admin <<SQL
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$PGTEST_USER', '$PGTEST_PASSWORD')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PGTEST_USER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$PGTEST_DB', '$PGTEST_USER')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PGTEST_DB') \gexec
SQL
}

start() {
  init_cluster
  if running; then
    say "PostgreSQL already running on 127.0.0.1:$PGTEST_PORT"
  else
    say "starting PostgreSQL on 127.0.0.1:$PGTEST_PORT (log: $logfile)"
    if [ "$(id -u)" = 0 ]; then
      touch "$logfile" && chown postgres: "$logfile"
    fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 30 start >/dev/null \
      || { tail -n 20 "$logfile" >&2; exit 1; }
  fi
  ensure_role_and_db
  # Prove the way the tests connect: TCP on loopback with the password.
  PGPASSWORD=$PGTEST_PASSWORD PGCONNECT_TIMEOUT=5 "$bin/psql" -X -q -w -h 127.0.0.1 -p "$PGTEST_PORT" \
    -U "$PGTEST_USER" -d "$PGTEST_DB" -c 'SELECT 1' >/dev/null
}

stop() {
  if running; then
    say "stopping PostgreSQL"
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
  else
    say "PostgreSQL not running"
  fi
}

bin=$(pg_bindir)
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  env) echo "DATABASE_URL=$(url)" ;;
  url) url ;;
  destroy)
    stop
    rm -rf "$PGTEST_DIR"
    ;;
  *)
    echo "usage: $0 start|stop|status|env|url|destroy" >&2
    exit 2
    ;;
esac
