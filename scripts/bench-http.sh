#!/usr/bin/env bash
# Side-by-side HTTP benchmark: aipdp against the floor (examples/floor.rs, a
# bare axum handler that parses the same request and answers a fixed body of
# the same size). Both are release builds, on 127.0.0.1 only, driven by the
# same load generator (wrk) in alternating rounds, once with each server
# pinned to one core and wrk on the other, once unpinned. Prints a markdown
# report: throughput, server CPU time per request (from /proc), p50/p99
# latency, resident memory, start-up time and 100,000-profile catalog load.
# For POST /v1/route a general-purpose PDP joins the same rounds: Cerbos,
# from its npm package, answering the same decision as a resource policy
# (benches/cerbos) over its POST /api/check/resources.
#
# Each round runs every server once, back to back (the order alternating
# from round to round), and a ratio is taken per round: the targets are
# judged on the median of those paired ratios, which cancel the drift of
# this shared machine that moves both servers alike within a round; the
# ratio of the medians is printed beside it.
#
# Environment: ROUNDS (5), DURATION seconds per run (3), CONNECTIONS ("8 64"),
# OUT (file for the report, also printed), CERBOS (1; 0 leaves Cerbos out),
# CERBOS_LOG_LEVEL (info, Cerbos's default), AIPDP_BIN and FLOOR_BIN (use
# these binaries instead of building them). Bounded: about 8 minutes with the
# defaults. Not part of scripts/test.sh. See docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3}
CONNECTIONS=${CONNECTIONS:-"8 64"}
OUT=${OUT:-target/bench-http.md}
CERBOS=${CERBOS:-1}
CERBOS_LOG_LEVEL=${CERBOS_LOG_LEVEL:-info}
# The Cerbos release whose server binary its npm package for x86_64 Linux
# ships (the package is named after the platform).
CERBOS_VERSION=0.55.0

# The endpoints measured (scripts/lib.sh).
ENDPOINTS=("${BENCH_ENDPOINTS[@]}")
# The endpoint Cerbos is compared on, and the request that asks Cerbos the
# same question (benches/cerbos/README.md).
CERBOS_ENDPOINT=route
CERBOS_PATH=/api/check/resources
CERBOS_BODY=benches/cerbos/check.json

ensure_apt wrk curl
load_before=$(cut -d" " -f1-3 /proc/loadavg)
[ "$(nproc)" -ge 2 ] || { echo "bench-http: needs at least 2 cores to pin" >&2; exit 1; }

bench_binaries bench-http

if [ "$CERBOS" != 0 ]; then
  [ "$(uname -m)" = x86_64 ] || { echo "bench-http: Cerbos is pinned for x86_64 only; CERBOS=0 leaves it out" >&2; exit 1; }
  cerbos_pkg=@cerbos/cerbos-linux-x64
  ensure_npm "$cerbos_pkg@$CERBOS_VERSION"
  CERBOS_SERVER="node_modules/$cerbos_pkg/${cerbos_pkg#@cerbos/}"
  # Fails on a policy that does not compile.
  "$CERBOS_SERVER" compile benches/cerbos/policies >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_ready() { # PORT [PATH]
  for _ in $(seq 1 500); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1${2:-/readyz}" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "bench-http: server on port $1 did not become ready" >&2
  exit 1
}

# aipdp's own answer per endpoint (status, headers and body), which the
# floor serves back byte for byte, and one wrk Lua script per endpoint.
capture_port=$(free_port)
"$AIPDP" serve --listen "127.0.0.1:$capture_port" >"$work/capture.log" 2>&1 &
capture_pid=$!
pids+=("$capture_pid")
wait_ready "$capture_port"
capture_answers "$capture_port" "$work"
for spec in "${ENDPOINTS[@]}"; do
  IFS='|' read -r name method path body headers <<<"$spec"
  lua="$work/$name.lua"
  echo "wrk.method = \"$method\"" >"$lua"
  if [ "$body" != "-" ]; then
    printf 'wrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[%s]==]\n' "$(cat "$body")" >>"$lua"
  fi
  IFS=';' read -r -a pairs <<<"$headers"
  for pair in "${pairs[@]}"; do
    printf 'wrk.headers["%s"] = "%s"\n' "${pair%%:*}" "$(echo "${pair#*:}" | sed 's/^ *//')" >>"$lua"
  done
done
kill "$capture_pid"
wait "$capture_pid" 2>/dev/null || true
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[%s]==]\n' \
  "$(cat "$CERBOS_BODY")" >"$work/cerbos.lua"

