#!/usr/bin/env bash
# How long an edit takes to reach the page, measured as a user meets it:
#
#   1. the first `docker compose up --build -d --wait`, cold: nothing of the
#      release build reused (base images present), until the stack is healthy;
#   2. `docker compose -f compose.yaml -f compose.dev.yaml watch` started, until
#      the page answers (the dev build; cold only the first time on an engine);
#   3. a word changed in the page's English text, under watch, until the page
#      shows it;
#   4. a line added to static/style.css, until it is served.
#
#   scripts/edit-loop.sh        # needs Docker with Compose 2.32 or later, curl
#
# It works on a copy of the repository (the files git tracks or would track, as
# they are now), under a Compose project and a free port of its own, so your
# files, your stack and your `.env` are never touched; it removes its
# containers, volumes, images and copy at the end, also on Ctrl-C. Each figure
# is printed with the machine's load, since a busy machine builds slower.
#
# Settings: EDIT_LOOP_ROUNDS (3: edits of each kind; the median is the figure),
# EDIT_LOOP_COLD (1; 0 builds with the cache as it is, for a quick run),
# EDIT_LOOP_PORT (a free port on 127.0.0.1 for the balancer).
set -euo pipefail
export LC_ALL=C # a decimal point in the figures, whatever the locale
cd "$(dirname "$0")/.."

rounds=${EDIT_LOOP_ROUNDS:-3}
cold=${EDIT_LOOP_COLD:-1}
project=tally-edit-loop-$$
dev=(-f compose.yaml -f compose.dev.yaml)

log() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'edit-loop: %s\n' "$*" >&2; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*load averages*: //'; }
now() { local t; t=$(date +%s.%N); echo "${t%.N}"; } # whole seconds where date has no %N
since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.2f", end - start }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

command -v curl >/dev/null || fail "curl is needed"
docker info >/dev/null 2>&1 || fail "no Docker engine answers (docker info failed)"
version=$(docker compose version --short 2>/dev/null) || fail "docker compose (v2) is not installed"
IFS=. read -r major minor _ <<<"${version#v}"
if ((major < 2 || (major == 2 && minor < 32))); then
    fail "Compose $version: compose.dev.yaml needs 2.32 or later"
fi

