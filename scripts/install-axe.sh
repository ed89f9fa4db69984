#!/usr/bin/env bash
# Installs axe-core (the accessibility checker the browser test injects into the
# page) into a cache directory, once, and prints the path of axe.min.js.
#
#   scripts/install-axe.sh            # -> $HOME/.cache/tally-ci/axe/node_modules/axe-core/axe.min.js
#   TALLY_AXE_DIR=/somewhere scripts/install-axe.sh
#
# The browser test looks at that default path, or at TALLY_AXE_JS when it is set.
# Needs npm (Debian: apt-get install nodejs npm) only when axe-core is not there yet.
set -euo pipefail

version=4.14.1
dir=${TALLY_AXE_DIR:-$HOME/.cache/tally-ci/axe}
package=$dir/node_modules/axe-core
script=$package/axe.min.js

installed() {
  [ -s "$script" ] && grep -q "\"version\": \"$version\"" "$package/package.json" 2>/dev/null
}

if ! installed; then
  command -v npm >/dev/null || { echo "install-axe: npm is not installed (apt-get install nodejs npm)" >&2; exit 1; }
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "axe-core@$version" >&2
  installed || { echo "install-axe: axe-core $version did not land in $package" >&2; exit 1; }
fi
echo "$script"
