#!/usr/bin/env bash
# Creates (once) the Python virtual environment holding the Kafka clients that write the
# interop fixtures (Tools/make-interop-fixtures.py) and the index checker's test helpers:
# kafka-python, aiokafka and confluent-kafka (librdkafka), with the codec libraries they use.
#
# Usage: Tools/ensure-python-clients.sh [VENV]   (default: <repo>/.venv-interop)
# Prints the venv's python path on stdout. Idempotent and fast when the venv is already there:
# it compares a stamp of the pinned requirements and installs nothing when they match.
# Needs python3 with the venv module (Debian: python3-venv) and access to PyPI.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$repo/.venv-interop}"
# Pinned so the fixtures' README can name the exact writer of every file.
requirements=(
  "kafka-python==3.0.12"
  "aiokafka==0.14.0"
  "confluent-kafka==2.16.1"
  "python-snappy==0.7.3"
  "cramjam==2.14.0"
  "lz4==4.4.5"
  "zstandard==0.25.0"
  "crc32c==2.9.post0"
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
