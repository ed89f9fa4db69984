#!/usr/bin/env bash
# Tally's benchmark, three comparisons in one run on this machine:
#
#   1. CPU per page view against the yardstick (benches/yardstick.rs: the plainest
#      actix-web page with one Redis INCR, same crates), and throughput, at 32 and
#      256 connections; wrk with one thread, rounds interleaved.
#   2. Page views/s against PostgreSQL's own single-row inserts (pgbench) at 32
#      clients, on the same server.
#   3. An empty access log against one grown to BENCH_ROWS rows (after a CHECKPOINT:
#      a bulk insert leaves seconds of background writes behind it).
#
#   scripts/bench.sh            # needs wrk, pgbench, psql, redis-cli, curl, cargo, python3
#
# CPU is the server process's utime + stime over the run, divided by the requests
# answered. Every Tally run is checked afterwards: the counter, the log's rows and
# the running total agree with the views answered. Each instance has a database
# and Redis key prefix of its own, all removed at the end.
#
# Settings: BENCH_ADMIN_URL (a PostgreSQL URL allowed to create databases,
# default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL
# (redis://127.0.0.1:6379), BENCH_SECONDS (6), BENCH_ROUNDS (3), BENCH_ROWS
# (2000000), BENCH_LOG (warn: the app's RUST_LOG), BENCH_BEFORE (the path of
# another tally binary, say last release's, measured beside this one; or several,
# as LABEL=PATH separated by spaces, each measured beside this one, which is how
# docs/performance.md weighs each speed trick: a binary built without it).
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
seconds=${BENCH_SECONDS:-6}
rounds=${BENCH_ROUNDS:-3}
rows=${BENCH_ROWS:-2000000}
app_log=${BENCH_LOG:-warn}
# The other binaries: "before" for a bare path, else each LABEL=PATH.
declare -A other
for entry in ${BENCH_BEFORE:-}; do
  case $entry in
    *=*) other[${entry%%=*}]=${entry#*=} ;;
    *) other[before]=$entry ;;
  esac
done

for tool in wrk pgbench psql redis-cli cargo curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

run_id=bench_$$
work=$(mktemp -d)
declare -A port pid
tallies=(tally grown "${!other[@]}")

