#!/usr/bin/env bash
# Tally's benchmark: page views/s against the same PostgreSQL's own single-row
# insert rate, on an empty access log and on one grown to 2 million rows.
#
#   scripts/bench.sh            # needs wrk, pgbench, psql, redis-cli, curl, cargo
#
# It builds the release binary and runs two instances of it, each in a database
# and Redis key prefix of its own (all removed at the end): one keeps an empty
# access log, the other's is grown to 2 million rows first. Each round measures
# pgbench's single-row inserts, then GET / on the empty instance, then on the
# grown one, all at the same concurrency; alternating rounds spread the
# machine's drift over both alike. After each run it checks that the counter,
# the log's rows and the running total agree with the views that were answered.
#
# Settings: BENCH_ADMIN_URL (a PostgreSQL URL allowed to create databases,
# default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL
# (redis://127.0.0.1:6379), BENCH_CONNECTIONS (32), BENCH_SECONDS (10),
# BENCH_ROUNDS (2), BENCH_ROWS (2000000), BENCH_LOG (warn: the app's RUST_LOG;
# at info, one log line per request is part of what is measured).
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
connections=${BENCH_CONNECTIONS:-32}
seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-2}
rows=${BENCH_ROWS:-2000000}
app_log=${BENCH_LOG:-warn}

for tool in wrk pgbench psql redis-cli cargo curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

run_id=bench_$$
work=$(mktemp -d)
declare -A port pid
names=(empty grown)

db_url() { echo "${admin_url%/*}/tally_${run_id}_$1"; }
prefix() { echo "${run_id}_$1:"; }
sql() { psql -qAtX "$(db_url "$1")" -c "$2"; }
rcli() { redis-cli -u "$redis_url" --no-auth-warning "$@"; }
say() { printf '%s\n' "$*" >&2; }

