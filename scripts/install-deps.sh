#!/usr/bin/env bash
# Installs the outside tools the test suites need, when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# Each suite adds what it needs below.

# Contract fuzzing (scripts/suites/contract-fuzz.sh); keep the pin in step.
ensure_venv "schemathesis==4.32.5"
