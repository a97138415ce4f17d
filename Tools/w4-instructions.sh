#!/bin/sh
# Instructions per W4 claim+ack (100 tasks) under callgrind: machine load does not change them,
# so they compare builds on a shared machine where wall-clock figures are noise (issue 19).
#
#   Tools/w4-instructions.sh [WORKDIR]     # prints Ir for 200 and 400 claims and the difference / 200
#
# It drains 20,000 and 40,000 tasks (W2's payload, 100 per append) with `spool-profile`, a
# synchronous harness (valgrind 3.19 crashes on the async `spool` binary), and divides the
# difference by the 200 extra claim+ack cycles, so that open and close cancel out.
set -eu
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/w4-instructions.XXXXXX)}
mkdir -p "$work"
swift build -c release --product spool-profile >/dev/null
# valgrind 3.19 cannot read the DWARF 5 Swift emits: profile a copy without debug info (symbols stay).
strip --strip-debug -o "$work/spool-profile" .build/release/spool-profile
total() {
    rm -rf "$work/fill$1" "$work/drain$1"
    "$work/spool-profile" fill "$work/fill$1" "$1" >/dev/null
    cp -a "$work/fill$1" "$work/drain$1"
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1.out" \
        "$work/spool-profile" drain "$work/drain$1" "$1" >/dev/null 2>"$work/valgrind.$1.log"
    grep -E '^(summary|totals):' "$work/callgrind.$1.out" | head -1 | awk '{print $2}'
}
a=$(total 20000)
b=$(total 40000)
echo "{\"ir_200_claims\":$a,\"ir_400_claims\":$b,\"ir_per_claim_ack_100\":$(( (b - a) / 200 )),\"profiles\":\"$work\"}"
