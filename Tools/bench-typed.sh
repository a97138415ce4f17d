#!/usr/bin/env bash
# Typed jobs against raw bytes (issue 18), back to back: each round runs W2 (enqueue, 100 tasks
# per durable commit) raw then typed, and W4 (claim 100, ack in one commit) raw then typed, each
# in a fresh directory, and prints the typed/raw ratio of that round. Relative figures in one
# round are what carry over on a machine shared with other work.
# Usage: Tools/bench-typed.sh [rounds=3] [n=200000]   (after `swift build -c release`)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
spool=${SPOOL:-$repo/.build/release/spool}
rounds=${1:-3}
n=${2:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tps() { grep -o '"tps":[0-9.]*' | cut -d: -f2; }
for round in $(seq 1 "$rounds"); do
    rm -rf "$work"/*
    w2raw=$("$spool" bench enqueue --dir "$work/raw" --n "$n" --batch 100 | tps)
    w2typed=$("$spool" bench enqueue --dir "$work/typed" --n "$n" --batch 100 --typed | tps)
    w4raw=$("$spool" bench drain --dir "$work/raw" --n "$n" --batch 100 | tps)
    w4typed=$("$spool" bench drain --dir "$work/typed" --n "$n" --batch 100 --typed | tps)
    awk -v r="$round" -v a="$w2raw" -v b="$w2typed" -v c="$w4raw" -v d="$w4typed" 'BEGIN {
        printf "round %d: W2 raw %.0f/s typed %.0f/s typed/raw %.2f | W4 raw %.0f/s typed %.0f/s typed/raw %.2f\n", r, a, b, b / a, c, d, d / c }'
done
