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
# A second service with API tokens on, for the explorer's token form.
token="explorer-test-token-0123456789"
token_port=$(free_port)
token_url="http://127.0.0.1:$token_port"
AIPDP_AUTH__API_TOKENS="$token" target/debug/aipdp serve --listen "127.0.0.1:$token_port" \
  >target/browser/server-tokens.log 2>&1 &
token_server=$!
trap 'kill "$server" "$token_server" 2>/dev/null || true; wait "$server" "$token_server" 2>/dev/null || true' EXIT

# wait_ready URL PID LOG: until the service at URL is ready, or its process ends.
wait_ready() {
  for _ in $(seq 1 100); do
    target/debug/aipdp healthcheck --url "$1" 2>/dev/null && return
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.1
  done
  target/debug/aipdp healthcheck --url "$1"
}
wait_ready "$url" "$server" target/browser/server.log
wait_ready "$token_url" "$token_server" target/browser/server-tokens.log

EXPLORER_URL="$url" EXPLORER_TOKEN_URL="$token_url" EXPLORER_TOKEN="$token" \
  node --test --test-reporter=spec tests/browser/explorer.test.mjs
echo "screenshots: $(ls target/browser/*.png | tr '\n' ' ')"
