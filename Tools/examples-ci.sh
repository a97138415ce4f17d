#!/usr/bin/env bash
# Builds and smoke-tests every example package under Examples/ (for CI: call it from .ci/run).
# Each example builds Spool and its own dependencies (Hummingbird among them: minutes on 2 cores).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
for smoke in "$repo"/Examples/*/smoke.sh; do
    started=$(date +%s)
    echo "examples-ci: $smoke"
    bash "$smoke"
    echo "examples-ci: $(basename "$(dirname "$smoke")") passed in $(( $(date +%s) - started )) s"
done
