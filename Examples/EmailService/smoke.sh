#!/usr/bin/env bash
# Builds the example app, starts it on a fresh data directory, POSTs three emails (one good, one
# that fails its first attempt, one that can never be delivered), waits until the worker has
# settled them, checks the dead letter and the metrics, then sends SIGTERM and checks that the
# app shuts down gracefully within 10 s. Exit status 0 when all of that held.
# Usage: Examples/EmailService/smoke.sh   (from anywhere; SMOKE_SKIP_BUILD=1 reuses a build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if [[ "${SMOKE_SKIP_BUILD:-0}" != 1 ]]; then
    started=$(date +%s)
    swift build --product EmailService
    echo "smoke: build took $(( $(date +%s) - started )) s"
fi
binary="$(swift build --show-bin-path)/EmailService"

data=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
log="$data/app.log"
cleanup() {
    [[ -n "${pid:-}" ]] && kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
fail() { echo "smoke: FAIL: $*"; echo "--- app log:"; tail -n 40 "$log" || true; exit 1; }

SPOOL_DIR="$data/spool" PORT=$port "$binary" >"$log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -sf "$url/stats" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || fail "the app exited before it listened"
    sleep 0.1
done
curl -sf "$url/stats" >/dev/null || fail "the app did not listen on $url within 30 s"

post() { curl -sf -X POST "$url/emails" -H 'content-type: application/json' -d "$1"; echo; }
post '{"to":"ada@example.com","subject":"hello"}' | grep -q '"offset"' || fail "POST not accepted"
post '{"to":"bob@flaky.example","subject":"retry me"}' >/dev/null || fail "POST not accepted"
post '{"to":"nobody","subject":"never"}' >/dev/null || fail "POST not accepted"

for _ in $(seq 1 300); do
    stats=$(curl -sf "$url/stats" || true)
    if grep -q '"succeeded":2' <<<"$stats" && grep -q '"deadLettered":1' <<<"$stats"; then break; fi
    sleep 0.1
done
grep -q '"succeeded":2' <<<"$stats" && grep -q '"deadLettered":1' <<<"$stats" || fail "not processed within 30 s: $stats"
grep -q '"failed":1' <<<"$stats" || fail "the flaky address should have failed once: $stats"
grep -q '"lag":0' <<<"$stats" || fail "lag should be 0: $stats"
letters=$(curl -sf "$url/dead-letters")
grep -q 'not an email address: nobody' <<<"$letters" && grep -q '"job":"send-email"' <<<"$letters" || fail "dead letter missing its reason or job: $letters"
metrics=$(curl -sf "$url/metrics")
grep -q '^spool_acked_total{.*} 2' <<<"$metrics" || fail "spool_acked_total missing: $(grep spool_ <<<"$metrics" | head)"
grep -q '^spool_enqueued_total{queue="emails"} 3' <<<"$metrics" || fail "spool_enqueued_total missing"
grep -q 'queue="emails/groups' <<<"$metrics" && fail "a group's own log shows up in the metrics"

begin=$(date +%s%N)
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
took=$(( ($(date +%s%N) - begin) / 1000000 ))
(( status == 0 )) || fail "exit status $status after SIGTERM"
(( took < 10000 )) || fail "shutdown took $took ms"
echo "smoke: ok (3 POSTs processed, dead letter listed, metrics scraped, SIGTERM to exit in $took ms)"
