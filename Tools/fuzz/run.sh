#!/usr/bin/env bash
# Runs the libFuzzer targets (batch, index, recovery, kafka) for SECONDS each, with a corpus seeded
# from fixtures/ (Tools/fuzz/README.md). Run from anywhere; builds first (Tools/fuzz/build.sh).
#   Tools/fuzz/run.sh [SECONDS] [TARGETS...]       e.g. Tools/fuzz/run.sh 600   (the long run)
# Exit code 1 when a target finds a crash, a hang, an ASan report or an oracle failure; the
# input is kept in the corpus folder's crash-*/timeout-* file.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-20}"; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(batch index recovery kafka)
bin="$(Tools/fuzz/build.sh "${SPOOL_FUZZ_SCRATCH:-/tmp/build-spool-fuzz}")"
work="${SPOOL_FUZZ_WORK:-/tmp/spool-fuzz-corpus}"
for target in "${targets[@]}"; do
  corpus="$work/$target"; mkdir -p "$corpus" "$work/artifacts-$target"
  # Seeds: every batch file and segment of fixtures/ (batch, recovery), every index (index),
  # every captured Kafka request and canned response (kafka).
  case "$target" in
    batch) find fixtures/format fixtures/interop fixtures/recovery/golden-* -name '*.bin' -o -name '*.log' -path '*golden*' -o -name '*.log' -path '*interop*' | while read -r f; do cp "$f" "$corpus/seed-$(echo "$f" | tr '/' '_')"; done ;;
    index) find fixtures/recovery -name '*.index' -o -name '*.timeindex' | while read -r f; do cp "$f" "$corpus/seed-$(echo "$f" | tr '/' '_')"; done ;;
    recovery) find fixtures/recovery -name '*.log' | while read -r f; do cp "$f" "$corpus/seed-$(echo "$f" | tr '/' '_')"; done ;;
    # Captured requests: mode byte 0, then the frame without its size prefix. Canned responses:
    # mode byte 1, API key and version (int16 each, from the file name), then the frame.
    kafka)
      for f in fixtures/kafka-protocol/requests/*/*.bin; do { printf '\x00'; tail -c +5 "$f"; } > "$corpus/seed-$(echo "$f" | tr '/' '_')"; done
      for f in fixtures/kafka-protocol/responses/*.bin; do
        name="$(basename "$f" .bin)"; version="${name##*-v}"
        case "${name%-v*}" in
          Produce) key=0 ;; Fetch) key=1 ;; ListOffsets) key=2 ;; Metadata) key=3 ;; OffsetCommit) key=8 ;; OffsetFetch) key=9 ;;
          FindCoordinator) key=10 ;; JoinGroup) key=11 ;; Heartbeat) key=12 ;; LeaveGroup) key=13 ;; SyncGroup) key=14 ;;
          DescribeGroups) key=15 ;; ListGroups) key=16 ;; ApiVersions) key=18 ;; CreateTopics) key=19 ;; DeleteTopics) key=20 ;;
          ShareGroupHeartbeat) key=76 ;; ShareFetch) key=78 ;; ShareAcknowledge) key=79 ;; *) continue ;;
        esac
        { printf "\\x01\\x00\\x$(printf %02x "$key")\\x00\\x$(printf %02x "$version")"; tail -c +5 "$f"; } > "$corpus/seed-$(echo "$f" | tr '/' '_')"
      done ;;
  esac
  echo "fuzz $target for ${seconds}s (corpus $corpus)"
  status=0
  SPOOL_FUZZ_TARGET="$target" "$bin" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=262144 -artifact_prefix="$work/artifacts-$target/" -print_final_stats=1 > "$work/$target.log" 2>&1 || status=$?
  grep -E '^#|stat::|ERROR|SUMMARY|oracle|Done' "$work/$target.log" | tail -12 || true
  if [ "$status" -ne 0 ]; then echo "fuzz $target: finding (exit $status), see $work/artifacts-$target/" >&2; exit 1; fi
done
