#!/usr/bin/env bash
# Validates every manifest in deploy/kubernetes against the Kubernetes API
# schemas shipped inside kubernetes-validate (no network), strictly (unknown
# fields are errors), for a pinned Kubernetes version; checks that the
# catalog in the ConfigMap is the shipped catalog; and proves the validator is
# live by feeding it a broken manifest that it must refuse.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_venv "kubernetes-validate==1.37.0"

K8S_VERSION=1.33.0
validate() { .venv/bin/kubernetes-validate --kubernetes-version "$K8S_VERSION" --strict --quiet "$@"; }

manifests=(deploy/kubernetes/*.yaml)
[ "${#manifests[@]}" -ge 5 ] || { echo "expected at least 5 manifests, found ${#manifests[@]}"; exit 1; }
validate "${manifests[@]}"
for kind in Deployment Service ConfigMap HorizontalPodAutoscaler PodDisruptionBudget; do
  grep -q "^kind: $kind$" "${manifests[@]}" || { echo "no $kind in deploy/kubernetes"; exit 1; }
done
echo "kubernetes: ${#manifests[@]} manifests valid against Kubernetes $K8S_VERSION (strict)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The catalog the ConfigMap mounts is the shipped one, byte for byte (a
# stale copy under the current version would be refused by a live reload
# of the real one), and passes `aipdp check`.
.venv/bin/python - "$tmp/catalog.toml" <<'PY'
import sys, yaml
with open("deploy/kubernetes/configmap.yaml") as f:
    doc = yaml.safe_load(f)
with open(sys.argv[1], "w") as out:
    out.write(doc["data"]["catalog.toml"])
PY
if ! cmp -s "$tmp/catalog.toml" config/catalog.toml; then
  echo "the ConfigMap's catalog differs from config/catalog.toml:"
  diff "$tmp/catalog.toml" config/catalog.toml | head -20
  exit 1
fi
cargo run --quiet --locked -- check "$tmp/catalog.toml"

# A manifest with a misspelt field must be refused.
sed 's/^\( *\)containerPort: 8080$/\1containerPort: 8080\n\1hostPortt: 1/' \
  deploy/kubernetes/deployment.yaml > "$tmp/broken.yaml"
if validate "$tmp/broken.yaml" >/dev/null 2>&1; then
  echo "kubernetes-validate accepted a broken manifest"
  exit 1
fi
echo "kubernetes: a broken manifest is refused"
