#!/usr/bin/env bash
# Installs the outside tools the test suites need, when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# Each suite adds what it needs below.

# Browser suite (scripts/suites/browser.sh): Debian's chromium, driven by
# playwright-core through its executablePath; playwright never downloads a
# browser of its own here.
ensure_apt chromium
ensure_npm playwright-core@1.65.1
# deploy/kubernetes manifests are validated against the Kubernetes schemas
# that kubernetes-validate ships (scripts/suites/kubernetes.sh).
ensure_venv "kubernetes-validate==1.37.0"
# Gateway suites (tests/it/gateways): nginx (auth_request) and caddy
# (forward_auth) run in front of aipdp on loopback.
ensure_apt nginx caddy
# Contract fuzzing (scripts/suites/contract-fuzz.sh); keep the pin in step.
ensure_venv "schemathesis==4.32.5"
