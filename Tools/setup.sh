#!/usr/bin/env bash
# Installs what is missing and builds Spool in release mode: .build/release/spool.
set -euo pipefail
cd "$(dirname "$0")/.."
source Tools/ensure-deps.sh
swift build -c release --product spool
echo "built $(pwd)/.build/release/spool"
