#!/usr/bin/env bash
# Browser suite: the /ui explorer in Debian's chromium, driven by
# playwright-core (both installed by scripts/install-deps.sh), against the
# real aipdp binary on a free loopback port. Screenshots: target/browser/.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

[ -x /usr/bin/chromium ] || { echo "browser suite: /usr/bin/chromium is missing; run scripts/install-deps.sh" >&2; exit 1; }
[ -d node_modules/playwright-core ] || { echo "browser suite: playwright-core is missing; run scripts/install-deps.sh" >&2; exit 1; }

cargo build --quiet --locked --bin aipdp
mkdir -p target/browser
port=$(free_port)
url="http://127.0.0.1:$port"
target/debug/aipdp serve --listen "127.0.0.1:$port" >target/browser/server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  target/debug/aipdp healthcheck --url "$url" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat target/browser/server.log >&2; exit 1; }
  sleep 0.1
done
target/debug/aipdp healthcheck --url "$url"

EXPLORER_URL="$url" node --test --test-reporter=spec tests/browser/explorer.test.mjs
echo "screenshots: $(ls target/browser/*.png | tr '\n' ' ')"
