# Shared helpers for the project's scripts: install what a suite needs, from
# the package registries, only when it is missing. Source this file.

# ensure_apt PACKAGE... : install Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ -z "${APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq
    export APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv PACKAGE_SPEC... : a project-local Python virtual environment in
# .venv with these packages; prints nothing when they are already there.
ensure_venv() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ ! -x "$root/.venv/bin/python" ]; then
    python3 -m venv "$root/.venv"
  fi
  local missing=()
  for spec in "$@"; do
    local name="${spec%%[=<>]*}"
    "$root/.venv/bin/python" -m pip show -q "$name" >/dev/null 2>&1 || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Python packages into .venv: ${missing[*]}"
  "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
}

# ensure_npm PACKAGE_SPEC... : npm packages in the project's node_modules.
# The project has no package.json, and `npm install` removes every package
# that none names, so each install also names again the packages earlier
# calls installed (listed in node_modules/.ensure_npm) that are still there.
ensure_npm() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local missing=() wanted=()
  for spec in "$@"; do
    local name="${spec%@*}"
    [ -z "$name" ] && name="$spec"
    wanted+=("$name")
    [ -d "$root/node_modules/$name" ] || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local record="$root/node_modules/.ensure_npm" kept=()
  if [ -f "$record" ]; then
    while read -r spec; do
      local name="${spec%@*}"
      [ -z "$name" ] && name="$spec"
      [[ " ${wanted[*]} " == *" $name "* ]] && continue
      [ -d "$root/node_modules/$name" ] && kept+=("$spec")
    done <"$record"
  fi
  echo "installing npm packages: ${missing[*]}"
  (cd "$root" && npm install --no-save --no-audit --no-fund --silent "${kept[@]}" "$@")
  printf '%s\n' "${kept[@]}" "$@" >"$record"
}

# free_port : an unused loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The requests the HTTP benchmarks (bench-http.sh, bench-instructions.sh)
# send: name | method | path | body file ("-" for none) | extra headers
# ("Name: value" pairs separated by ";"). Adding an endpoint is one line.
BENCH_ENDPOINTS=(
  "decisions|POST|/v1/decisions|benches/requests/decision.json|"
  "route|POST|/v1/route|benches/requests/route.json|"
  "authz|GET|/v1/authz/v1/chat/completions|-|x-tenant-id: acme-eu;x-ai-feature: meeting_summary"
)

# capture_answers PORT DIR: aipdp's answer to each request of
# BENCH_ENDPOINTS, from the aipdp serving on 127.0.0.1:PORT, as DIR/NAME.head
# (status and headers) and DIR/NAME.answer (body); fails on a non-2xx
# answer. Sets FLOOR_ANSWERS to the floor's arguments that serve them back
# byte for byte.
capture_answers() {
  local port=$1 dir=$2 spec name method path body headers pair
  local -a curl_args pairs
  FLOOR_ANSWERS=()
  for spec in "${BENCH_ENDPOINTS[@]}"; do
    IFS='|' read -r name method path body headers <<<"$spec"
    curl_args=(-fsS -X "$method" -o "$dir/$name.answer" -D "$dir/$name.head")
    [ "$body" = "-" ] || curl_args+=(-H 'content-type: application/json' --data-binary "@$body")
    IFS=';' read -r -a pairs <<<"$headers"
    for pair in "${pairs[@]}"; do curl_args+=(-H "$pair"); done
    curl "${curl_args[@]}" "http://127.0.0.1:$port$path"
    FLOOR_ANSWERS+=(--answer "$path=$dir/$name.answer" --head "$path=$dir/$name.head")
  done
}

# bench_binaries SCRIPT: sets AIPDP and FLOOR to the release binaries of
# aipdp and the floor, building those not given in AIPDP_BIN / FLOOR_BIN,
# then unsets those two (aipdp refuses AIPDP_* variables it does not know).
bench_binaries() {
  AIPDP=${AIPDP_BIN:-target/release/aipdp}
  FLOOR=${FLOOR_BIN:-target/release/examples/floor}
  local build=()
  [ -n "${AIPDP_BIN:-}" ] || build+=(--bin aipdp)
  [ -n "${FLOOR_BIN:-}" ] || build+=(--example floor)
  if [ ${#build[@]} -gt 0 ]; then
    echo "building release binaries" >&2
    cargo build --release --locked --quiet "${build[@]}"
  fi
  local bin
  for bin in "$AIPDP" "$FLOOR"; do
    [ -x "$bin" ] || { echo "$1: $bin is not an executable" >&2; exit 1; }
  done
  unset AIPDP_BIN FLOOR_BIN
}
