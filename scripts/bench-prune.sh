#!/usr/bin/env bash
# What pruning costs the page views served meanwhile, and what a view costs on disk:
#
#   1. The disk one million views take: access_log with its index, per row.
#   2. Views at 32 connections (wrk, 10 s runs) before a prune, while
#      `tally prune --older-than 90d` removes BENCH_ROWS old rows beside them,
#      and after it: throughput and p99 latency, during against the runs before
#      and after together (the machine's pace drifts over minutes by as much as
#      a prune costs, so the runs on one side alone mislead).
#
#   scripts/bench-prune.sh      # needs wrk, psql, redis-cli, curl, cargo, python3
#
# Afterwards it checks the books: the access total unchanged by the prune and
# equal to the rows left plus the rows pruned, every old row gone. The instance has
# a database and Redis key prefix of its own, removed at the end. Settings:
# BENCH_ADMIN_URL, BENCH_REDIS_URL (as scripts/bench.sh), BENCH_ROWS (2000000),
# BENCH_BEFORE_RUNS (3 runs of 10 s before the prune, and as many after).
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
rows=${BENCH_ROWS:-2000000}
before_runs=${BENCH_BEFORE_RUNS:-3}

for tool in wrk psql redis-cli cargo curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-prune: $tool is not installed" >&2; exit 1; }
done

db=tally_prune_bench_$$
db_url="${admin_url%/*}/$db"
prefix="prune_bench_$$:"
work=$(mktemp -d)
pid=
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -u "$redis_url" --no-auth-warning --scan --pattern "$prefix*" |
    xargs -r redis-cli -u "$redis_url" --no-auth-warning DEL >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '%s\n' "$*" >&2; }
sql() { psql -qAtX "$db_url" -c "$1"; }

say "building the release binary"
cargo build --release --locked --quiet --bin tally
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
vars=(RUST_LOG=warn DATABASE_URL="$db_url" REDIS_URL="$redis_url" REDIS_KEY_PREFIX="$prefix"
  HOST=127.0.0.1 PORT="$port" STATIC_DIR="$PWD/static" DRAIN_DELAY_SECS=0)
env -i PATH="$PATH" "${vars[@]}" target/release/tally >"$work/tally.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done

say "logging $rows views made 100 days ago (with a typical browser's user agent)"
agent='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
sql "INSERT INTO access_log (path, user_agent, accessed_at)
     SELECT '/', '$agent', now() - interval '100 days' + g * interval '1 ms' FROM generate_series(1, $rows) AS g;
     UPDATE access_totals SET total = total + $rows;"
sql "VACUUM ANALYZE access_log"
sql "CHECKPOINT"
bytes=$(sql "SELECT pg_total_relation_size('access_log')")
per_row=$((bytes / rows))
say "  access_log with its index: $((bytes / 1024 / 1024)) MB, $per_row bytes a row"

# wrk at 32 connections for 10 s: prints "req/s p99_ms".
views() {
  wrk -t1 -c32 -d10s --latency "http://127.0.0.1:$port/" | awk '
    /^Requests\/sec:/ { rate = $2 }
    /^ +99%/ { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /[0-9]s$/) ms *= 1000; p99 = ms }
    END { printf "%.0f %.1f\n", rate, p99 }'
}

wrk -t1 -c32 -d2s "http://127.0.0.1:$port/" >/dev/null
say "views before the prune ($before_runs runs of 10 s)"
for _ in $(seq "$before_runs"); do views >>"$work/before"; say "  $(tail -n 1 "$work/before")"; done
total_before=$(sql "SELECT total FROM access_totals")

say "views while tally prune --older-than 90d removes $rows rows"
started=$(date +%s.%N)
env -i PATH="$PATH" "${vars[@]}" RUST_LOG=info target/release/tally prune --older-than 90d >"$work/prune.log" 2>&1 &
prune=$!
while kill -0 "$prune" 2>/dev/null; do views >>"$work/during"; say "  $(tail -n 1 "$work/during")"; done
wait "$prune" || { cat "$work/prune.log" >&2; exit 1; }
took=$(python3 -c "import time; print(round(time.time() - $started))")
say "views after the prune ($before_runs runs of 10 s)"
for _ in $(seq "$before_runs"); do views >>"$work/after"; say "  $(tail -n 1 "$work/after")"; done
cat "$work/before" "$work/after" >"$work/outside"
batches=$(grep -c 'batch [0-9]*:' "$work/prune.log")

sleep 1
read -r total pruned left old <<<"$(sql "SELECT total, (SELECT rows FROM access_log_pruned), (SELECT count(*) FROM access_log),
  (SELECT count(*) FROM access_log WHERE accessed_at < now() - interval '90 days') FROM access_totals" | tr '|' ' ')"
[ "$pruned" = "$rows" ] && [ "$old" = 0 ] && [ "$total" = $((left + pruned)) ] && [ "$total" -ge "$total_before" ] &&
  exact=yes || exact=no

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v f="$2" '{ print $f }' "$work/$1"; }
rate_before=$(col before 1 | median); rate_during=$(col during 1 | median)
p99_before=$(col before 2 | median); p99_during=$(col during 2 | median)
rate_after=$(col after 1 | median); p99_after=$(col after 2 | median)
rate_outside=$(col outside 1 | median); p99_outside=$(col outside 2 | median)
p99_worst=$(col during 2 | sort -n | tail -n 1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cat <<TABLE

Pruned $rows rows in $took s ($batches batches); the books after it: $exact
(total $total = $left rows + $pruned pruned; $old old rows left).

| views at 32 connections | req/s (median of 10 s runs) | p99 latency, ms (median; worst) |
| --- | --- | --- |
| before the prune ($before_runs runs) | $rate_before | $p99_before |
| during the prune ($(wc -l <"$work/during") runs) | $rate_during | $p99_during; $p99_worst |
| after the prune ($before_runs runs) | $rate_after | $p99_after |
| during ÷ before and after | $(ratio "$rate_during" "$rate_outside") x | $(ratio "$p99_during" "$p99_outside") x; $(ratio "$p99_worst" "$p99_outside") x |

Disk: $per_row bytes a row with its index, $((per_row * 1000000 / 1024 / 1024)) MB per million views.
TABLE
