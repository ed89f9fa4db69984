#!/usr/bin/env bash
# Redraws the pictures in docs/diagrams/ from their Mermaid sources (*.mmd), for
# places that do not render Mermaid. The README shows the same sources (a test
# keeps them equal).
#
#   scripts/diagrams.sh      # needs npm and Debian's chromium
#
# mermaid-cli is installed once into ~/.cache/tally-ci/mermaid, using the system
# Chromium instead of downloading one.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${XDG_CACHE_HOME:-$HOME/.cache}/tally-ci/mermaid"
mmdc="$tools/node_modules/.bin/mmdc"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "diagrams: $chromium is missing (Debian: apt-get install chromium)" >&2; exit 1; }
if [ ! -x "$mmdc" ]; then
    echo "installing mermaid-cli into $tools"
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$tools" @mermaid-js/mermaid-cli@11
fi
config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf '{"executablePath":"%s","args":["--no-sandbox","--disable-gpu","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run"]}' "$chromium" > "$config"
for source in docs/diagrams/*.mmd; do
    "$mmdc" --quiet -p "$config" -i "$source" -o "${source%.mmd}.png" -b white -w 1400 -s 1.5
    echo "drew ${source%.mmd}.png"
done
