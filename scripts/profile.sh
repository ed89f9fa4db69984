#!/usr/bin/env bash
# Instructions per page view, counted by callgrind: repeatable, unlike seconds,
# whatever else the machine is doing.
#
#   scripts/profile.sh        # needs valgrind, psql, redis-cli, curl, cargo
#
# PROFILE_BINARY=PATH profiles that tally binary instead of building this one
# (docs/performance.md weighs each speed trick so: a binary built without it).
# Runs the release binary under callgrind twice in a database and key prefix of
# its own, once serving PROFILE_VIEWS page views (default 400, 8 clients on
# keep-alive connections) and
# once serving none, and prints the difference divided by the number of views:
# the instructions Tally itself spends on one view, start-up excluded.
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
views=${PROFILE_VIEWS:-400}
binary=${PROFILE_BINARY:-target/release/tally}

for tool in valgrind callgrind_annotate psql redis-cli curl cargo python3; do
  command -v "$tool" >/dev/null || { echo "profile: $tool is not installed" >&2; exit 1; }
done

db=tally_profile_$$
db_url="${admin_url%/*}/$db"
work=$(mktemp -d)
cleanup() {
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -u "$redis_url" --no-auth-warning --scan --pattern "profile_$$*" | xargs -r redis-cli -u "$redis_url" --no-auth-warning DEL >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -n "${PROFILE_BINARY:-}" ] || cargo build --release --locked --quiet
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null

# Runs tally under callgrind, serves $1 views, stops it; prints the total Ir.
run() {
  local count=$1 port out="$work/callgrind.$1"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env -i PATH="$PATH" RUST_LOG=warn DATABASE_URL="$db_url" REDIS_URL="$redis_url" \
    REDIS_KEY_PREFIX="profile_$$_$count:" HOST=127.0.0.1 PORT="$port" STATIC_DIR="$PWD/static" DRAIN_DELAY_SECS=0 \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" \
    >"$work/app.$count.log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  # 8 clients, each on one keep-alive connection, as browsers and wrk do.
  if [ "$count" -gt 0 ]; then
    local clients=()
    for _ in 1 2 3 4 5 6 7 8; do
      curl -fs "http://127.0.0.1:$port/?view=[1-$((count / 8))]" >/dev/null &
      clients+=($!)
    done
    wait "${clients[@]}"
  fi
  kill -TERM "$pid"
  wait "$pid" || true
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'
}

echo "profiling: $views views under callgrind, then none" >&2
with=$(run "$views")
without=$(run 0)
echo "instructions per view: $(( (with - without) / views )) (Ir $with with $views views, $without with none)"
