#!/usr/bin/env bash
# Creates (once) the Python virtual environment with kafka-python and the snappy codec it uses,
# so tests can check that Kafka's own Python client decodes what Spool writes (gzip and snappy
# batches: Tests/SpoolTests/KafkaPythonDecodesTests.swift, through Tools/kafka-python-decode.py).
#
# Usage: Tools/ensure-kafka-python.sh [VENV]   (default: <repo>/.venv-kafka)
# Prints the venv's python path on stdout. Idempotent and fast when the venv is already there:
# it compares a stamp of the pinned requirements and installs nothing when they match.
# Needs python3 with the venv module (Debian: python3-venv) and access to PyPI.
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
command -v python3 >/dev/null 2>&1 || { echo "python3 is not on PATH (Debian: apt-get install python3 python3-venv)" >&2; exit 2; }
python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "python3 lacks venv/ensurepip (Debian: apt-get install python3-venv)" >&2; exit 2; }
echo "== creating $venv with ${requirements[*]}" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "${requirements[@]}" >&2
printf '%s\n' "$wanted" > "$stamp"
echo "$venv/bin/python"
