#!/usr/bin/env bash
# Installs the outside tools the test suites need, when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# Each suite adds what it needs below.

# Gateway suites (tests/it/gateways): nginx (auth_request) and caddy
# (forward_auth) run in front of aipdp on loopback.
ensure_apt nginx caddy