start_cerbos() { # PORT [taskset arguments...]
  local port=$1 grpc
  shift
  # Cerbos always serves gRPC as well: give it a free port of its own.
  grpc=$(free_port)
  CERBOS_NO_TELEMETRY=1 "$@" "$CERBOS_SERVER" server --config=benches/cerbos/config.yaml \
    --log-level="$CERBOS_LOG_LEVEL" \
    --set=server.httpListenAddr="127.0.0.1:$port" --set=server.grpcListenAddr="127.0.0.1:$grpc" \
    >>"$work/cerbos.log" 2>&1 &
}

# Cerbos must decide the benchmark request as aipdp does: allowed, under the
# same mode, to the same provider and model.
if [ "$CERBOS" != 0 ]; then
  port=$(free_port)
  start_cerbos "$port"
  cerbos_check_pid=$!
  pids+=("$cerbos_check_pid")
  wait_ready "$port" /_cerbos/health
  curl -sS -H 'content-type: application/json' --data-binary "@$CERBOS_BODY" \
    -o "$work/cerbos.answer" "http://127.0.0.1:$port$CERBOS_PATH"
  kill "$cerbos_check_pid"
  wait "$cerbos_check_pid" 2>/dev/null || true
  python3 - "$work/$CERBOS_ENDPOINT.answer" "$work/cerbos.answer" <<'EOF'
import json, sys
ours = json.load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))["results"][0]
out = theirs["outputs"][0]["val"]
route = ours["route"] or {}
a = (ours["allow"], ours["mode"], route.get("provider"), route.get("model"))
c = (theirs["actions"]["invoke"] == "EFFECT_ALLOW", out.get("mode") or None, out.get("provider"), out.get("model"))
if a != c:
    sys.exit(f"bench-http: Cerbos decides {c}, aipdp {a}")
EOF
fi

cpu_ticks() { # PID -> utime + stime of every thread, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}

results="$work/results.tsv"
: >"$results"
declare -A server_pid server_port

start_servers() { # PLACEMENT
  local pin=()
  [ "$1" = pinned ] && pin=(taskset -c 0)
  server_port[aipdp]=$(free_port)
  "${pin[@]}" "$AIPDP" serve --listen "127.0.0.1:${server_port[aipdp]}" >"$work/aipdp.log" 2>&1 &
  server_pid[aipdp]=$!
  pids+=("$!")
  server_port[floor]=$(free_port)
  "${pin[@]}" "$FLOOR" --listen "127.0.0.1:${server_port[floor]}" "${FLOOR_ANSWERS[@]}" >"$work/floor.log" 2>&1 &
  server_pid[floor]=$!
  pids+=("$!")
  if [ "$CERBOS" != 0 ]; then
    server_port[cerbos]=$(free_port)
    start_cerbos "${server_port[cerbos]}" "${pin[@]}"
    server_pid[cerbos]=$!
    pids+=("$!")
    wait_ready "${server_port[cerbos]}" /_cerbos/health
  fi
  wait_ready "${server_port[aipdp]}"
  wait_ready "${server_port[floor]}"
}

stop_servers() {
  for s in "${!server_pid[@]}"; do
    kill "${server_pid[$s]}" 2>/dev/null || true
    wait "${server_pid[$s]}" 2>/dev/null || true
  done
}

run_wrk() { # PLACEMENT SERVER ENDPOINT PATH CONNS SECONDS -> wrk output on stdout
  local gen=(wrk -t2) conns=$5 lua="$work/$3.lua" path=$4
  [ "$1" = pinned ] && gen=(taskset -c 1 wrk -t1)
  # Cerbos is asked the same question in its own request format.
  if [ "$2" = cerbos ]; then
    lua="$work/cerbos.lua"
    path=$CERBOS_PATH
  fi
  "${gen[@]}" -c "$conns" -d "${6}s" --latency -s "$lua" \
    "http://127.0.0.1:${server_port[$2]}$path"
}

ms() { # wrk latency such as 812.00us, 1.20ms or 1.01s -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
    else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 }
    else print "nan" }'
}

