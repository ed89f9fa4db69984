#!/usr/bin/env bash
# The stores `cargo test` needs, on Debian or Ubuntu, as root: installs
# PostgreSQL and Redis when missing, starts them when they do not answer, lets
# `postgres` in over loopback without a password (only where that is refused)
# and creates the database `test`. A store that already answers is left as it is.
#
#   sudo scripts/test-stores.sh
#
# CI runs it (.ci/run, and the GitHub workflow); CONTRIBUTING.md says what it
# sets up, for machines that are not Debian or Ubuntu.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf '\n==> %s\n' "$*"; }

# postgresql and redis-server bring the server binaries some tests start
# privately (initdb, postgres, pg_config, redis-server); procps the `kill` they
# stop such a server with.
missing=()
for pkg in postgresql redis-server procps; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "PostgreSQL"
cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$cluster" ]; then
  cluster=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$cluster" main
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
# Tests connect over TCP as postgres without a password, as on the developers'
# machines. Only where that is refused, allow it from loopback.
if ! psql -h 127.0.0.1 -U postgres -d postgres -w -tAc 'SELECT 1' >/dev/null 2>&1; then
  hba=/etc/postgresql/$cluster/main/pg_hba.conf
  log "letting postgres in without a password over loopback ($hba)"
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main reload
  sleep 1
fi
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test"

log "Redis"
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping
