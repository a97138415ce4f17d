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
# The objects of the current sources only: a Swift module's come from its output-file-map.json
# (a scratch directory reused across commits keeps objects of files since deleted, which would
# be linked in otherwise); a C module's are all its objects.
objects=()
while IFS= read -r o; do objects+=("$o"); done < <(python3 - "$bin" <<'PY'
import json, os, sys
bin = sys.argv[1]
skip = ("spool.build", "SpoolCLI.build", "SpoolTesting.build")
for module in sorted(os.listdir(bin)):
    d = os.path.join(bin, module)
    if not module.endswith(".build") or module in skip or "ArgumentParser" in module or "Tests.build" in module:
        continue
    ofm = os.path.join(d, "output-file-map.json")
    if os.path.exists(ofm):
        for entry in json.load(open(ofm)).values():
            if entry.get("object") and os.path.exists(entry["object"]):
                print(entry["object"])
    else:
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith(".o"):
                    print(os.path.join(root, f))
PY
)
swiftc -sanitize=fuzzer,address "${objects[@]}" -llz4 -lzstd -lz -lsnappy -o "$bin/spool-fuzz" 2> >(grep -v 'ld.gold: warning' >&2)
echo "$bin/spool-fuzz"
