#!/usr/bin/env bash
# Spool's main job, end to end, on the default data directory (./spool-data, or $SPOOL_DIR):
# enqueue many tasks durably while recording every acknowledged append in a journal, SIGKILL
# the writer mid-stream, recover, prove that every acknowledged task is there byte for byte,
# and dump the start of a segment. Installs what is missing and builds first.
# CI runs it with SPOOL_DEMO_BIN set to the binary its test build made (no second build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${SPOOL_DEMO_BIN:-}" ]; then
  source Tools/ensure-deps.sh
  spool="$SPOOL_DEMO_BIN"
else
  Tools/setup.sh
  spool=.build/release/spool
fi
dir="${SPOOL_DIR:-./spool-data}"
queue=demo
journal="$dir/demo-journal.txt"
mkdir -p "$dir"
rm -rf "$dir/queues/$queue" "$journal"

echo
echo "== 1. enqueue tasks (4 producers, 10 tasks per durable commit), SIGKILL after 2 s"
$spool enqueue --dir "$dir" --queue "$queue" --count 5000000 --batch 10 --producers 4 --journal "$journal" &
writer=$!
sleep 2
kill -KILL "$writer"
wait "$writer" 2>/dev/null || true
echo "writer killed; the journal lists $(wc -l < "$journal") acknowledged appends"

echo
echo "== 2. recover"
$spool recover --dir "$dir"

echo
echo "== 3. audit: every acknowledged task must be present, byte for byte"
$spool audit --dir "$dir" --queue "$queue" --journal "$journal"

echo
echo "== 4. consume: group 'senders' claims 10,000 tasks and acks them durably"
$spool consume --dir "$dir" --queue "$queue" --group senders --max 10000 --ack > /dev/null
$spool stats --dir "$dir" --queue "$queue"

echo
echo "== 5. verify every batch, index and recovery point"
$spool verify --dir "$dir"

echo
echo "== 6. dump the first batches of the first segment"
first=$(ls "$dir/queues/$queue"/*.log | head -n 1)
$spool dump "$first" --payloads | head -n 6
echo
echo "done: the data is in $dir; try '$spool tail --dir $dir --queue $queue -f', '$spool dump $dir --json | head' or '$spool recover --dir $dir --json'"
