#!/usr/bin/env bash
# Builds Tools/fuzz into one libFuzzer binary, instrumented for coverage and with
# AddressSanitizer: the SpoolFuzz library (and Spool, SpoolFormat and their dependencies) are
# compiled by SwiftPM with -sanitize=fuzzer,address, then linked by swiftc with libFuzzer's main.
# (SwiftPM cannot link a libFuzzer executable itself: an executable target brings its own main,
# which collides with libFuzzer's.)
#   Tools/fuzz/build.sh [scratch path]     -> prints the binary's path
set -euo pipefail
cd "$(dirname "$0")"
scratch="${1:-/tmp/build-spool-fuzz}"
flags=(-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)
swift build --scratch-path "$scratch" "${flags[@]}" --target SpoolFuzz >&2
bin="$(swift build --scratch-path "$scratch" "${flags[@]}" --show-bin-path)"
objects=()
while IFS= read -r -d '' o; do objects+=("$o"); done < <(find "$bin" -name '*.o' -path '*.build/*' ! -path '*/spool.build/*' \
  ! -path '*/SpoolCLI.build/*' ! -path '*ArgumentParser*' ! -path '*Tests.build/*' -print0)
swiftc -sanitize=fuzzer,address "${objects[@]}" -llz4 -lzstd -lz -lsnappy -o "$bin/spool-fuzz" 2> >(grep -v 'ld.gold: warning' >&2)
echo "$bin/spool-fuzz"
