#!/usr/bin/env bash
# Runs each coverage-guided fuzz target in fuzz/ for a bounded time and
# fails on any crash, panic, timeout or out-of-memory finding.
#
#   scripts/fuzz.sh            every target, 60 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh decide
#
# The seed corpora in fuzz/corpus/<target>/ are read, never written: new
# inputs go to a scratch corpus under fuzz/target/. A finding is saved in
# fuzz/artifacts/<target>/ and should become a regression test in tests/.
# Not part of scripts/test.sh: it runs for minutes by design.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(decide catalog)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# cargo-fuzz passes unstable compiler flags (-Z...); the stable compiler
# accepts them only when told to. Set here, for this script alone.
export RUSTC_BOOTSTRAP=1

# The crate forbids unsafe code, so the address sanitizer would add cost and
# little else; debug assertions stay on, so overflows are findings.
fuzz_flags=(--sanitizer none --debug-assertions)

status=0
for target in "${targets[@]}"; do
  scratch="fuzz/target/scratch-corpus/$target"
  mkdir -p "$scratch" "fuzz/artifacts/$target"
  echo "==> fuzz target $target for ${seconds}s"
  log="fuzz/target/$target.log"
  set +e
  cargo fuzz run "${fuzz_flags[@]}" "$target" "$scratch" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  # The start, the end and the final statistics of the run.
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|SUMMARY|.*panicked at)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$log"
    echo "fuzz target $target found a problem (exit $rc); see $log and fuzz/artifacts/$target/"
    status=1
  fi
done
exit "$status"
