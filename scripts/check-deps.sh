#!/usr/bin/env bash
# The dependency policy in deny.toml, checked by cargo-deny: licenses from the
# allow-list, crates.io as the only source, duplicate versions reported; then
# the RustSec advisories, where the advisory database can be fetched. Where it
# cannot (no route to GitHub), one line says the advisories were skipped, and
# why, and the rest still counts.
#
# cargo-deny is installed at a pinned version into the CI cache the first time
# it is missing: `cargo install` compiles it, which takes several minutes.
#   scripts/check-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

readonly CARGO_DENY_VERSION=0.20.2
readonly ADVISORY_DB=https://github.com/rustsec/advisory-db

tools=${TALLY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tally-ci}
root=$tools/cargo-deny-$CARGO_DENY_VERSION
deny=$root/bin/cargo-deny

if [ ! -x "$deny" ]; then
  echo "installing cargo-deny $CARGO_DENY_VERSION into $root (compiles it: several minutes)"
  # Built in a temporary target directory of its own, not in the project's.
  env -u CARGO_TARGET_DIR cargo install --locked --quiet --root "$root" "cargo-deny@$CARGO_DENY_VERSION"
fi

echo "cargo-deny $("$deny" --version | cut -d' ' -f2): licenses, bans, sources"
"$deny" --locked check licenses bans sources

# cargo-deny fetches the database with git; a quick ls-remote says whether it
# can, without waiting long for a network that drops packets.
if GIT_TERMINAL_PROMPT=0 timeout 20 git ls-remote --quiet "$ADVISORY_DB" HEAD >/dev/null 2>&1; then
  echo "cargo-deny: advisories"
  "$deny" --locked check advisories
else
  echo "skipped cargo deny check advisories: the advisory database ($ADVISORY_DB) cannot be fetched from here"
fi
