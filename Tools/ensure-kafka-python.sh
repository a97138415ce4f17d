#!/usr/bin/env bash
# Creates (once) the Python virtual environment with kafka-python and the snappy codec it uses,
# so tests can check that Kafka's own Python client decodes what Spool writes (gzip and snappy
# batches: Tests/SpoolTests/KafkaPythonDecodesTests.swift, through Tools/kafka-python-decode.py).
#
# Usage: Tools/ensure-kafka-python.sh [VENV]   (default: <repo>/.venv-kafka)
# Prints the venv's python path on stdout. Idempotent and fast when the venv is already there:
# it compares a stamp of the pinned requirements and installs nothing when they match.
# Needs python3 with the venv module (installs Debian's python3-venv when it is missing) and PyPI.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$repo/.venv-kafka}"
requirements=(
  "kafka-python==3.0.12"
  "python-snappy==0.7.3"
  "cramjam==2.14.0"
)
stamp="$venv/.spool-requirements"
wanted="$(printf '%s\n' "${requirements[@]}")"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  echo "$venv/bin/python"
  exit 0
fi
if ! { command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' 2>/dev/null; }; then
  # Debian's python3 needs python3-venv for venv/ensurepip.
  if command -v apt-get >/dev/null 2>&1; then
    echo "== installing python3 python3-venv" >&2
    sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "python3 with venv/ensurepip is needed (Debian: apt-get install python3 python3-venv)" >&2; exit 2; }
fi
echo "== creating $venv with ${requirements[*]}" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "${requirements[@]}" >&2
printf '%s\n' "$wanted" > "$stamp"
echo "$venv/bin/python"
