#!/usr/bin/env bash
# CI's crash-recovery drill: a short `spool drill` of every fault kind, run with the binary
# that Tools/test.sh already built (it does not build anything). Exit code 1 on any violation;
# the output names the seed that replays it. DRILLS.md has the long runs and what they prove.
#   Tools/drill-ci.sh [scratch path]      (default: SwiftPM's default, .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=()
if [ $# -ge 1 ]; then scratch=(--scratch-path "$1"); fi
bin="$(swift build "${scratch[@]}" --show-bin-path)/spool"
if [ ! -x "$bin" ]; then
  echo "drill-ci: $bin is missing: run Tools/test.sh (which builds it) first" >&2
  exit 2
fi
dir="$(mktemp -d /tmp/spool-drill-ci.XXXXXX)"
seed="${SPOOL_DRILL_SEED:-$(date +%s)}"
status=0
# kill and powercut: each cycle kills a writer and a consumer; the corruption faults damage a
# copy of the root 5 times per cycle. About two minutes on 2 cores.
"$bin" drill --dir "$dir" --faults kill,powercut --cycles "${SPOOL_DRILL_CYCLES:-40}" --seed "$seed" || status=$?
if [ "$status" -eq 0 ]; then
  "$bin" drill --dir "$dir" --faults bitflip,truncate,zero,garbage --cycles "${SPOOL_DRILL_CORRUPT_CYCLES:-10}" --seed "$seed" || status=$?
fi
# plant (symlinks and FIFOs where a root keeps files) and groupstate (checkpoint or group-log
# damage): every injection must be refused clearly or cost no acked task.
if [ "$status" -eq 0 ]; then
  "$bin" drill --dir "$dir" --faults plant,groupstate --cycles "${SPOOL_DRILL_PLANT_CYCLES:-10}" --seed "$seed" || status=$?
fi
if [ "$status" -eq 0 ]; then rm -rf "$dir"; else echo "drill-ci: kept $dir for inspection (seed $seed)" >&2; fi
exit "$status"