db_url() { echo "${admin_url%/*}/tally_${run_id}_$1"; }
prefix() { echo "${run_id}_$1:"; }
sql() { psql -qAtX "$(db_url "$1")" -c "$2"; }
rcli() { redis-cli -u "$redis_url" --no-auth-warning "$@"; }
say() { printf '%s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cleanup() {
  for name in "${!pid[@]}"; do kill "${pid[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for name in "${tallies[@]}" yardstick; do
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS tally_${run_id}_$name WITH (FORCE)" >/dev/null 2>&1 || true
    rcli --scan --pattern "$(prefix "$name")*" | xargs -r redis-cli -u "$redis_url" --no-auth-warning DEL >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

say "building the release binary and the yardstick"
cargo build --release --locked --quiet --bin tally --example yardstick

wait_ready() {
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:${port[$1]}/" && return
    sleep 0.1
  done
  cat "$work/$1.log" >&2
  exit 1
}

start_tally() { # NAME BINARY
  local name=$1 binary=$2
  psql -q "$admin_url" -c "CREATE DATABASE tally_${run_id}_$name" >/dev/null
  port[$name]=$(free_port)
  env -i PATH="$PATH" RUST_LOG="$app_log" DATABASE_URL="$(db_url "$name")" REDIS_URL="$redis_url" \
    REDIS_KEY_PREFIX="$(prefix "$name")" HOST=127.0.0.1 PORT="${port[$name]}" STATIC_DIR="$PWD/static" \
    DRAIN_DELAY_SECS=0 "$binary" >"$work/$name.log" 2>&1 &
  pid[$name]=$!
  wait_ready "$name"
}

say "starting the yardstick and the Tally instances (${tallies[*]})"
port[yardstick]=$(free_port)
target/release/examples/yardstick "127.0.0.1:${port[yardstick]}" "$redis_url" "$(prefix yardstick)visits" \
  >"$work/yardstick.log" 2>&1 &
pid[yardstick]=$!
wait_ready yardstick
start_tally tally target/release/tally
start_tally grown target/release/tally
for name in "${!other[@]}"; do start_tally "$name" "${other[$name]}"; done

say "growing the grown instance's access log by $rows rows"
sql grown "INSERT INTO access_log (path, user_agent, accessed_at)
           SELECT '/', 'bench-filler', now() - g * interval '1 second' FROM generate_series(1, $rows) AS g;
           UPDATE access_totals SET total = total + $rows;"
sql grown "VACUUM ANALYZE access_log"
sql grown "CHECKPOINT"
sleep 2

# pgbench: the same row shape as access_log, one INSERT per transaction.
sql tally "CREATE TABLE bench_log (LIKE access_log INCLUDING ALL)"
echo "INSERT INTO bench_log (path, user_agent) VALUES ('/', 'pgbench');" >"$work/insert.sql"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${pid[$1]}/stat"; }
tick=$(getconf CLK_TCK)

# measure NAME CONNECTIONS: one wrk run; prints "req/s us/req exact".
measure() {
  local name=$1 c=$2 url="http://127.0.0.1:${port[$1]}/"
  wrk -t1 -c"$c" -d1s "$url" >/dev/null
  sleep 0.5
  local before_total=0 before_visits=0
  if [ "$name" != yardstick ]; then
    before_total=$(sql "$name" "SELECT total FROM access_totals")
    before_visits=$(rcli GET "$(prefix "$name")visits")
  fi
  local ticks0 out ticks1
  ticks0=$(cpu_ticks "$name")
  out=$(wrk -t1 -c"$c" -d"${seconds}s" "$url")
  ticks1=$(cpu_ticks "$name")
  local rate answered errors us exact=yes
  rate=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  answered=$(awk '/requests in/ { print $1 }' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ { n++ } END { print n + 0 }' <<<"$out")
  us=$(awk -v a="$ticks1" -v b="$ticks0" -v t="$tick" -v r="$answered" 'BEGIN { printf "%.1f", (a - b) / t * 1e6 / r }')
  [ "$errors" = 0 ] || exact=no
  if [ "$name" != yardstick ]; then
    sleep 0.5
    local total logged counted rows_now
    total=$(sql "$name" "SELECT total FROM access_totals")
    rows_now=$(sql "$name" "SELECT count(*) FROM access_log")
    logged=$((total - before_total))
    counted=$(($(rcli GET "$(prefix "$name")visits") - before_visits))
    # wrk may cut up to one request per connection at the end, which the stores
    # may still have counted.
    [ "$total" = "$rows_now" ] && [ "$logged" = "$counted" ] || exact=no
    { [ "$logged" -ge "$answered" ] && [ "$logged" -le $((answered + c)) ]; } || exact=no
  fi
  say "  $name c=$c: $rate req/s, $us us/req, exact=$exact"
  echo "$rate $us $exact"
}

pgbench_rate() {
  pgbench -n -c 32 -j 2 -T "$seconds" -f "$work/insert.sql" "$(db_url tally)" 2>/dev/null |
    awk '/^tps = / { printf "%.0f", $3 }'
}

results=$work/results
for round in $(seq "$rounds"); do
  say "round $round of $rounds"
  for c in 32 256; do
    for name in yardstick tally "${!other[@]}"; do
      echo "$name $c $(measure "$name" "$c")" >>"$results"
    done
  done
  # The log-size comparison side by side: pgbench, then each log at 32.
  echo "pgbench 32 $(pgbench_rate) - yes" >>"$results"
  say "  pgbench c=32: $(tail -n 1 "$results" | cut -d' ' -f3) inserts/s"
  echo "empty 32 $(measure tally 32)" >>"$results"
  echo "grown 32 $(measure grown 32)" >>"$results"
done

# The figures of NAME at C connections in field F (3: req/s, 4: us/req), as "min-max".
span() { awk -v n="$1" -v c="$2" -v f="$3" '$1 == n && $2 == c { v[++k] = $f }
  END { asort(v); printf "%s-%s", v[1], v[k] }' "$results"; }
median() { awk -v n="$1" -v c="$2" -v f="$3" '$1 == n && $2 == c { v[++k] = $f }
  END { asort(v); print (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }' "$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
exact() { awk '$1 != "yardstick" && $5 != "yes" { bad = 1 } END { print bad ? "no" : "yes" }' "$results"; }
rss() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/${pid[$1]}/status"; }

row() { # LABEL NAME
  local line="| $1 |" c
  for c in 32 256; do
    line+=" $(span "$2" "$c" 3) | $(span "$2" "$c" 4) |"
  done
  echo "$line"
}
vs() { # LABEL NAME: ratios of medians to the yardstick's
  local line="| $1 ÷ yardstick |" c
  for c in 32 256; do
    line+=" $(ratio "$(median "$2" "$c" 3)" "$(median yardstick "$c" 3)") x | $(ratio "$(median "$2" "$c" 4)" "$(median yardstick "$c" 4)") x |"
  done
  echo "$line"
}

versus() { # NAME: its CPU per view beside today's Tally's, ratio of medians
  echo "| $1 ÷ Tally | | $(ratio "$(median "$1" 32 4)" "$(median tally 32 4)") x | | $(ratio "$(median "$1" 256 4)" "$(median tally 256 4)") x |"
}

cat <<TABLE

$rounds interleaved rounds of ${seconds} s each, wrk -t1, Tally at RUST_LOG=$app_log (min-max over rounds; ratios of medians).

| | req/s, c=32 | CPU us/req, c=32 | req/s, c=256 | CPU us/req, c=256 |
| --- | --- | --- | --- | --- |
$(row yardstick yardstick)
$(row "Tally" tally)
$(vs "Tally" tally)
$(for name in "${!other[@]}"; do row "$name (${other[$name]})" "$name"; vs "$name" "$name"; versus "$name"; done)

| at 32 connections | per second (min-max) | median |
| --- | --- | --- |
| pgbench single-row inserts | $(span pgbench 32 3) | $(median pgbench 32 3) |
| Tally, empty log | $(span empty 32 3) | $(median empty 32 3) |
| Tally, $rows rows | $(span grown 32 3) | $(median grown 32 3) |
| views ÷ inserts (empty log) | | $(ratio "$(median empty 32 3)" "$(median pgbench 32 3)") x |
| $rows rows ÷ empty | | $(ratio "$(median grown 32 3)" "$(median empty 32 3)") x |

Exact counts in every Tally run: $(exact). Peak RSS: Tally $(rss tally) MB, $rows rows $(rss grown) MB, yardstick $(rss yardstick) MB.
TABLE