cleanup() {
  for name in "${names[@]}"; do
    [ -n "${pid[$name]:-}" ] && kill "${pid[$name]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  for name in "${names[@]}"; do
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS tally_${run_id}_$name WITH (FORCE)" >/dev/null 2>&1 || true
    rcli DEL "$(prefix "$name")visits" "$(prefix "$name")access_total" "$(prefix "$name")cache_check" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

say "building the release binary"
cargo build --release --locked --quiet

start() {
  local name=$1
  psql -q "$admin_url" -c "CREATE DATABASE tally_${run_id}_$name" >/dev/null
  port[$name]=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (
    cd "$work"
    exec env -i PATH="$PATH" RUST_LOG="$app_log" DATABASE_URL="$(db_url "$name")" REDIS_URL="$redis_url" \
      REDIS_KEY_PREFIX="$(prefix "$name")" HOST=127.0.0.1 PORT="${port[$name]}" STATIC_DIR="$OLDPWD/static" DRAIN_DELAY_SECS=0 \
      "$OLDPWD/target/release/tally"
  ) >"$work/$name.log" 2>&1 &
  pid[$name]=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:${port[$name]}/readyz" >/dev/null 2>&1 && return
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  exit 1
}

for name in "${names[@]}"; do
  say "starting the $name instance"
  start "$name"
done

say "growing the grown instance's access log by $rows rows"
sql grown "INSERT INTO access_log (path, user_agent, accessed_at)
           SELECT '/', 'bench-filler', now() - g * interval '1 second' FROM generate_series(1, $rows) AS g;
           UPDATE access_totals SET total = total + $rows;"
sql grown "VACUUM ANALYZE access_log"
# The filler's WAL would otherwise be checkpointed during the measurements.
sql grown "CHECKPOINT"

# pgbench: the same row shape as access_log, one INSERT per transaction.
sql empty "CREATE TABLE bench_log (LIKE access_log INCLUDING ALL)"
echo "INSERT INTO bench_log (path, user_agent) VALUES ('/', 'pgbench');" >"$work/insert.sql"
pgbench_rate() {
  say "pgbench: single-row inserts, $connections clients, ${seconds}s"
  pgbench -n -c "$connections" -j 2 -T "$seconds" -f "$work/insert.sql" "$(db_url empty)" 2>/dev/null |
    awk '/^tps = / { printf "%.0f", $3 }'
}

to_ms() { # wrk latency like 812.00us, 7.93ms, 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# Drives GET / on one instance and checks that its stores agree with what was
# answered. Prints: views/s p50_ms p99_ms exact
measure() {
  local name=$1 url="http://127.0.0.1:${port[$1]}/"
  say "wrk: GET / on the $name instance, $connections connections, ${seconds}s (after 2s of warm-up)"
  wrk -t2 -c"$connections" -d2s "$url" >/dev/null
  sleep 0.5
  local before_total before_visits out
  before_total=$(sql "$name" "SELECT total FROM access_totals")
  before_visits=$(rcli GET "$(prefix "$name")visits")
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$url")
  local rate p50 p99 answered errors
  rate=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  answered=$(awk '/requests in/ { print $1 }' <<<"$out")
  errors=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  errors=${errors:-0}
  sleep 0.5
  local total rows visits shown
  total=$(sql "$name" "SELECT total FROM access_totals")
  rows=$(sql "$name" "SELECT count(*) FROM access_log")
  visits=$(rcli GET "$(prefix "$name")visits")
  shown=$(curl -fs "$url" | sed -n 's/.*id="access-total">\([0-9]*\)<.*/\1/p')
  local logged=$((total - before_total)) counted=$((visits - before_visits)) exact=yes
  # Every answered view is in both stores; wrk may cut up to one request per
  # connection at the end, which the stores may still have counted.
  [ "$errors" = 0 ] || exact=no
  [ "$total" = "$rows" ] || exact=no
  [ "$shown" = $((total + 1)) ] || exact=no
  [ "$logged" = "$counted" ] || exact=no
  { [ "$logged" -ge "$answered" ] && [ "$logged" -le $((answered + connections)) ]; } || exact=no
  say "  $rate views/s; answered $answered, logged $logged, counted $counted, rows $rows, total $total, non-2xx $errors: exact=$exact"
  echo "$rate $p50 $p99 $exact"
}

results=$work/results
for round in $(seq "$rounds"); do
  say "round $round of $rounds"
  echo "pgbench $(pgbench_rate)" >>"$results"
  for name in "${names[@]}"; do
    echo "$name $(measure "$name")" >>"$results"
  done
done

mean() { awk -v k="$1" -v f="$2" '$1 == k { s += $f; n++ } END { printf "%.0f", s / n }' "$results"; }
mean2() { awk -v k="$1" -v f="$2" '$1 == k { s += $f; n++ } END { printf "%.2f", s / n }' "$results"; }
each() { awk -v k="$1" '$1 == k { printf "%s%s", sep, $2; sep = ", " }' "$results"; }
exact() { awk -v k="$1" '$1 == k && $5 != "yes" { bad = 1 } END { print bad ? "no" : "yes" }' "$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
peak_kb=0
for name in "${names[@]}"; do
  kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/${pid[$name]}/status")
  [ "$kb" -gt "$peak_kb" ] && peak_kb=$kb
done

insert_rate=$(mean pgbench 2)
empty_rate=$(mean empty 2)
grown_rate=$(mean grown 2)
empty_p99=$(mean2 empty 4)
grown_p99=$(mean2 grown 4)

cat <<TABLE

Means over $rounds rounds of ${seconds}s at $connections connections (each round: pgbench, empty, grown).

| measure | empty log | $rows rows |
| --- | --- | --- |
| views/s | $empty_rate | $grown_rate |
| views/s in each round | $(each empty) | $(each grown) |
| p50 latency (ms) | $(mean2 empty 3) | $(mean2 grown 3) |
| p99 latency (ms) | $empty_p99 | $grown_p99 |
| pgbench single-row inserts/s | $insert_rate ($(each pgbench)) | |
| views/s ÷ insert rate | $(ratio "$empty_rate" "$insert_rate") | $(ratio "$grown_rate" "$insert_rate") |
| views/s, grown ÷ empty | | $(ratio "$grown_rate" "$empty_rate") |
| p99, grown ÷ empty | | $(ratio "$grown_p99" "$empty_p99") |
| exact counts | $(exact empty) | $(exact grown) |
| peak RSS of an instance (MB) | $(awk -v k="$peak_kb" 'BEGIN { printf "%.1f", k / 1024 }') | |
TABLE
