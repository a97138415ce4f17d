#!/usr/bin/env bash
# Installs what is missing, builds once, and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source Tools/ensure-deps.sh
# kafka-python, for the tests that check Kafka's Python client decodes what Spool writes.
Tools/ensure-kafka-python.sh >/dev/null
swift build --build-tests
swift test --skip-build
