#!/usr/bin/env bash
# Regenerates fixtures/recovery/ (golden roots of each codec, one damaged root per defect kind,
# each with expected.json) with the hidden `spool make-fixtures` subcommand. Never edit the
# fixtures by hand: change Sources/SpoolCLI/Fixtures/ and run this, then commit both.
#   Tools/make-fixtures.sh [scratch path]
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=()
if [ $# -ge 1 ]; then scratch=(--scratch-path "$1"); fi
swift build "${scratch[@]}" --product spool
"$(swift build "${scratch[@]}" --show-bin-path)/spool" make-fixtures --out fixtures/recovery
cat > fixtures/recovery/README.md <<'DOC'
# Recovery fixtures

Made by `Tools/make-fixtures.sh` (the hidden `spool make-fixtures`, Sources/SpoolCLI/Fixtures/),
never by hand. Each folder holds a data directory (`root/`) and `expected.json`: what reopening
it must give, checked by Tests/SpoolTests/FixtureOutcomeTests.swift.

- `golden-none`, `golden-lz4`, `golden-zstd`: 300 tasks of 250 bytes (ids 1-300, as
  `spool enqueue --count` makes them), 10 per batch, 64 KiB segments, consumer group `g` with
  the first 100 acked, closed cleanly, timestamps fixed.
- `corrupt-*`: a copy of `golden-none` with one defect (its `description` says which), made by a
  byte mutation at a position the generator computed from the batches it wrote.

`expected.json`: `open` is opening queue `q` (recovery); `read` is reading the whole queue
from offset 0; `group` is opening group `g` (its watermark when it opens); `broken_files` are the
`.broken` files recovery must leave. An error names `code`, `file` (relative to `root/`) and,
where given, `position` (bytes) and `offset` (records).

`spool verify` and `spool repair --dry-run` output for these roots is not pinned here yet.
DOC
