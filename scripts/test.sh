#!/usr/bin/env bash
# The one command that runs every test: formatting, lints, the Rust suites,
# and the suites that need outside tools (installed on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Outside tools the suites need (gateways, browsers, fuzzers) are installed
# here, before any test runs, by scripts/install-deps.sh.
step "tools the suites need"
scripts/install-deps.sh

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "Rust unit, property and integration tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --locked --no-fail-fast 2>&1 | tee "$log"
  passed=$(grep -Eo '[0-9]+ tests run: [0-9]+ passed' "$log" | tail -1 | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')
else
  cargo test --all-targets --locked --no-fail-fast 2>&1 | tee "$log"
  passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' | paste -sd+ | bc)
fi

step "the shipped catalog and its example decisions"
cargo run --quiet --locked -- check config/catalog.toml

# Suites that drive the built service with outside tools; each exits
# non-zero on failure.
for suite in scripts/suites/*.sh; do
  [ -e "$suite" ] || continue
  step "suite: $suite"
  bash "$suite"
done

step "summary"
echo "rust: ${passed:-0} passed, 0 failed"
