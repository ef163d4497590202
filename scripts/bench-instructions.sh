#!/usr/bin/env bash
# User-space instructions per request, aipdp against the floor, counted by
# callgrind: unlike CPU time on a shared machine, the count is the same from
# run to run, so a change's effect shows even when it is a few percent.
# Beside them, the first-level cache misses per request of callgrind's cache
# model (instruction and data, the host's L1 sizes): time per instruction
# grows with them, which is why CPU ratios over HTTP sit above the
# instruction ratios. Kernel time (the socket) is not counted: it is the same
# for both servers for the same bytes. Each server runs under valgrind on
# 127.0.0.1, gets WARMUP requests on one keep-alive connection, then its
# counters are zeroed and N more are counted. Prints a markdown table.
#
# Environment: N (2000), WARMUP (300), AIPDP_BIN and FLOOR_BIN (use these
# release binaries instead of building), OUT (report file, also printed).
# About half a minute after the build. Not part of scripts/test.sh; see
# docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

N=${N:-2000}
WARMUP=${WARMUP:-300}
OUT=${OUT:-target/bench-instructions.md}

# The endpoints of scripts/bench-http.sh (scripts/lib.sh).
ENDPOINTS=("${BENCH_ENDPOINTS[@]}")

ensure_apt valgrind curl
bench_binaries bench-instructions

work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Sends COUNT requests on one keep-alive connection; fails on any non-200.
cat >"$work/client.py" <<'EOF'
import http.client, sys
port, count, method, path, body, extra = sys.argv[1:7]
headers = dict(pair.split(": ", 1) for pair in extra.split(";") if pair)
if body != "-":
    body = open(body, "rb").read()
    headers["content-type"] = "application/json"
else:
    body = None
connection = http.client.HTTPConnection("127.0.0.1", int(port))
for _ in range(int(count)):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"{path}: status {response.status}")
EOF

wait_ready() { # PORT
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench-instructions: server on port $1 did not become ready" >&2
  exit 1
}

# The floor answers aipdp's own answers (status, headers and body),
# captured first.
port=$(free_port)
"$AIPDP" serve --listen "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
wait_ready "$port"
capture_answers "$port" "$work"
kill "$server"
wait "$server" 2>/dev/null || true
server=""

count() { # SERVER ENDPOINT-NAME METHOD PATH BODY HEADERS -> "INSTRUCTIONS I1-MISSES D1-MISSES" per request
  local port out
  port=$(free_port)
  out="$work/$1-$2.callgrind"
  if [ "$1" = aipdp ]; then
    valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out" \
      "$AIPDP" serve --listen "127.0.0.1:$port" >/dev/null 2>"$work/$1.log" &
  else
    valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out" \
      "$FLOOR" --listen "127.0.0.1:$port" "${FLOOR_ANSWERS[@]}" >/dev/null 2>"$work/$1.log" &
  fi
  server=$!
  wait_ready "$port"
  python3 "$work/client.py" "$port" "$WARMUP" "$3" "$4" "$5" "$6"
  callgrind_control --zero "$server" >/dev/null
  python3 "$work/client.py" "$port" "$N" "$3" "$4" "$5" "$6"
  callgrind_control --dump "$server" >/dev/null
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
  # The dump after zeroing is the numbered file; its totals are, in the
  # order of its `events:` line, Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
  awk -v n="$N" '/^(summary|totals):/ {print int($2 / n), int($5 / n), int(($6 + $7) / n); exit}' "$out".1
}

ratio() { awk -v a="$1" -v f="$2" 'BEGIN {printf "%.2f", a / f}'; }

rows=""
for spec in "${ENDPOINTS[@]}"; do
  IFS='|' read -r name method path body headers <<<"$spec"
  counted=$(count aipdp "$name" "$method" "$path" "$body" "$headers")
  read -r a a_i1 a_d1 <<<"$counted"
  counted=$(count floor "$name" "$method" "$path" "$body" "$headers")
  read -r f f_i1 f_d1 <<<"$counted"
  echo "  $name: aipdp $a, floor $f instructions per request" >&2
  rows+="| $name | $a | $f | $(ratio "$a" "$f") | $a_i1 | $f_i1 | $(ratio "$a_i1" "$f_i1") | $a_d1 | $f_d1 | $(ratio "$a_d1" "$f_d1") |"$'\n'
done

{
  echo "# aipdp user-space instructions per request"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(valgrind --version); $N requests counted after $WARMUP, one keep-alive connection."
  echo
  echo "Instructions, then first-level instruction-cache and data-cache misses (reads and writes) of callgrind's cache model, per request."
  echo
  echo "| endpoint | aipdp | floor | aipdp/floor | I1 misses aipdp | floor | aipdp/floor | D1 misses aipdp | floor | aipdp/floor |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s' "$rows"
} | tee "$OUT"
