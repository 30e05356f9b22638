#!/usr/bin/env bash
# What the test suite needs beyond Python: Debian's Chromium for the browser tests and a
# PostgreSQL server for the second run. Installs and starts what is missing; quick when all is there.
# `bash tests/services.sh postgres` sets up PostgreSQL alone (what `make bench` needs).
set -euo pipefail
wanted="${*:-chromium postgres}"
for service in $wanted; do
  case "$service" in
    chromium | postgres) ;;
    *) echo "services: unknown service '$service' (chromium, postgres)" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [[ " $wanted " == *" chromium "* && ! -x /usr/bin/chromium ]]; then
  echo "services: installing Chromium (Debian package)"
  apt_install chromium
fi

[[ " $wanted " == *" postgres "* ]] || { echo "services: Chromium ready"; exit 0; }

url="${TEST_DATABASE_URL:-postgres://inspector:inspector@127.0.0.1:5432/inspector}"
case "$url" in
  postgres://inspector:inspector@127.0.0.1:5432/inspector) ;;
  *) echo "services: using your PostgreSQL at TEST_DATABASE_URL"; exit 0 ;;
esac

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services: installing PostgreSQL (Debian package)"
  apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services: starting PostgreSQL"
  $SUDO service postgresql start >/dev/null
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "services: PostgreSQL did not start" >&2; exit 1; }

as_postgres() {
  if [ -z "$SUDO" ]; then (cd / && su postgres -c "$(printf '%q ' "$@")"); else (cd / && sudo -u postgres "$@"); fi
}
if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='inspector'")" != "1" ]; then
  as_postgres psql -qc "CREATE ROLE inspector LOGIN CREATEDB PASSWORD 'inspector'"
fi
# `make bench` writes its grown database out (CHECKPOINT) before it times the searches.
if [ "$(as_postgres psql -tAc "SELECT CASE WHEN to_regrole('pg_checkpoint') IS NULL THEN false ELSE NOT pg_has_role('inspector', 'pg_checkpoint', 'MEMBER') END")" = "t" ]; then
  as_postgres psql -qc "GRANT pg_checkpoint TO inspector"
fi
if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname='inspector'")" != "1" ]; then
  as_postgres psql -qc "CREATE DATABASE inspector OWNER inspector"
fi
echo "services: ${wanted// / and } ready"