free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 10000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    fail "no free port found"
}
port=${EDIT_LOOP_PORT:-$(free_port)}
url=http://127.0.0.1:$port

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-edit-loop.XXXXXX")
watch_pid=
# The page (or a file) through the balancer holds TEXT.
page_shows() { curl -fsS --max-time 5 "$url$1" 2>/dev/null | grep -qF "$2"; }
# wait_for SECONDS PATH TEXT: until the page shows TEXT, while watch runs.
wait_for() {
    local deadline=$((SECONDS + $1))
    until page_shows "$2" "$3"; do
        ((SECONDS < deadline)) || return 1
        kill -0 "$watch_pid" 2>/dev/null || return 1
        sleep 0.1
    done
}
watching() { grep -q "Watch enabled" "$work/watch.log"; }
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$watch_pid" ]]; then
        kill -INT -- "-$watch_pid" 2>/dev/null || true
        wait "$watch_pid" 2>/dev/null || true
    fi
    log "removing project $project and its copy"
    if [[ -f "$work/repo/compose.yaml" ]]; then
        (cd "$work/repo" && docker compose "${dev[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1) || true
    fi
    # The release and dev images, and any a rebuild left behind.
    docker image ls -q --filter "label=com.docker.compose.project=$project" \
        | sort -u | xargs docker image rm -f >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Everything below runs in the copy, under this run's project and port only.
mkdir -p "$work/repo"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' file; do
            if [[ -e "$file" ]]; then printf '%s\0' "$file"; fi
        done \
        | tar -cf - --null -T - | tar -xf - -C "$work/repo"
else
    tar -cf - --exclude=./target --exclude=./.git . | tar -xf - -C "$work/repo"
fi
rm -f "$work/repo"/compose.override.y*ml "$work/repo/.env"
cd "$work/repo"
unset COMPOSE_FILE COMPOSE_PROFILES COMPOSE_ENV_FILES
export COMPOSE_PROJECT_NAME=$project TALLY_PORT=$port

# The page's English tagline: a word a user would change.
text_file=$(grep -rl 'tagline: "A cache and a database' src | head -n 1) \
    || fail "the English tagline is not in src/ any more: update this script"

# ---- 1. the cold first build ----
if [[ "$cold" = 1 ]]; then
    log "1/4 cold first build: docker compose build --no-cache, then up -d --wait (a few minutes)"
    started=$(now)
    docker compose build --no-cache web >"$work/build.log" 2>&1 \
        || { tail -n 30 "$work/build.log" >&2; fail "the build failed"; }
else
    log "1/4 first build, reusing the build cache (EDIT_LOOP_COLD=0)"
    started=$(now)
fi
docker compose up --build -d --wait >"$work/up.log" 2>&1 \
    || { tail -n 30 "$work/up.log" >&2; fail "up --wait failed"; }
first_up=$(since "$started")
first_up_load=$(load)

# ---- 2. watch, the dev build ----
log "2/4 docker compose ${dev[*]} watch, until the page answers"
started=$(now)
set -m # the watch in a process group of its own, so the cleanup stops all of it
docker compose "${dev[@]}" watch </dev/null >"$work/watch.log" 2>&1 &
watch_pid=$!
set +m
deadline=$((SECONDS + 900))
until watching && page_shows / 'id="visits"'; do
    if ((SECONDS > deadline)) || ! kill -0 "$watch_pid" 2>/dev/null; then
        tail -n 30 "$work/watch.log" >&2
        fail "watch did not bring the page up"
    fi
    sleep 0.1
done
watch_up=$(since "$started")
watch_up_load=$(load)

# time_edits EDIT PATH SECONDS: each round, EDIT (a function, given the round
# number) changes a file and prints the text it put in; the time from the
# change until PATH shows that text goes into `times`.
time_edits() {
    local edit=$1 path=$2 limit=$3 round started text
    times=()
    for round in $(seq "$rounds"); do
        started=$(now)
        text=$("$edit" "$round")
        if ! wait_for "$limit" "$path" "$text"; then
            tail -n 30 "$work/watch.log" >&2
            fail "$path never showed \"$text\""
        fi
        times+=("$(since "$started")")
        sleep 2 # the balancer settles on a new replica before the next edit
    done
}

# ---- 3. a word in the Rust code ----
edit_word() {
    local word="edited$1$RANDOM"
    log "3/4 round $1/$rounds: the tagline ends in \"$word\" ($text_file)"
    sed "s/side by side[^\"]*\./side by side, $word./" "$text_file" >"$work/edited"
    cat "$work/edited" >"$text_file"
    echo "$word"
}
time_edits edit_word / 300
words=("${times[@]}")
word_load=$(load)

# ---- 4. a line of the stylesheet ----
edit_stylesheet() {
    local line="/* edit-loop $1 $RANDOM */"
    log "4/4 round $1/$rounds: static/style.css gains $line"
    echo "$line" >>static/style.css
    echo "$line"
}
time_edits edit_stylesheet /static/style.css 60
lines=("${times[@]}")
line_load=$(load)

printf '\nedit loop, %s CPUs (load: 1, 5 and 15 min averages when each step ended)\n' "$(nproc 2>/dev/null || echo '?')"
printf '  first docker compose up --build -d --wait%s: %s s (load %s)\n' \
    "$([[ "$cold" = 1 ]] && echo ', cold' || echo ', build cache reused')" "$first_up" "$first_up_load"
printf '  docker compose watch started (dev build), page answering: %s s (load %s)\n' "$watch_up" "$watch_up_load"
printf '  a word changed in %s, until the page shows it: %s s (rounds: %s; load %s)\n' \
    "$text_file" "$(median "${words[@]}")" "${words[*]}" "$word_load"
printf '  a line added to static/style.css, until it is served: %s s (rounds: %s; load %s)\n' \
    "$(median "${lines[@]}")" "${lines[*]}" "$line_load"
