#!/usr/bin/env bash
# Builds Spool's DocC catalog with the swift-docc-plugin (for CI: call it from .ci/run) and checks
#  1. that each tutorial listing is the example's code: every stage's lines appear, in order, in
#     the Examples/EmailService file it stages, and the last stage of each file IS that file;
#  2. that DocC builds with no warning at all (--warnings-as-errors): none about the catalog's
#     articles and tutorials, none about symbol comments;
#  3. that the archive holds the tutorial page and its table of contents.
# Exit status 0 when all of that held. Usage: Tools/docs-ci.sh   (from anywhere)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
resources=Sources/Spool/Spool.docc/Resources
example=Examples/EmailService
fail() { echo "docs-ci: FAIL: $*" >&2; exit 1; }

# listing → example file it stages; the last listing of each file must equal that file.
listings=(
    "email-service-01-package.swift  Package.swift"
    "email-service-02-job.swift      Sources/EmailService/Email.swift"
    "email-service-03-job.swift      Sources/EmailService/Email.swift"
    "email-service-04-root.swift     Sources/EmailService/EmailService.swift"
    "email-service-05-routes.swift   Sources/EmailService/EmailService.swift"
    "email-service-06-services.swift Sources/EmailService/EmailService.swift"
    "email-service-07-stats.swift    Sources/EmailService/EmailService.swift"
)
declare -A last
for entry in "${listings[@]}"; do
    read -r listing target <<<"$entry"
    [[ -f "$resources/$listing" ]] || fail "$resources/$listing is missing"
    [[ -f "$example/$target" ]] || fail "$example/$target is missing"
    # Lines only on the left of a diff are lines the listing has and the example lacks (or has
    # in another order): the listing drifted from the example.
    drift=$(diff "$resources/$listing" "$example/$target" | grep '^<' || true)
    [[ -z "$drift" ]] || fail "$resources/$listing is not a stage of $example/$target; lines not in it (in order):
$drift
Update the listing from the example (the example is what CI builds and runs)."
    last[$target]=$listing
done
for target in "${!last[@]}"; do
    cmp -s "$resources/${last[$target]}" "$example/$target" ||
        fail "$resources/${last[$target]}, the tutorial's last listing of $target, differs from $example/$target: copy the example over it"
done
for listing in "$resources"/*.swift; do
    grep -q "$(basename "$listing")" Sources/Spool/Spool.docc/Tutorials/*.tutorial ||
        fail "$listing is used by no tutorial step"
done
echo "docs-ci: ${#listings[@]} tutorial listings match $example"

started=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift package generate-documentation --target Spool --warnings-as-errors >"$log" 2>&1; then
    cat "$log"
    fail "swift package generate-documentation failed (see its output above)"
fi
# DocC names each diagnostic's file after "-->", relative to the catalog: articles and tutorials
# are `*.md` and `*.tutorial` there, symbol comments `../Dir/File.swift`.
catalog_diagnostics=$(grep -E -- '-->[[:space:]]+[^ ]+\.(md|tutorial):' "$log" || true)
if [[ -n "$catalog_diagnostics" ]]; then
    cat "$log"
    fail "DocC reported problems in the catalog's articles or tutorials:
$catalog_diagnostics"
fi
# Symbol-comment warnings, each as "FILE:LINE" relative to the catalog ("../Dir/File.swift").
# (With --warnings-as-errors the build fails on them already; this names them plainly.)
pending=()
symbol_warnings=$(grep -A3 -E '^warning: ' "$log" | grep -oE -- '-->[[:space:]]+[^ ]+\.swift:[0-9]+' | sed -E 's/^-->[[:space:]]+//' | sort -u || true)
unexpected=""
for where in $symbol_warnings; do
    [[ " ${pending[*]} " == *" $where "* ]] || unexpected+="$where"$'\n'
done
if [[ -n "$unexpected" ]]; then
    cat "$log"
    fail "DocC warned about symbol comments at:
$unexpected(fix them: DocC's message is in the output above)"
fi
# The plugin prints where the archive went; it is under .build unless --output-path is given.
archive=$(grep -o '[^ ]*Spool\.doccarchive' "$log" | tail -n 1)
[[ -d "$archive" ]] || { cat "$log"; fail "no Spool.doccarchive found in the plugin's output"; }
for page in data/tutorials/spool.json data/tutorials/spool/buildinganemailservice.json; do
    [[ -s "$archive/$page" ]] || fail "$archive/$page was not produced"
done
# Each of the tutorial's steps must have reached the page with its listing.
for listing in "$resources"/*.swift; do
    grep -q "$(basename "$listing")" "$archive/data/tutorials/spool/buildinganemailservice.json" ||
        fail "the tutorial page in $archive lacks the listing $(basename "$listing")"
done
echo "docs-ci: documentation built in $(( $(date +%s) - started )) s, no DocC warning: $archive"
