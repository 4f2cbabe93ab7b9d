#!/usr/bin/env bash
# The README's main command end to end, as a new user runs it: scripts/run.sh on a fresh
# state folder builds (showing the build's own progress), provisions, starts masad, requests
# a voucher through the REST API and verifies it; then it keeps masad running until stopped.
# Usage: run_sh_test.sh SOURCE_DIR   (ctest runs it only for the build/ folder run.sh uses)
set -euo pipefail
src=$1
work=$(mktemp -d)
out=$work/out.log
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; echo "--- run.sh output:"; cat "$out"; exit 1; }

MASA_STATE=$work/state MASA_PORT=0 setsid "$src/scripts/run.sh" >"$out" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 1200); do
  grep -q '^masad is running' "$out" && break
  kill -0 "$pid" 2>/dev/null || fail "run.sh exited before masad was running"
  sleep 0.5
done
grep -q '^masad is running' "$out" || fail "masad was not running after 10 minutes"

# A new user sees the build happen instead of minutes of silence.
# (make says "Built target masad" even with nothing to do; Ninja, which scripts/build.sh uses
# for a new build folder, numbers each step it takes, "[3/41] ...", or says it has nothing
# to do.)
grep -qE 'Built target masad|^\[[0-9]+/[0-9]+\] |ninja: no work to do' "$out" \
  || fail "the build's progress was not shown"
grep -q '^build ready: ' "$out" || fail "no line says the build is ready"
# The voucher it requested verified as a device would, and with openssl.
grep -q 'CMS Verification successful' "$out" || fail "openssl cms -verify did not succeed"
[ -s "$work/state/SN-0001.vcj" ] || fail "no voucher was downloaded"
url=$(sed -n 's/^masad is running: \([^ ]*\).*/\1/p' "$out")
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/state/tls-ca.pem" "$url/healthz")
[ "$code" = 200 ] || fail "masad at $url answered /healthz with $code"

# It says where the web application is and how to sign in, and both work: the page loads
# with its security headers, and the admin token it prints starts a session (the cookie).
grep -q "^web application:  $url/ " "$out" || fail "no line gives the web application's address"
grep -q '^  sign in: .*admin token' "$out" || fail "no line says how to sign in"
headers=$work/headers.txt
code=$(curl -sS -D "$headers" -o "$work/index.html" -w '%{http_code}' \
  --cacert "$work/state/tls-ca.pem" "$url/")
[ "$code" = 200 ] || fail "the web application at $url/ answered $code"
grep -qi "^content-security-policy: default-src 'self'; script-src 'self'" "$headers" ||
  fail "the web application's page has no Content-Security-Policy"
grep -q '<script type="module" src="/assets/js/app.js"' "$work/index.html" ||
  fail "the page at $url/ is not the web application"
(umask 077 && printf '{"token":"%s"}' "$(cat "$work/state/admin.token")" >"$work/signin.json")
code=$(curl -sS -D "$headers" -o /dev/null -w '%{http_code}' --cacert "$work/state/tls-ca.pem" \
  -H 'Content-Type: application/json' --data-binary @"$work/signin.json" "$url/auth/token")
[ "$code" = 200 ] || fail "signing in with the admin token answered $code"
grep -qi '^set-cookie: __Host-masa_session=.*HttpOnly; SameSite=Strict' "$headers" ||
  fail "signing in set no session cookie"

# Ctrl-C (here SIGTERM to its process group) stops masad with it.
kill -TERM -- "-$pid"
wait "$pid" 2>/dev/null || true
pid=
! pgrep -f "$work/state/masad.toml" >/dev/null || fail "masad still runs after run.sh stopped"
echo "run.sh: built, provisioned, served and verified a voucher, signed in to the web, stopped"
