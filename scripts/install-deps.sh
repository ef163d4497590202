#!/usr/bin/env bash
# Installs the outside tools the test suites need, when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# Each suite adds what it needs below.
# deploy/kubernetes manifests are validated against the Kubernetes schemas
# that kubernetes-validate ships (scripts/suites/kubernetes.sh).
ensure_venv "kubernetes-validate==1.37.0"
