#!/usr/bin/env bash
# The container stack, run for real: builds the image, starts the stack with
# `docker compose` under a project name and a free port of its own, and checks
# what a user would see (HTTP answers through the balancer, `docker compose ps`,
# `docker inspect`), case by case. It works on a copy of the repository, with a
# .env of its own, so your .env, compose.override.yaml and running stacks are
# never touched. Always removes what it started (`down -v`), also on failure.
#
# The container guides (`guides` below) show only commands this script runs:
# each is run verbatim through `doc_run`, which first finds it in one of the
# guides' ```sh blocks, and the script fails if a guide command was never run.
# A Portuguese guide (NAME.pt-BR.md) must give exactly the commands of its
# English twin (NAME.md), in the same order.
#
#   scripts/stack-test.sh              # needs docker with compose v2, curl, git
#
# Prints measured numbers: build, up -> healthy, requests and failures under
# restarts and scaling, the rolling restart's duration, a one-file rebuild.
set -euo pipefail
# One block, read whole before it runs, so editing this file during a run
# cannot change what the run does.
{

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The guides whose commands this runs; tests/api/docs.rs reads this line.
guides=(docs/containers.md docs/compose.md docs/compose.pt-BR.md)
project=${TALLY_STACK_PROJECT:-tally-stack-$$}
# How many load clients reload the page during restarts and scaling.
clients=4

# ---- output and checks --------------------------------------------------------

failures=()
numbers=()
case_name=
log() { printf '%s\n' "$*"; }
section() { case_name=$1; printf '\n==> %s\n' "$1"; }
pass() { printf '    ok   %s\n' "$1"; }
fail() {
    printf '    FAIL %s\n' "$1" >&2
    failures+=("$case_name: $1")
}
# check DESCRIPTION CONDITION: evaluates the shell condition; a failure is
# recorded and the run goes on, so one run shows every broken case.
check() {
    if eval "$2"; then pass "$1"; else fail "$1"; fi
}
die() {
    printf '\nstack-test: %s\n' "$*" >&2
    exit 1
}
measured() {
    numbers+=("$1")
    printf '    ->   %s\n' "$1"
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- preflight -----------------------------------------------------------------

command -v docker >/dev/null || die "docker is not installed"
command -v curl >/dev/null || die "curl is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed; DOCKER_HOST=${DOCKER_HOST:-unset})"
docker compose version >/dev/null 2>&1 || die "docker compose (v2) is not installed"

# The guide's stack without Compose uses fixed names: none may exist already.
# (An image named tally is kept aside and put back at the end.)
for name in tally-db tally-cache tally-web; do
    ! docker container inspect "$name" >/dev/null 2>&1 ||
        die "a container named $name exists; the guide's plain docker commands, which this runs, would clash with it"
done
! docker network inspect tally >/dev/null 2>&1 || die "a network named tally exists; the guide's plain docker commands would clash with it"
! docker volume inspect tally-pgdata >/dev/null 2>&1 || die "a volume named tally-pgdata exists; the guide's plain docker commands would clash with it"

# A port nothing listens on, for a service to publish: below the kernel's range
# for outgoing connections (a port one of those holds, even closing, cannot be
# bound, yet nothing answers on it), and not one given out already ($1).
free_port() {
    local port low=32768
    if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
        read -r low _ </proc/sys/net/ipv4/ip_local_port_range
    fi
    [ "$low" -gt 12000 ] || low=32768
    for port in $(shuf -i "10000-$((low - 1))" -n 100); do
        [ "$port" != "${1:-}" ] || continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "no free port found"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-stack.XXXXXX")
stopfile=$work/.stop-clients
cleanup() {
    local status=$?
    touch "$stopfile" 2>/dev/null || true
    wait 2>/dev/null || true
    log ""
    log "==> cleaning up ($project)"
    if [ -f "$work/compose.yaml" ]; then
        (cd "$work" && docker compose -p "$project" --profile monitoring down -v --rmi local --remove-orphans --timeout 20 >/dev/null 2>&1) || true
    fi
    if [ -n "${plain_started:-}" ]; then
        docker rm -f tally-web tally-cache tally-db >/dev/null 2>&1 || true
        docker network rm tally >/dev/null 2>&1 || true
        docker volume rm tally-pgdata >/dev/null 2>&1 || true
        docker image rm tally >/dev/null 2>&1 || true
        if [ -n "${saved_image:-}" ]; then
            docker tag "$saved_image" tally && docker image rm "$saved_image" >/dev/null 2>&1 || true
        fi
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The repository as a fresh clone would have it plus your uncommitted edits,
# without what git ignores (.env, target/, secrets/) and your own override.
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$root" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' file; do
            case $file in compose.override.y*ml | docker-compose.override.y*ml) continue ;; esac
            [ -e "$root/$file" ] && printf '%s\0' "$file"
        done |
        tar -C "$root" --null -T - -c | tar -C "$work" -x
else
    tar -C "$root" --exclude=./target --exclude=./.git --exclude=./.env --exclude=./secrets \
        --exclude='./compose.override.y*ml' --exclude='./docker-compose.override.y*ml' -c . |
        tar -C "$work" -x
fi
cd "$work"

# Only this run's settings: variables of yours that compose.yaml reads would change what is tested.
while IFS= read -r name; do unset "$name"; done < <(sed -n 's/^\([A-Z][A-Z0-9_]*\)=.*/\1/p' .env.example)
unset COMPOSE_FILE COMPOSE_PROFILES COMPOSE_ENV_FILES
export COMPOSE_PROJECT_NAME=$project
export TALLY_PORT PROMETHEUS_PORT
TALLY_PORT=$(free_port)
PROMETHEUS_PORT=$(free_port "$TALLY_PORT")
url=http://127.0.0.1:$TALLY_PORT
log "stack-test: project $project, ports $TALLY_PORT (lb) and $PROMETHEUS_PORT (prometheus), copy in $work"

# ---- the guides' commands ---------------------------------------------------------

# guide_commands FILE: every command of the guide's ```sh blocks, NUL-separated:
# comment lines are skipped, and lines are joined until they parse as complete
# shell (a loop, a heredoc, a line continued with a backslash). The block's own
# indentation (inside a list item) is dropped; indentation within a command is kept.
guide_commands() {
    local file=$1 line acc= in_block= indent= errors
    while IFS= read -r line || [ -n "$line" ]; do
        if [[ $line =~ ^([[:space:]]*)\`\`\`sh[[:space:]]*$ ]]; then
            in_block=1 acc= indent=${BASH_REMATCH[1]}
            continue
        fi
        [ -n "$in_block" ] || continue
        if [[ $line =~ ^[[:space:]]*\`\`\`[[:space:]]*$ ]]; then
            [ -z "$acc" ] || { echo "$file: an sh block ends inside a command: $acc" >&2; return 1; }
            in_block=
            continue
        fi
        line=${line#"$indent"}
        if [ -z "$acc" ]; then
            [[ -z ${line//[[:space:]]/} || $line =~ ^[[:space:]]*# ]] && continue
            acc=$line
        else
            acc+=$'\n'$line
        fi
        # Complete when bash parses it without complaint (an open heredoc only
        # warns) and no backslash continues it.
        if [[ $acc != *\\ ]] && errors=$(bash -n -c "$acc" 2>&1) && [ -z "$errors" ]; then
            printf '%s\0' "$acc"
            acc=
        fi
    done <"$file"
    [ -z "$in_block" ] || { echo "$file: an sh block is never closed" >&2; return 1; }
}
# Each guide's commands in $work/.commands.<index in guides>; $guide holds them
# all, each once.
guide=()
declare -A ran=() listed=()
for i in "${!guides[@]}"; do
    guide_commands "${guides[$i]}" >"$work/.commands.$i" || die "cannot read the commands of ${guides[$i]}"
    mapfile -d '' commands <"$work/.commands.$i"
    [ ${#commands[@]} -gt 0 ] || die "${guides[$i]} has no commands in sh blocks"
    for command in "${commands[@]}"; do
        [ -n "${listed[$command]:-}" ] || guide+=("$command")
        listed[$command]=1
    done
done

# A translation gives its English twin's commands, in the same order: only the
# prose and the comments differ.
for i in "${!guides[@]}"; do
    [[ ${guides[$i]} == *.pt-BR.md ]] || continue
    twin=${guides[$i]%.pt-BR.md}.md
    for j in "${!guides[@]}"; do [ "${guides[$j]}" = "$twin" ] && break; done
    [ "${guides[$j]}" = "$twin" ] || die "${guides[$i]} is a translation of $twin, which is not in guides"
    cmp -s "$work/.commands.$i" "$work/.commands.$j" && continue
    mapfile -d '' translated <"$work/.commands.$i"
    mapfile -d '' english <"$work/.commands.$j"
    for n in $(seq 0 $((${#english[@]} > ${#translated[@]} ? ${#english[@]} : ${#translated[@]}))); do
        [ "${english[$n]:-}" = "${translated[$n]:-}" ] || break
    done
    die "${guides[$i]} does not give the commands of $twin in the same order: command $((n + 1)) is
      ${translated[$n]:-(none)}
    there, and in $twin
      ${english[$n]:-(none)}"
done

# in_guide COMMAND: is it one of the guides' commands, verbatim?
in_guide() {
    local command
    for command in "${guide[@]}"; do [ "$command" = "$1" ] && return 0; done
    return 1
}

# doc_run COMMAND (or the command on stdin): runs a command of a guide as a
# user would, in the copy, with this run's project and port. Its output goes to
# $out (and is shown indented). Fails the case if it is not in a guide or
# exits non-zero (unless $doc_may_fail is set: the guide shows it refused, and
# the caller checks the output); returns its exit status. A command still
# running after $doc_timeout seconds (default 900: a first build) is stopped
# and fails.
out=$work/.out
doc_run() {
    local command status started
    if [ $# -gt 0 ]; then command=$1; else command=$(cat); fi
    if ! in_guide "$command"; then
        fail "not in any guide (${guides[*]}): $command"
        return 1
    fi
    ran[$command]=1
    printf '    $ %s\n' "${command//$'\n'/$'\n'      }"
    status=0 started=$(now)
    timeout "${doc_timeout:-900}" bash -c "$command" >"$out" 2>&1 </dev/null || status=$?
    sed 's/^/      /' "$out" | tail -n 25
    printf '      (exit %s, %s s)\n' "$status" "$(since "$started")"
    if [ "$status" -ne 0 ] && [ -z "${doc_may_fail:-}" ]; then
        fail "exit $status: $command"
    fi
    return "$status"
}

# doc_follow COMMAND: a guide command that follows output until interrupted
# (`logs -f`): runs it for a few seconds.
doc_follow() {
    local command=$1 status=0
    if ! in_guide "$command"; then
        fail "not in any guide (${guides[*]}): $command"
        return 0
    fi
    ran[$command]=1
    printf '    $ %s   (for 3 s)\n' "$command"
    timeout 3 bash -c "$command" >"$out" 2>&1 </dev/null || status=$?
    sed 's/^/      /' "$out" | tail -n 10
    if [ "$status" -ne 124 ] && [ "$status" -ne 0 ]; then
        fail "exit $status: $command"
    fi
    return 0
}

# ---- what a user sees --------------------------------------------------------------

compose() { docker compose "$@"; }

# fetch PATH: the HTTP status of GET PATH through the balancer; the body in $body.
body=$work/.body
fetch() {
    : >"$body"
    curl -s -o "$body" -w '%{http_code}' --max-time 10 "$url$1" 2>/dev/null || true
}
# The text of the element with this id in $body: an integer, `unavailable`, a name.
element() {
    tr '\n' ' ' <"$body" | sed -n "s/.*id=\"$1\"[^>]*>[[:space:]]*\([^<[:space:]]*\)[[:space:]]*<.*/\1/p"
}
# A field of the JSON in $body: a number, null, or a string's content.
field() {
    grep -oE "\"$1\"[[:space:]]*:[[:space:]]*(null|-?[0-9]+|\"[^\"]*\")" "$body" | head -n 1 |
        sed -E 's/^[^:]*:[[:space:]]*//; s/^"(.*)"$/\1/'
}

# view: one page view; sets code, visits, access, served.
view() {
    code=$(fetch /)
    visits=$(element visits)
    access=$(element access-total)
    served=$(element served-by)
}

# wait_until SECONDS CONDITION: evaluates the condition every half second until it holds.
wait_until() {
    local started
    started=$(now)
    until eval "$2"; do
        if awk -v a="$started" -v b="$(now)" -v l="$1" 'BEGIN { exit !(b - a > l) }'; then
            return 1
        fi
        sleep 0.5
    done
}

is_number() { [[ $1 =~ ^[0-9]+$ ]]; }

# Containers of a service: ids of the running ones, and how many are healthy.
# (--profile monitoring: prometheus is a service only under that profile.)
running_ids() { compose --profile monitoring ps -q --status running "$1"; }
count_running() { running_ids "$1" | grep -c . || true; }
count_healthy() {
    local id n=0
    for id in $(running_ids "$1"); do
        [ "$(health_of "$id")" = healthy ] && n=$((n + 1))
    done
    echo "$n"
}
health_of() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1" 2>/dev/null || echo missing; }
# exactly N web containers exist, all running and healthy (`up --wait` can exit 0 while one failed).
web_replicas_are() {
    local all
    all=$(compose ps -aq web | grep -c . || true)
    [ "$all" -eq "$1" ] && [ "$(count_running web)" -eq "$1" ] && [ "$(count_healthy web)" -eq "$1" ]
}
hostnames_of_web() {
    local id
    for id in $(running_ids web); do docker inspect -f '{{.Config.Hostname}}' "$id"; done | sort
}

# served_by_walk N: the distinct replicas that answered N pages, sorted.
served_by_walk() {
    local i
    for i in $(seq "$1"); do
        fetch /api/stats >/dev/null
        field served_by
        echo
    done | grep . | sort -u
}

# stats: reads /api/stats into s_visits and s_access.
stats() {
    local status
    status=$(fetch /api/stats)
    s_visits=$(field visits)
    s_access=$(field access_total)
    [ "$status" = 200 ]
}

# ---- load: clients that reload the page and record every answer -----------------

# One client: GET / until the stop file appears; one line per request:
# status, visits, access total, replica (`-` where the page had none).
client() {
    local answer status v a r
    while [ ! -e "$stopfile" ]; do
        answer=$(curl -s -w '\n%{http_code}' --max-time 15 "$url/" 2>/dev/null) || true
        status=${answer##*$'\n'}
        v=- a=- r=-
        [[ $answer =~ id=\"visits\"[^\>]*\>[[:space:]]*([^\<[:space:]]*) ]] && v=${BASH_REMATCH[1]}
        [[ $answer =~ id=\"access-total\"[^\>]*\>[[:space:]]*([^\<[:space:]]*) ]] && a=${BASH_REMATCH[1]}
        [[ $answer =~ id=\"served-by\"[^\>]*\>[[:space:]]*([^\<[:space:]]*) ]] && r=${BASH_REMATCH[1]}
        echo "${status:-000} ${v:--} ${a:--} ${r:--}" >>"$1"
    done
}

# load_mark: remembers where each client's record ends now.
load_mark() {
    local i
    for i in $(seq "$clients"); do
        mark[$i]=$(grep -c . "$work/.load.$i" 2>/dev/null || true)
    done
}
# served_since_mark: the distinct replicas that answered the clients' pages since load_mark, sorted.
served_since_mark() {
    local i
    for i in $(seq "$clients"); do
        tail -n +"$((${mark[$i]:-0} + 1))" "$work/.load.$i" 2>/dev/null
    done | awk '$1 == 200 && $4 != "-" { print $4 }' | sort -u
}
declare -A mark=()

load_start() {
    load_name=$1
    rm -f "$stopfile" "$work"/.load.*
    stats || true
    load_visits0=$s_visits load_access0=$s_access
    local i
    for i in $(seq "$clients"); do
        client "$work/.load.$i" &
    done
    load_started=$(now)
    sleep 2
}

# Stops the clients, then checks: every request answered 200 with both numbers,
# and the counter and the access total rose by exactly the pages answered.
load_stop() {
    sleep 2
    touch "$stopfile"
    wait
    local seconds total ok bad degraded
    seconds=$(since "$load_started")
    cat "$work"/.load.* >"$work/.load"
    total=$(grep -c . "$work/.load" || true)
    ok=$(grep -c '^200 ' "$work/.load" || true)
    bad=$((total - ok))
    degraded=$(grep '^200 ' "$work/.load" | grep -c unavailable || true)
    measured "$load_name: $total requests in ${seconds} s from $clients clients, $bad failed, $degraded degraded"
    if [ "$bad" -gt 0 ]; then
        grep -v '^200 ' "$work/.load" | cut -d' ' -f1 | sort | uniq -c | sed 's/^/      status /' >&2
    fi
    check "$load_name: every request answered 200" '[ "$bad" -eq 0 ]'
    check "$load_name: every page showed both numbers" '[ "$degraded" -eq 0 ]'

    # /api/stats may lag views of other replicas by up to 2 s.
    sleep 3
    if stats && is_number "$s_visits" && is_number "$s_access" && is_number "${load_visits0:-}" && is_number "${load_access0:-}"; then
        check "$load_name: the counter rose by the $ok pages answered ($load_visits0 -> $s_visits)" \
            '[ $((s_visits - load_visits0)) -eq "$ok" ]'
        check "$load_name: the access total rose by the $ok pages answered ($load_access0 -> $s_access)" \
            '[ $((s_access - load_access0)) -eq "$ok" ]'

    else
        fail "$load_name: /api/stats has no numbers (before: ${load_visits0:-?}/${load_access0:-?}, after: ${s_visits:-?}/${s_access:-?})"
    fi
}

# ================================================================================
# The cases
# ================================================================================

# set_env LINE: puts LINE (NAME=value, as a user types it) in .env in place of NAME's line.
set_env() {
    grep -v "^${1%%=*}=" .env >.env.new || true
    printf '%s\n' "$1" >>.env.new
    mv .env.new .env
    printf '      .env: %s\n' "$1"
}
# env_of SERVICE: the environment of its running containers, as docker inspect shows it.
env_of() {
    local ids
    ids=$(running_ids "$1")
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086
    docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' $ids
}
# secret_mode SERVICE: the mode of /run/secrets/db_password in its first container (ls -l style).
secret_mode() {
    compose cp "$1:/run/secrets/db_password" - 2>/dev/null | tar -tvf - 2>/dev/null | awk '{ print $1; exit }' || true
}
counting_again() { view && is_number "$visits"; }
logging_again() { view && is_number "$access"; }
# walks_all N: N requests through the balancer are answered by exactly the running replicas.
walks_all() { [ "$(served_by_walk "$1")" = "$(hostnames_of_web)" ]; }
stack_is_up() { [ "$(count_running web)" -ge 1 ] && [ "$(count_running lb)" -eq 1 ]; }
# restarted_healthy ID: Docker restarted the container at least once, and it is healthy.
restarted_healthy() {
    [ "$(docker inspect -f '{{.RestartCount}}' "$1" 2>/dev/null || echo 0)" -ge 1 ] && [ "$(health_of "$1")" = healthy ]
}
# started_at ID: when the container last started, in seconds since the epoch.
started_at() { date -d "$(docker inspect -f '{{.State.StartedAt}}' "$1")" +%s.%N; }
# image_of SERVICE: the repository `docker compose images` (in $out) shows for its first container.
image_of() { tr -d '\r' <"$out" | awk -v c="$project-$1-1" '$1 == c { print $2 }'; }
# psql_row N: row N of the table psql printed to $out, its cells separated by single spaces.
psql_row() {
    tr -d '\r' <"$out" | awk -F'|' -v n="$1" '
        /^-+(\+-+)*$/ { body = 1; next }
        body && /^\(/ { exit }
        body && ++row == n { for (i = 1; i <= NF; i++) { gsub(/^ +| +$/, "", $i); printf "%s%s", $i, (i < NF ? " " : "\n") } }'
}

section "build the image (once: every later step reuses the build cache)"
started=$(now)
compose build >"$out" 2>&1 || { tail -n 30 "$out"; die "docker compose build failed"; }
measured "build: $(since "$started") s"

section "no .env: the stack runs on the development password"
compose up -d --wait >"$out" 2>&1 || true
sed 's/^/      /' "$out" | tail -n 3
view
check "the page counts (got $code, visits $visits, access $access)" '[ "$code" = 200 ] && [ "$visits" = 1 ] && [ "$access" = 1 ]'
compose down -v >/dev/null 2>&1 || true

section "configure: .env with a password full of symbols"
doc_run 'cp .env.example .env'
password1='p@ss:w/rd#1%'
set_env "POSTGRES_PASSWORD='$password1'"

section "up --wait"
started=$(now)
doc_run 'docker compose up --build -d --wait' || true
measured "up -> healthy (fresh volume, image already built): $(since "$started") s"
doc_run 'docker compose ps' || true
check "one web replica, running and healthy" 'web_replicas_are 1'
doc_run 'docker compose images' || true
check "web runs the image built here, $project-web (got $(image_of web))" '[ "$(image_of web)" = "$project-web" ]'
check "cache, db and lb run the pulled images redis, postgres, haproxy (got $(image_of cache) $(image_of db) $(image_of lb))" \
    '[ "$(image_of cache) $(image_of db) $(image_of lb)" = "redis postgres haproxy" ]'
for service in lb db cache; do
    check "$service running and healthy" '[ "$(count_healthy "$service")" -eq 1 ]'
done
stack_is_up || {
    compose logs --tail 30 >&2 || true
    die "the stack did not come up; the remaining cases need it"
}

mounts=$(docker inspect -f '{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}' $(running_ids cache) 2>/dev/null || true)
check "cache keeps nothing on disk: no volume mounted (${mounts:-none})" '[[ $mounts != *volume:* ]]'

section "only the balancer publishes a port, on loopback"
doc_run 'docker compose port lb 8000' || true
published=$(tr -d '\r' <"$out")
check "lb publishes 127.0.0.1:$TALLY_PORT (got ${published:-nothing})" '[ "$published" = "127.0.0.1:$TALLY_PORT" ]'
for service in web db cache; do
    ports=$(for id in $(running_ids "$service"); do
        docker inspect -f '{{range $p, $b := .NetworkSettings.Ports}}{{if $b}}{{$p}} {{end}}{{end}}' "$id"
    done)
    check "$service publishes nothing${ports:+ (publishes $ports)}" '[ -z "$ports" ]'
done

section "what docker inspect shows: restarts, log rotation, web's user and grace period"
for service in lb web db cache; do
    id=$(running_ids "$service" | head -n 1)
    [ -n "$id" ] || { fail "$service is not running"; continue; }
    policy=$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$id")
    check "$service restarts unless stopped (restart policy: $policy)" '[ "$policy" = unless-stopped ]'
    logs=$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' "$id")
    check "$service rotates its log ($logs)" '[ "$logs" = "json-file 10m 3" ]'
done
web_id=$(running_ids web | head -n 1)
if [ -n "$web_id" ]; then
    inspected=$(docker inspect -f 'user={{.Config.User}} caps={{.HostConfig.CapDrop}} stop={{.Config.StopTimeout}}' "$web_id")
    check "web runs as uid 65532 with every capability dropped and 15 s to stop ($inspected)" \
        '[[ $inspected == *user=65532* && $inspected == *caps=\[ALL\]* && $inspected == *stop=15 ]]'
fi

section "lb's root is read-only"
# Checked by what it prints: some Compose builds exit 0 whatever the command did.
doc_may_fail=1 doc_run 'docker compose exec lb touch /tmp/probe' || true
check "touch is refused: Read-only file system" 'grep -q "Read-only file system" "$out"'

section "counts through the balancer"
for expected in 1 2 3; do
    view
    check "page $expected: 200, visits $expected, access total $expected (got $code, $visits, $access)" \
        '[ "$code" = 200 ] && [ "$visits" = "$expected" ] && [ "$access" = "$expected" ]'
done
check "the page names the replica that served it (served-by: ${served:-none})" \
    '[ -n "$served" ] && [ "$served" = "$(hostnames_of_web)" ]'
check "/healthz answers 200" '[ "$(fetch /healthz)" = 200 ]'
check "/readyz answers 200" '[ "$(fetch /readyz)" = 200 ]'
doc_run 'docker compose exec web /app/tally healthcheck' || true
check "tally healthcheck exits 0 in web" 'docker exec "$(running_ids web | head -n 1)" /app/tally healthcheck'

section "the password: a secret, in no container's environment"
for service in web db; do
    env=$(env_of "$service")
    check "$service: the password is not in docker inspect" '[ -n "$env" ] && [[ $env != *"$password1"* ]]'
    mode=$(secret_mode "$service")
    check "$service: /run/secrets/db_password is readable by every user (mode ${mode:-missing})" \
        '[[ $mode =~ ^-r..r..r.. ]]'
done
doc_run 'docker compose exec db env | grep POSTGRES' || true
check "db's environment names the secret's file and holds no password" \
    'grep -q "^POSTGRES_PASSWORD_FILE=/run/secrets/db_password" "$out" && ! grep -q "^POSTGRES_PASSWORD=" "$out" && ! grep -qF "$password1" "$out"'
# docker exec, not docker compose exec: some Compose builds exit 0 whatever the command did.
db_id=$(running_ids db | head -n 1)
check "db's postgres user reads the secret" 'docker exec -u postgres "$db_id" test -r /run/secrets/db_password'
check "uid 65532 (web's user) reads the secret, tried in db (web has no shell)" \
    'docker exec -u 65532 "$db_id" test -r /run/secrets/db_password'
check "and the check can fail: uid 65532 cannot read db's data" \
    '! docker exec -u 65532 "$db_id" test -r /var/lib/postgresql/18/docker/PG_VERSION'

section "restart policy: Redis made to exit is started again by Docker"
view
access_before=$access
cache_id=$(running_ids cache | head -n 1)
doc_run 'docker compose exec cache redis-cli shutdown' || true
check "the same cache container is restarted and healthy within 15 s" 'wait_until 15 "restarted_healthy $cache_id"'
doc_run 'docker compose ps cache' || true
check "docker compose ps shows cache Up" 'grep -q " Up " "$out"'
check "counting resumes within 10 s" 'wait_until 10 counting_again'
check "visits start again from 1 (got $visits)" '[ "$visits" = 1 ]'
check "the access log carried on ($access_before -> $access)" \
    'is_number "$access" && is_number "$access_before" && [ "$access" -gt "$access_before" ]'

section "stop the cache: the page degrades, web stays healthy"
view
access_before=$access
doc_run 'docker compose stop cache' || true
view
check "page 200 with visits unavailable (got $code, visits $visits)" '[ "$code" = 200 ] && [ "$visits" = unavailable ]'
check "the access log still counts ($access_before -> $access)" \
    'is_number "$access" && is_number "$access_before" && [ "$access" -eq $((access_before + 1)) ]'
check "/readyz still answers 200" '[ "$(fetch /readyz)" = 200 ]'
# Several healthcheck intervals (2 s), more than retries x interval.
sleep 10
web_id=$(running_ids web | head -n 1)
check "web still healthy after 10 s (health: $(health_of "$web_id"))" '[ "$(health_of "$web_id")" = healthy ]'
check "/readyz still answers 200 after 10 s" '[ "$(fetch /readyz)" = 200 ]'
view
check "the page still answers 200 (got $code)" '[ "$code" = 200 ]'
doc_run 'docker compose start cache' || true
check "counting resumes within 10 s of the cache being back" 'wait_until 10 counting_again'
log "    visits $visits, access total $access"

section "stop the database: the page degrades, web stays healthy"
view
visits_before=$visits
doc_run 'docker compose stop db' || true
view
check "page 200 with access total unavailable (got $code, access $access)" '[ "$code" = 200 ] && [ "$access" = unavailable ]'
check "the counter still counts ($visits_before -> $visits)" \
    'is_number "$visits" && is_number "$visits_before" && [ "$visits" -eq $((visits_before + 1)) ]'
sleep 10
web_id=$(running_ids web | head -n 1)
check "web still healthy after 10 s (health: $(health_of "$web_id"))" '[ "$(health_of "$web_id")" = healthy ]'
check "/readyz still answers 200 after 10 s" '[ "$(fetch /readyz)" = 200 ]'
doc_run 'docker compose start db' || true
check "the access log is used again within 15 s of the database being back" 'wait_until 15 logging_again'
log "    visits $visits, access total $access"

section "stall the cache: pages wait for the store timeout, no replica is taken out"
doc_run 'docker compose pause cache' || true
started=$(now)
view
seconds=$(since "$started")
check "page 200 with visits unavailable, in ${seconds} s (got $code, visits $visits)" \
    '[ "$code" = 200 ] && [ "$visits" = unavailable ] && awk -v s="$seconds" "BEGIN { exit !(s < 3.5) }"'
# More than two of lb's readiness checks (one a second), each waiting on the stalled store.
sleep 6
view
check "still served through the balancer after 6 s (got $code, visits $visits)" '[ "$code" = 200 ]'
check "/readyz still answers 200" '[ "$(fetch /readyz)" = 200 ]'
web_id=$(running_ids web | head -n 1)
check "web still healthy (health: $(health_of "$web_id"))" '[ "$(health_of "$web_id")" = healthy ]'
doc_run 'docker compose unpause cache' || true
check "counting resumes within 10 s of the cache answering again" 'wait_until 10 counting_again'

section "logs: one line per request in each, with one id; no health or readiness lines"
doc_follow 'docker compose logs -f web'
probes=$(compose logs --no-log-prefix web 2>&1 | grep -cE '/(healthz|readyz)' || true)
check "web's log has no /healthz or /readyz line (found $probes)" '[ "$probes" -eq 0 ]'
doc_run 'docker compose logs lb' || true
# lb asks each replica's /readyz every second and its container healthcheck asks
# /lb-health every 2 s, for over a minute by now: none of those may show. The
# few /readyz and /healthz lines there are this script's own requests.
lb_health=$(grep -c 'GET /lb-health' "$out" || true)
lb_readyz=$(grep -c 'GET /readyz' "$out" || true)
check "lb's log has no health check line (/lb-health: $lb_health, /readyz: $lb_readyz, this script asked 5)" \
    '[ "$lb_health" -eq 0 ] && [ "$lb_readyz" -le 5 ]'
lb_views=$(grep -cE 'req=[0-9a-f]{32} GET / 200 web[0-9]+ ' "$out" || true)
check "lb's log has a line for each page view, with its id and replica (found $lb_views)" '[ "$lb_views" -ge 3 ]'
doc_run <<'CMD' || true
id=$(curl -s -o /dev/null -w '%header{x-request-id}' "http://127.0.0.1:${TALLY_PORT:-8000}/") &&
  docker compose logs lb web | grep "$id"
CMD
id=$(grep -oE 'req=[0-9a-f]{32}' "$out" | head -n 1)
check "one view's id is in exactly one lb line and one web line (${id:-no id})" \
    '[ -n "$id" ] && [ "$(grep -c "^lb-1 .*$id GET / 200 " "$out")" -eq 1 ] && [ "$(grep -c "^web-1 .*$id GET / 200 " "$out")" -eq 1 ]'
# A client's own id is not trusted: the balancer replaces it.
given=$(curl -s -o /dev/null -w '%header{x-request-id}' -H 'X-Request-Id: chosen-by-the-client' "$url/api/stats" || true)
check "the balancer replaces a client's X-Request-Id (answered ${given:-none})" '[[ $given =~ ^[0-9a-f]{32}$ ]]'

section "metrics: not through the balancer, however spelled"
for path in /metrics /metrics/ //metrics /%6detrics /METRICS '/metrics?x=1'; do
    status=$(curl -s -o /dev/null -w '%{http_code} %header{x-request-id}' "$url$path" || true)
    check "GET $path through lb: 404, with a request id (got $status)" '[[ $status =~ ^404\ [0-9a-f]{32}$ ]]'
done
check "web still serves /metrics on the private network (asked from inside lb)" \
    'docker exec "$(running_ids lb)" bash -c "exec 3<>/dev/tcp/web/8000 && printf \"GET /metrics HTTP/1.0\r\n\r\n\" >&3 && grep -q ^tally_views_total <&3"'

section "down, then up: the access log survives"
view
access_before=$access
doc_run 'docker compose down' || true
check "no container left" '[ "$(compose ps -aq | grep -c . || true)" -eq 0 ]'
started=$(now)
doc_run 'docker compose up -d --wait' || true
measured "up -> healthy (existing volume): $(since "$started") s"
view
check "the access total carries on ($access_before -> $access)" \
    'is_number "$access" && is_number "$access_before" && [ "$access" -eq $((access_before + 1)) ]'
check "the counter starts again at 1 (got $visits)" '[ "$visits" = 1 ]'

section "depends_on: web started alone brings up its stores first"
doc_run 'docker compose down' || true
doc_run 'docker compose up -d --wait web' || true
doc_run 'docker compose ps' || true
check "cache and db running and healthy" '[ "$(count_healthy cache)" -eq 1 ] && [ "$(count_healthy db)" -eq 1 ]'
check "one web replica, running and healthy" 'web_replicas_are 1'
check "lb was not started" '[ "$(compose ps -aq lb | grep -c . || true)" -eq 0 ]'
web_id=$(running_ids web | head -n 1)
for service in cache db; do
    # A store is healthy at its first check, an interval (1 s) after it started.
    gap=$(awk -v w="$(started_at "$web_id")" -v s="$(started_at "$(running_ids "$service" | head -n 1)")" 'BEGIN { printf "%.1f", w - s }')
    check "web started after $service was healthy, $gap s after $service started" 'awk -v g="$gap" "BEGIN { exit !(g >= 0.9) }"'
done
doc_run 'docker compose up -d --wait' || true
check "the whole stack is up again" 'stack_is_up && web_replicas_are 1'

section "stop_grace_period: web stops by itself long before it"
started=$(now)
doc_run 'docker compose restart web' || true
seconds=$(since "$started")
check "web restarted in ${seconds} s, well inside its 15 s" 'awk -v s="$seconds" "BEGIN { exit !(s < 10) }"'
doc_run "docker compose logs web | grep -E 'SIGTERM|draining|closing|stopped'" || true
check "the log shows SIGTERM, draining, closing, stopped" \
    'grep -q SIGTERM "$out" && grep -q draining "$out" && grep -q closing "$out" && grep -q "] stopped" "$out"'
check "the page counts again within 15 s" 'wait_until 15 "counting_again && logging_again"'

section "change the password: spaces and quotes"
password2="it's a \"pass word\""
# As a user types it in .env: in double quotes, with the inner ones escaped.
set_env $'POSTGRES_PASSWORD="it\'s a \\"pass word\\""'
doc_run 'docker compose up -d --wait --force-recreate db' || true
doc_run <<'CMD' || true
docker compose exec -T db psql -U tally -d tally <<'SQL'
\set password `cat /run/secrets/db_password`
ALTER ROLE tally PASSWORD :'password';
SQL
CMD
doc_run 'docker compose up -d --wait --force-recreate web' || true
check "web running and healthy with the new password" 'web_replicas_are 1'
view
check "the page counts with the new password (got $code, access $access)" '[ "$code" = 200 ] && is_number "$access"'
for service in web db; do
    env=$(env_of "$service")
    check "$service: the new password is not in docker inspect" '[ -n "$env" ] && [[ $env != *"$password2"* ]]'
done

section "down -v: the access log is gone"
doc_run 'docker compose down -v' || true
check "the database volume is removed" \
    '[ -z "$(docker volume ls -q --filter "label=com.docker.compose.project=$project")" ]'
doc_run 'docker compose up -d --wait' || true
view
check "the access total starts again at 1 (got $access)" '[ "$access" = 1 ]'

section "look inside: the counter in Redis, the access log in PostgreSQL"
for i in 1 2 3 4 5; do view; done
check "page 200 with both numbers (got $code, visits $visits, access $access)" \
    '[ "$code" = 200 ] && is_number "$visits" && is_number "$access"'
doc_run 'docker compose exec cache redis-cli --scan' || true
keys=$(tr -d '\r' <"$out" | sort)
redis_epoch=$(sed -n 's/^tally:access_total://p' <<<"$keys")
check "Redis holds tally:visits and one cached access total ($(echo $keys))" \
    '[ "$(grep -c . <<<"$keys")" -eq 2 ] && grep -qx "tally:visits" <<<"$keys" && [ -n "$redis_epoch" ]'
doc_run 'docker compose exec cache redis-cli GET tally:visits' || true
redis_visits=$(tr -d '\r"' <"$out")
check "redis-cli GET prints the page's visits ($visits, got $redis_visits)" '[ "$redis_visits" = "$visits" ]'
doc_run "docker compose exec db psql -U tally -d tally -c 'SELECT id, accessed_at, path FROM access_log ORDER BY id DESC LIMIT 5'" || true
newest=$(psql_row 1)
check "psql shows the last 5 rows, the newest numbered as the page's access total ($access, got ${newest%% *})" \
    'grep -q "(5 rows)" "$out" && [ "${newest%% *}" = "$access" ] && [ "${newest##* }" = / ]'
doc_run "docker compose exec db psql -U tally -d tally -c 'SELECT total, (SELECT count(*) FROM access_log) AS rows, epoch FROM access_totals'" || true
read -r pg_total pg_rows pg_epoch <<<"$(psql_row 1)"
check "psql's total, count(*) and the page's access total agree (got ${pg_total:-?}, ${pg_rows:-?}, $access)" \
    '[ "${pg_total:-}" = "$access" ] && [ "${pg_rows:-}" = "$access" ]'
check "the epoch in PostgreSQL is the one in the Redis key (${pg_epoch:-?})" '[ -n "${pg_epoch:-}" ] && [ "$pg_epoch" = "$redis_epoch" ]'

section "start over in one line"
doc_run 'docker compose down -v && docker compose up --build -d --wait' || true
check "one web replica, running and healthy" 'web_replicas_are 1'
view
check "page 200, visits 1, access total 1 (got $code, $visits, $access)" \
    '[ "$code" = 200 ] && [ "$visits" = 1 ] && [ "$access" = 1 ]'

section "scale out to 3: every replica serves"
started=$(now)
doc_run 'docker compose up -d --wait --scale web=3' || true
measured "scale 1 -> 3, healthy: $(since "$started") s"
check "exactly 3 web replicas, running and healthy" 'web_replicas_are 3'
doc_run 'docker compose ps web' || true
check "all 3 replicas get traffic within 10 s" 'wait_until 10 "walks_all 9"'
doc_run 'for i in 1 2 3 4 5 6; do curl -s "http://127.0.0.1:${TALLY_PORT:-8000}/api/stats"; echo; done' || true
walked=$(sed -n 's/.*"served_by"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$out" | sort -u)
check "six reloads walk all 3 replicas ($(echo $walked))" '[ "$walked" = "$(hostnames_of_web)" ]'
doc_run 'docker compose exec cache getent hosts web' || true
addresses=$(tr -d '\r' <"$out" | awk '$2 == "web" { print $1 }' | sort)
replica_addresses=$(for id in $(running_ids web); do
    docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id"
done | sort)
check "the name web has the 3 replicas' addresses ($(echo $addresses))" \
    '[ "$(grep -c . <<<"$addresses")" -eq 3 ] && [ "$addresses" = "$replica_addresses" ]'

section "the README's three reloads, as docker compose logs web shows them"
for i in 1 2 3; do fetch / >/dev/null; done
# A line's shape: what changes from run to run (times, ids, numbers, host names) taken out.
shape() { sed -E 's/req=[0-9a-f]{32}/req=ID/; s/ as [0-9a-f]{12}$/ as HOST/; s/[0-9]+(\.[0-9]+)?/#/g'; }
compose logs --no-color web 2>&1 | shape | sort -u >"$work/.shapes"
sample=$(sed -n '/<!-- doc: three-reloads -->/,/^```$/p' README.md | sed '1,2d;$d')
missing=$(printf '%s\n' "$sample" | shape | grep -vxF -f "$work/.shapes" || true)
check "README's log sample has lines (got $(printf '%s\n' "$sample" | grep -c .))" '[ "$(printf "%s\n" "$sample" | grep -c "GET / 200")" -eq 3 ]'
check "every line of README's sample is a line Tally writes here${missing:+ (not written: $missing)}" '[ -z "$missing" ]'
check "README.pt-BR.md shows the same log" \
    '[ "$(sed -n "/<!-- doc: three-reloads -->/,/^\`\`\`\$/p" README.pt-BR.md)" = "$(sed -n "/<!-- doc: three-reloads -->/,/^\`\`\`\$/p" README.md)" ]'

section "monitoring: Prometheus finds every replica through DNS"
started=$(now)
doc_run 'docker compose --profile monitoring up -d --wait --scale web=3' || true
measured "monitoring profile up, healthy: $(since "$started") s"
check "prometheus running and healthy" '[ "$(count_healthy prometheus)" -eq 1 ]'
check "still exactly 3 web replicas" 'web_replicas_are 3'
published=$(compose --profile monitoring port prometheus 9090 2>/dev/null || true)
check "prometheus publishes 127.0.0.1:$PROMETHEUS_PORT only (got ${published:-nothing})" '[ "$published" = "127.0.0.1:$PROMETHEUS_PORT" ]'
prom_id=$(running_ids prometheus)
inspected=$(docker inspect -f 'ro={{.HostConfig.ReadonlyRootfs}} caps={{.HostConfig.CapDrop}}' "$prom_id" 2>/dev/null || true)
check "prometheus: read-only root, every capability dropped ($inspected)" '[ "$inspected" = "ro=true caps=[ALL]" ]'
# The web replicas' addresses, as Docker has them, sorted: Prometheus's targets must be these.
web_targets() {
    local id
    for id in $(running_ids web); do
        docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}:8000{{end}}' "$id"
    done | sort
}
# Targets that are up, from the guide's command's output in $out.
up_targets() {
    tr '{' '\n' <"$out" | grep '"health":"up"' | grep -oE '"instance":"[^"]*"' | cut -d'"' -f4 | sort -u
}
targets_are_web() { doc_run 'curl -s "http://127.0.0.1:${PROMETHEUS_PORT:-9090}/api/v1/targets?state=active"' >/dev/null && [ "$(up_targets)" = "$(web_targets)" ]; }
check "Prometheus scrapes each of the 3 replicas, all up, within 30 s" 'wait_until 30 targets_are_web'
log "    targets up: $(up_targets | tr '\n' ' ')"
# The guide's queries, run as its UI would run them, after a little traffic.
for i in $(seq 30); do fetch / >/dev/null; done
sleep 12
for i in $(seq 30); do fetch / >/dev/null; done
sleep 6
mapfile -t queries < <(awk '/^```promql$/ { inside = 1; next } /^```$/ { inside = 0 } inside' docs/containers.md)
check "the guide gives three queries (found ${#queries[@]})" '[ "${#queries[@]}" -eq 3 ]'
for query in "${queries[@]}"; do
    answer=$(curl -s --max-time 10 --data-urlencode "query=$query" "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query" || true)
    series=$(grep -oE '"value":\[[0-9.]+,"[0-9.e+-]+"\]' <<<"$answer" | grep -c . || true)
    check "query answers with numbers ($series series): $query" '[[ $answer == *\"status\":\"success\"* ]] && [ "$series" -ge 1 ]'
done
per_replica=$(curl -s --data-urlencode "query=${queries[0]:-}" "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query" | grep -oE '"instance":"[^"]*"' | cut -d'"' -f4 | sort)
check "views per second has one series per replica ($(echo $per_replica))" '[ "$per_replica" = "$(web_targets)" ]'
doc_run 'docker compose --profile monitoring down' || true
check "down with the profile leaves no container (found $(compose --profile monitoring ps -aq | grep -c . || true))" \
    '[ "$(compose --profile monitoring ps -aq | grep -c . || true)" -eq 0 ]'
check "and no network" '[ -z "$(docker network ls -q --filter "label=com.docker.compose.project=$project")" ]'
# Back to three replicas for the cases under load (the volume kept the log).
compose up -d --wait --scale web=3 >"$out" 2>&1 || true
check "3 web replicas running and healthy again" 'web_replicas_are 3'

section "under load: each replica stopped and started in turn"
load_start "stop/start each replica"
for id in $(running_ids web); do
    name=$(docker inspect -f '{{.Name}}' "$id")
    log "    docker stop ${name#/} && docker start ${name#/}"
    docker stop "$id" >/dev/null
    docker start "$id" >/dev/null
    wait_until 30 '[ "$(health_of "$id")" = healthy ]' || fail "${name#/} not healthy 30 s after docker start"
    sleep 2
done
load_stop

section "under load: the guide's rolling restart"
load_start "rolling restart"
started=$(now)
doc_timeout=180 doc_run <<'CMD' || true
for id in $(docker compose ps -q web); do
  docker restart "$id"
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do sleep 1; done
  sleep 2
done
CMD
measured "rolling restart of 3 replicas: $(since "$started") s"
load_stop
check "3 web replicas running and healthy after the rolling restart" 'web_replicas_are 3'

section "under load: scale 3 -> 5 -> 1"
load_start "scale 3 -> 5 -> 1"
started=$(now)
doc_run 'docker compose up -d --wait --scale web=5' || true
measured "scale 3 -> 5, healthy: $(since "$started") s"
check "exactly 5 web replicas, running and healthy" 'web_replicas_are 5'
# From the clients' own record: every replica answered some of their pages
# in the 10 s after the scale-up returned.
load_mark
sleep 10
check "the 2 new replicas get traffic within 10 s (served: $(served_since_mark | grep -c .) of 5)" \
    '[ "$(served_since_mark)" = "$(hostnames_of_web)" ]'
started=$(now)
doc_run 'docker compose up -d --wait --scale web=1' || true
measured "scale 5 -> 1: $(since "$started") s"
check "exactly 1 web replica, running and healthy" 'web_replicas_are 1'
load_mark
sleep 5
check "removed replicas get no traffic: every page since came from the one left ($(served_since_mark | tr '\n' ' '))" \
    '[ "$(served_since_mark)" = "$(hostnames_of_web)" ]'
load_stop

section "the balancer's config, checked by HAProxy itself"
doc_run 'docker compose exec lb haproxy -c -f /usr/local/etc/haproxy/haproxy.cfg' || true

section "opening the port to the network (checked with docker compose config, not applied)"
doc_run <<'CMD' || true
cat > compose.override.yaml <<'YAML'
services:
  lb:
    ports: !override
      - "${TALLY_PORT:-8000}:8000"
YAML
CMD
doc_run 'docker compose config' || true
check "lb is published on port $TALLY_PORT of every interface" \
    'grep -qE "published: \"?$TALLY_PORT\"?$" "$out" && ! grep -q "host_ip: 127.0.0.1" "$out"'
rm -f compose.override.yaml

section "down, then the same stack without Compose"
doc_run 'docker compose down' || true
plain_started=1
if docker image inspect tally >/dev/null 2>&1; then
    saved_image=tally:saved-by-$project
    docker tag tally "$saved_image"
fi
doc_run 'docker build -t tally .' || true
doc_run 'install -d -m 700 secrets' || true
doc_run "head -c 24 /dev/urandom | base64 | tr -d '\\n' > secrets/db_password" || true
doc_run 'chmod 444 secrets/db_password' || true
for command in "${guide[@]}"; do
    # The guide's plain docker commands, in its order: network, volume, the three runs.
    case $command in
    'docker network create tally' | 'docker volume create tally-pgdata' | 'docker run -d --name tally-'*)
        doc_run "$command" || true
        ;;
    esac
done
check "tally-web healthy within 60 s" 'wait_until 60 "[ \"\$(health_of tally-web)\" = healthy ]"'
view
check "page 200, visits 1, access total 1 (got $code, $visits, $access)" \
    '[ "$code" = 200 ] && [ "$visits" = 1 ] && [ "$access" = 1 ]'
env=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' tally-web tally-db 2>/dev/null || true)
check "the password is in neither container's environment" '[ -n "$env" ] && [[ $env != *"$(cat secrets/db_password)"* ]]'
doc_run 'docker ps --filter name=tally-' || true
doc_follow 'docker logs -f tally-web'
doc_run 'docker rm -f tally-web tally-cache tally-db' || true
doc_run 'docker network rm tally' || true
doc_run 'docker volume rm tally-pgdata' || true

section "rebuild after editing one .rs file"
echo "// stack-test: a one-line edit, $project at $(date +%s%N)" >>src/main.rs
started=$(now)
compose build web >"$out" 2>&1 || fail "docker compose build web failed after a one-line edit"
measured "rebuild after a one-line .rs edit: $(since "$started") s"

section "every command of the guides was run"
for i in "${!guides[@]}"; do
    mapfile -d '' commands <"$work/.commands.$i"
    never=0
    for command in "${commands[@]}"; do
        [ -n "${ran[$command]:-}" ] || { fail "never run (${guides[$i]}): $command"; never=$((never + 1)); }
    done
    [ "$never" -gt 0 ] || pass "all ${#commands[@]} commands of ${guides[$i]}"
done

# ---- summary --------------------------------------------------------------------

printf '\n==> measured\n'
printf '    %s\n' "${numbers[@]}"
if [ ${#failures[@]} -gt 0 ]; then
    printf '\n==> %d check(s) failed\n' "${#failures[@]}" >&2
    printf '    %s\n' "${failures[@]}" >&2
    exit 1
fi
printf '\n==> stack test passed\n'

exit 0
}
