#!/usr/bin/env bash
# Runs the libFuzzer targets (batch, index, recovery) for SECONDS each, with a corpus seeded
# from fixtures/ (Tools/fuzz/README.md). Run from anywhere; builds first (Tools/fuzz/build.sh).
#   Tools/fuzz/run.sh [SECONDS] [TARGETS...]       e.g. Tools/fuzz/run.sh 600   (the long run)
# Exit code 1 when a target finds a crash, a hang, an ASan report or an oracle failure; the
# input is kept in the corpus folder's crash-*/timeout-* file.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-20}"; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(batch index recovery)
bin="$(Tools/fuzz/build.sh "${SPOOL_FUZZ_SCRATCH:-/tmp/build-spool-fuzz}")"
work="${SPOOL_FUZZ_WORK:-/tmp/spool-fuzz-corpus}"
for target in "${targets[@]}"; do
  corpus="$work/$target"; mkdir -p "$corpus" "$work/artifacts-$target"
  # Seeds: every batch file and segment of fixtures/ (batch, recovery), every index (index).
  case "$target" in
    batch) find fixtures/format fixtures/interop fixtures/recovery/golden-* -name '*.bin' -o -name '*.log' -path '*golden*' -o -name '*.log' -path '*interop*' | while read -r f; do cp "$f" "$corpus/seed-$(echo "$f" | tr '/' '_')"; done ;;
    index) find fixtures/recovery -name '*.index' -o -name '*.timeindex' | while read -r f; do cp "$f" "$corpus/seed-$(echo "$f" | tr '/' '_')"; done ;;
    recovery) find fixtures/recovery -name '*.log' | while read -r f; do cp "$f" "$corpus/seed-$(echo "$f" | tr '/' '_')"; done ;;
  esac
  echo "fuzz $target for ${seconds}s (corpus $corpus)"
  status=0
  SPOOL_FUZZ_TARGET="$target" "$bin" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=262144 -artifact_prefix="$work/artifacts-$target/" -print_final_stats=1 > "$work/$target.log" 2>&1 || status=$?
  grep -E '^#|stat::|ERROR|SUMMARY|oracle|Done' "$work/$target.log" | tail -12 || true
  if [ "$status" -ne 0 ]; then echo "fuzz $target: finding (exit $status), see $work/artifacts-$target/" >&2; exit 1; fi
done
