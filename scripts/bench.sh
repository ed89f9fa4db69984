#!/usr/bin/env bash
# Tally's benchmark: page views/s against the same PostgreSQL's own single-row
# insert rate, on an empty access log and on one grown to 2 million rows.
#
#   scripts/bench.sh            # needs wrk, pgbench, psql, redis-cli, cargo
#
# It builds the release binary, runs it in a database and Redis key prefix of
# its own (both removed at the end), drives GET / with wrk, measures pgbench at
# the same concurrency, checks the numbers are exact, and prints one table.
# Settings: BENCH_ADMIN_URL (a PostgreSQL URL allowed to create databases,
# default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL
# (redis://127.0.0.1:6379), BENCH_CONNECTIONS (32), BENCH_SECONDS (10),
# BENCH_ROWS (2000000), BENCH_LOG (warn: the app's RUST_LOG during the runs).
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
connections=${BENCH_CONNECTIONS:-32}
seconds=${BENCH_SECONDS:-10}
rows=${BENCH_ROWS:-2000000}
app_log=${BENCH_LOG:-warn}

for tool in wrk pgbench psql redis-cli cargo curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

db=tally_bench_$$
prefix="bench_$$:"
db_url="${admin_url%/*}/$db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
app_pid=

cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -u "$redis_url" --no-auth-warning DEL "${prefix}visits" "${prefix}access_total" "${prefix}cache_check" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }
sql() { psql -qAtX "$db_url" -c "$1"; }

say "building the release binary"
cargo build --release --locked --quiet

say "creating database $db"
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null

say "starting tally on 127.0.0.1:$port"
(
  cd "$work"
  exec env -i PATH="$PATH" RUST_LOG="$app_log" DATABASE_URL="$db_url" REDIS_URL="$redis_url" \
    REDIS_KEY_PREFIX="$prefix" HOST=127.0.0.1 PORT="$port" STATIC_DIR="$OLDPWD/static" \
    "$OLDPWD/target/release/tally"
) >"$work/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/app.log" >&2; exit 1; }

# pgbench: the same row shape as access_log, one INSERT per transaction.
sql "CREATE TABLE bench_log (LIKE access_log INCLUDING ALL)"
echo "INSERT INTO bench_log (path, user_agent) VALUES ('/', 'pgbench');" >"$work/insert.sql"
say "pgbench: single-row inserts, $connections clients, ${seconds}s"
insert_rate=$(pgbench -n -c "$connections" -j 2 -T "$seconds" -f "$work/insert.sql" "$db_url" 2>/dev/null \
  | awk '/^tps = / { printf "%.0f", $3 }')
sql "DROP TABLE bench_log"

to_ms() { # wrk latency like 812.00us, 7.93ms, 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# Runs wrk on GET / and checks that the stores agree with what was answered.
# Prints: views/s p50_ms p99_ms answered exact
measure() {
  local label=$1 before_rows before_visits out
  say "wrk: warming up ($label)"
  wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$port/" >/dev/null
  sleep 0.5
  before_rows=$(sql "SELECT total FROM access_totals")
  before_visits=$(redis-cli -u "$redis_url" --no-auth-warning GET "${prefix}visits")
  before_visits=${before_visits:-0}
  say "wrk: GET /, $connections connections, ${seconds}s ($label)"
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/")
  local rate p50 p99 answered errors
  rate=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  answered=$(awk '/requests in/ { print $1 }' <<<"$out")
  errors=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  errors=${errors:-0}
  sleep 0.5
  local total rows visits shown
  total=$(sql "SELECT total FROM access_totals")
  rows=$(( $(sql "SELECT count(*) FROM access_log") ))
  visits=$(redis-cli -u "$redis_url" --no-auth-warning GET "${prefix}visits")
  shown=$(curl -fs "http://127.0.0.1:$port/" | sed -n 's/.*id="access-total">\([0-9]*\)<.*/\1/p')
  local logged=$((total - before_rows)) counted=$((visits - before_visits))
  local exact=yes
  # Every answered view is in both stores; wrk may cut up to one request per
  # connection at the end, which the stores may still have counted.
  [ "$errors" = 0 ] || exact=no
  [ "$total" = "$rows" ] || exact=no
  [ "$shown" = $((total + 1)) ] || exact=no
  [ "$logged" = "$counted" ] || exact=no
  [ "$logged" -ge "$answered" ] && [ "$logged" -le $((answered + connections)) ] || exact=no
  say "  answered $answered, logged $logged, counted $counted, rows $rows, total $total, non-2xx $errors: exact=$exact"
  echo "$rate $p50 $p99 $answered $exact"
}

read -r empty_rate empty_p50 empty_p99 empty_n empty_exact < <(measure "empty log")

say "growing the access log by $rows rows"
sql "INSERT INTO access_log (path, user_agent, accessed_at)
     SELECT '/', 'bench-filler', now() - g * interval '1 second' FROM generate_series(1, $rows) AS g;
     UPDATE access_totals SET total = total + $rows;"
sql "VACUUM ANALYZE access_log"
# The filler's WAL would otherwise be checkpointed during the measurement.
sql "CHECKPOINT"
read -r big_rate big_p50 big_p99 big_n big_exact < <(measure "$rows rows")

peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$app_pid/status")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

cat <<TABLE

| measure | empty log | $rows rows |
| --- | --- | --- |
| views/s (wrk, $connections connections, ${seconds}s) | $empty_rate | $big_rate |
| p50 latency (ms) | $empty_p50 | $big_p50 |
| p99 latency (ms) | $empty_p99 | $big_p99 |
| pgbench single-row inserts/s ($connections clients) | $insert_rate | |
| views/s ÷ insert rate | $(ratio "$empty_rate" "$insert_rate") | $(ratio "$big_rate" "$insert_rate") |
| views/s, ${rows}-row run ÷ empty run | | $(ratio "$big_rate" "$empty_rate") |
| p99, ${rows}-row run ÷ empty run | | $(ratio "$big_p99" "$empty_p99") |
| exact counts | $empty_exact | $big_exact |
| app peak RSS (MB) | $(awk -v k="$peak_kb" 'BEGIN { printf "%.1f", k / 1024 }') | |
TABLE