clk=$(getconf CLK_TCK)
rss_peak=0
started=$(date +%s)
for placement in pinned unpinned; do
  start_servers "$placement"
  for spec in "${ENDPOINTS[@]}"; do
    IFS='|' read -r name _ path _ _ <<<"$spec"
    contenders=(aipdp floor)
    if [ "$CERBOS" != 0 ] && [ "$name" = "$CERBOS_ENDPOINT" ]; then contenders+=(cerbos); fi
    for conns in $CONNECTIONS; do
      # Warm each up once (connections, caches, the allocator's pools).
      for s in "${contenders[@]}"; do run_wrk "$placement" "$s" "$name" "$path" "$conns" 1 >/dev/null; done
      for round in $(seq 1 "$ROUNDS"); do
        # Alternate the order (forwards, backwards), so drift favours none.
        order=("${contenders[@]}")
        [ $((round % 2)) -eq 0 ] && mapfile -t order < <(printf '%s\n' "${contenders[@]}" | tac)
        for s in "${order[@]}"; do
          pid=${server_pid[$s]}
          before=$(cpu_ticks "$pid")
          out=$(run_wrk "$placement" "$s" "$name" "$path" "$conns" "$DURATION")
          after=$(cpu_ticks "$pid")
          requests=$(echo "$out" | awk '/requests in/ {print $1}')
          rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
          p50=$(ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
          p99=$(ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
          errors=$(echo "$out" | awk '/Non-2xx|Socket errors/' | tr '\n' ' ')
          if [ -n "$errors" ]; then
            echo "bench-http: $s $name: $errors" >&2
            exit 1
          fi
          cpu_us=$(awk -v t=$((after - before)) -v n="$requests" -v c="$clk" 'BEGIN {printf "%.2f", t / c * 1e6 / n}')
          printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$placement" "$name" "$conns" "$s" "$round" "$rps" "$cpu_us" "$p50" "$p99" >>"$results"
          echo "  $placement $name c=$conns round $round $s: $rps req/s, $cpu_us us CPU/req, p50 ${p50}ms p99 ${p99}ms" >&2
        done
      done
    done
  done
  # Resident memory of aipdp after this placement's load.
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/${server_pid[aipdp]}/status")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/${server_pid[aipdp]}/status")
  floor_hwm=$(awk '/^VmHWM/ {print $2}' "/proc/${server_pid[floor]}/status")
  cerbos_hwm=-
  [ "$CERBOS" != 0 ] && cerbos_hwm=$(awk '/^VmHWM/ {print $2}' "/proc/${server_pid[cerbos]}/status")
  echo -e "$placement\t$rss\t$hwm\t$floor_hwm\t$cerbos_hwm" >>"$work/memory.tsv"
  [ "$hwm" -gt "$rss_peak" ] && rss_peak=$hwm
  stop_servers
done
load_seconds=$(($(date +%s) - started))

# Start-up: exec to the first answered /readyz, with the shipped catalog and
# with 100,000 extra tenant profiles; median of 5 starts each.
python3 - "$work/profiles.toml" <<'EOF'
import sys
regions = ["US", "EU", "SG", "KSA", "AU", "IN", "CA"]
residency = ["none", "preferred", "strict", "trust_boundary"]
compliance = ["gdpr", "ccpa", "hipaa"]
with open("config/catalog.toml") as f:
    text = f.read()
parts = [text]
for n in range(100_000):
    parts.append(
        f'\n[[tenants]]\nid = "bench-tenant-{n:06}"\nregion = "{regions[n % 7]}"\n'
        f'residency = "{residency[n % 4]}"\ncompliance = ["{compliance[n % 3]}"]\n'
        f'training_opt_out = {"true" if n % 2 == 0 else "false"}\n')
with open(sys.argv[1], "w") as f:
    f.write("".join(parts))
EOF
startup() { # extra serve arguments... -> milliseconds, median of 5
  python3 - "$AIPDP" "$@" <<'EOF'
import socket, statistics, subprocess, sys, time
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return c.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
times = []
for _ in range(5):
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.argv[1], "serve", "--listen", f"127.0.0.1:{port}", *sys.argv[2:]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready(port):
        if p.poll() is not None or time.perf_counter() - t0 > 30:
            sys.exit("server did not become ready")
        time.sleep(0.0005)
    times.append((time.perf_counter() - t0) * 1000)
    p.terminate(); p.wait()
print(f"{statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f})")
EOF
}
startup_shipped=$(startup)
startup_profiles=$(startup --catalog "$work/profiles.toml")

# Medians, ranges and ratios.
report=$(python3 - "$results" "$work/memory.tsv" <<EOF
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(list)
rounds = collections.defaultdict(dict)
for placement, name, conns, server, round_, rps, cpu, p50, p99 in rows:
    by[(placement, name, int(conns), server)].append((float(rps), float(cpu), float(p50), float(p99)))
    rounds[(placement, name, int(conns), server)][round_] = (float(rps), float(cpu))
def col(runs, i):
    values = [r[i] for r in runs]
    return statistics.median(values), min(values), max(values)
def fmt(v, digits):
    m, lo, hi = v
    return f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"
def paired(ours, theirs, i):
    """The ratio of each round, ours over theirs: median and range."""
    values = [ours[r][i] / theirs[r][i] for r in ours if r in theirs]
    return statistics.median(values), min(values), max(values)
print("| endpoint | placement | conns | server | req/s | CPU us/req | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|---|")
ratios = []
for key in sorted(by, key=lambda k: (k[1], k[0], k[2], k[3])):
    placement, name, conns, server = key
    runs = by[key]
    print(f"| {name} | {placement} | {conns} | {server} | {fmt(col(runs,0),0)} | {fmt(col(runs,1),2)} | {fmt(col(runs,2),3)} | {fmt(col(runs,3),3)} |")
    if server == "aipdp":
        floor_key = (placement, name, conns, "floor")
        floor = by[floor_key]
        ratios.append((name, placement, conns,
                       paired(rounds[key], rounds[floor_key], 0),
                       paired(rounds[key], rounds[floor_key], 1),
                       col(runs,0)[0] / col(floor,0)[0], col(runs,1)[0] / col(floor,1)[0]))
print()
print("Ratios aipdp/floor: the median of the rounds' ratios (range), judged against the targets; then the ratio of the medians above.")
print()
print("| endpoint | placement | conns | throughput (target >= 0.90) | CPU per request (target <= 1.15) | throughput, ratio of medians | CPU, ratio of medians |")
print("|---|---|---|---|---|---|---|")
for name, placement, conns, t, c, tm, cm in ratios:
    print(f"| {name} | {placement} | {conns} | {fmt(t,3)} {'met' if t[0] >= 0.9 else 'NOT met'} | {fmt(c,3)} {'met' if c[0] <= 1.15 else 'NOT met'} | {tm:.3f} | {cm:.3f} |")
cerbos = sorted((k for k in by if k[3] == "cerbos"), key=lambda k: (k[1], k[0], k[2]))
if cerbos:
    print()
    print("| endpoint | placement | conns | throughput aipdp/cerbos | CPU per request aipdp/cerbos |")
    print("|---|---|---|---|---|")
    for placement, name, conns, _ in cerbos:
        ours, theirs = by[(placement, name, conns, "aipdp")], by[(placement, name, conns, "cerbos")]
        print(f"| {name} | {placement} | {conns} | {col(ours,0)[0] / col(theirs,0)[0]:.3f} | {col(ours,1)[0] / col(theirs,1)[0]:.3f} |")
print()
def mib(kib):
    return "-" if kib == "-" else f"{int(kib)/1024:.1f} MiB"
print("| placement | aipdp VmRSS after load | aipdp VmHWM | floor VmHWM | cerbos VmHWM |")
print("|---|---|---|---|---|")
for l in open(sys.argv[2]):
    placement, rss, hwm, fhwm, chwm = l.split()
    print(f"| {placement} | {mib(rss)} | {mib(hwm)} | {mib(fhwm)} | {mib(chwm)} |")
print()
print("| start-up, exec to first answered /readyz (median of 5, range) | ms |")
print("|---|---|")
print("| shipped catalog | $startup_shipped |")
print("| shipped catalog + 100,000 tenant profiles | $startup_profiles |")
EOF
)

{
  echo "# aipdp HTTP benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//');" \
    "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), ${ROUNDS} rounds of ${DURATION}s per row, alternating order (median and range)," \
    "load phase ${load_seconds}s. pinned: server on core 0, wrk -t1 on core 1; unpinned: no affinity, wrk -t2."
  if [ "$CERBOS" != 0 ]; then
    echo "cerbos: Cerbos $CERBOS_VERSION ($cerbos_pkg), policy benches/cerbos/policies, log level $CERBOS_LOG_LEVEL, audit off;" \
      "POST $CERBOS_PATH with $CERBOS_BODY in the $CERBOS_ENDPOINT rows, its answer checked against aipdp's."
  fi
  echo
  echo "$report"
} | tee "$OUT"
