#!/usr/bin/env bash
# Installs the C libraries Spool links (Debian packages) when they are missing.
# Sourced by setup.sh, demo.sh and test.sh; safe to run again: it installs nothing when all is there.
set -euo pipefail
missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1; then
  pkg-config --exists liblz4 || missing+=(liblz4-dev)
  pkg-config --exists libzstd || missing+=(libzstd-dev)
else
  missing+=(liblz4-dev libzstd-dev)
fi
# python3 with venv: Tools/ensure-python-clients.sh makes the Kafka clients' venv from it.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}" >&2
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH: install Swift 6.1 or later (swift.org)" >&2; exit 2; }
