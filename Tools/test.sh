#!/usr/bin/env bash
# Installs what is missing, builds once, and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source Tools/ensure-deps.sh
# The Kafka clients (kafka-python, aiokafka, confluent-kafka) that KafkaClientInteropTests run
# Tools/kafka-index-check.py with; fast when the venv is already there.
Tools/ensure-python-clients.sh >/dev/null
swift build --build-tests
swift test --skip-build
