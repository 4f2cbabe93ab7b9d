#!/usr/bin/env bash
# The main job on the embedded defaults: builds the appliance, provisions (once) a
# development SoftHSM2 token, PKI, an organization with an admin token and sample serial
# numbers under ./state, starts masad on localhost over HTTPS, requests a voucher through the
# REST API, verifies it the way a device would, and keeps masad running (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=${MASA_STATE:-$root/state}
port=${MASA_PORT:-8443}

step() { printf '\n== %s\n' "$*"; }

scripts/install-deps.sh
# The build's own lines: on a terminal one line that updates in place, elsewhere (a log, CI)
# every line. The whole output is kept in build.log and its end shown if the build fails.
step "building into build/ (the first build takes a few minutes; output in build.log)"
show_progress() {
  if [ -t 1 ]; then
    while IFS= read -r line; do printf '\r\033[K%s' "${line:0:$(( $(tput cols 2>/dev/null || echo 100) - 1 ))}"; done
    printf '\r\033[K'
  else
    cat
  fi
}
if ! scripts/build.sh build 2>&1 | tee build.log | show_progress; then
  tail -n 40 build.log
  echo "the build failed; the whole output is in $root/build.log" >&2
  exit 1
fi
echo "build ready: $root/build/tools"
bin=$root/build/tools

if [ ! -e "$state/softhsm2.conf" ]; then
  step "provisioning a development HSM token, PKI and TLS identity in $state"
  "$bin/masactl" dev-init --state "$state"
  step "creating organization 'example' with its first admin"
  "$bin/masactl" org create --state "$state" --name example --admin admin@example.com \
    --token-out "$state/admin.token"
  "$bin/masactl" serials assign --state "$state" --org org-example \
    --serials "$(seq -f 'SN-%04g' 1 20 | paste -sd, -)"
else
  step "using the existing development state in $state"
fi

# A sample customer: an owner CA (the pinned-domain certificate), an owner certificate it
# issued, and signed onboarding information, made with the openssl CLI as a customer would.
demo=$state/demo
if [ ! -e "$demo/owner.pem" ]; then
  step "creating a sample customer PKI in $demo"
  mkdir -p "$demo" && chmod 700 "$demo"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=Example Customer/CN=Example Customer Owner CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$demo/owner-ca.key" -out "$demo/owner-ca.pem" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=Example Customer/CN=owner-signer" -keyout "$demo/owner.key" 2>/dev/null |
    openssl x509 -req -CA "$demo/owner-ca.pem" -CAkey "$demo/owner-ca.key" -days 825 \
      -set_serial 2 -extfile <(printf 'keyUsage=critical,digitalSignature\n') \
      -out "$demo/owner.pem" 2>/dev/null
  openssl crl2pkcs7 -nocrl -certfile "$demo/owner.pem" -outform DER -out "$demo/owner-cert.cms"
  printf '{"ietf-sztp-conveyed-info:onboarding-information":{"boot-image":{"os-name":"demo"}}}' \
    >"$demo/onboarding.json"
  openssl cms -sign -binary -nodetach -md sha256 -econtent_type 1.2.840.113549.1.9.16.1.43 \
    -signer "$demo/owner.pem" -inkey "$demo/owner.key" -nocerts -in "$demo/onboarding.json" \
    -outform DER -out "$demo/conveyed-info.cms"
  # The request body: the owner CA pasted as the pinned-domain certificate.
  python3 - "$demo" <<'PY'
import json, sys
d = sys.argv[1]
body = {"serial_numbers": ["SN-0001"], "pdc": open(d + "/owner-ca.pem").read()}
open(d + "/request.json", "w").write(json.dumps(body))
PY
fi

# The web application's files from this source tree (an installed masad uses the copy
# `cmake --install` put in share/masa/web). States made before it existed get the section.
if ! grep -q '^\[web\]' "$state/masad.toml"; then
  printf '\n[web]\nroot = "%s/web"\n' "$root" >>"$state/masad.toml"
fi

step "starting masad on 127.0.0.1:$port"
log=$state/masad.log
"$bin/masad" --config "$state/masad.toml" --listen "127.0.0.1:$port" >"$log" 2>&1 &
masad=$!
trap 'kill -TERM $masad 2>/dev/null; wait $masad 2>/dev/null' INT TERM EXIT
for _ in $(seq 1 100); do
  grep -q 'listening' "$log" 2>/dev/null && break
  kill -0 $masad 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^masad listening on //p' "$log")
grpc=$(sed -n 's/^masad grpc on //p' "$log")  # [grpc] listen of masad.toml; none in old states
# curl reads the token from a config file, so it never appears in a process list.
auth=$state/curl-auth.conf
(umask 077 && printf 'header = "Authorization: Bearer %s"\n' "$(cat "$state/admin.token")" >"$auth")

step "requesting a voucher for SN-0001 through the REST API"
answer=$(curl -sS --cacert "$state/tls-ca.pem" -K "$auth" -H 'Content-Type: application/json' \
  --data @"$demo/request.json" "$url/request/ov")
echo "$answer"
voucher_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["vouchers"][0]["voucher_id"])' "$answer")
curl -sS --cacert "$state/tls-ca.pem" -K "$auth" "$url/voucher/$voucher_id"; echo
curl -sS --cacert "$state/tls-ca.pem" -K "$auth" -o "$state/SN-0001.vcj" "$url/voucher/$voucher_id/download"

step "verifying it as a device would (RFC 8572 section 5.4)"
"$bin/masactl" voucher verify --trust-anchor "$state/trust-anchor.pem" --serial SN-0001 \
  --owner-cert "$demo/owner-cert.cms" --conveyed-info "$demo/conveyed-info.cms" \
  "$state/SN-0001.vcj"
openssl cms -verify -binary -inform DER -in "$state/SN-0001.vcj" \
  -CAfile "$state/trust-anchor.pem" -out /dev/null

# Sign-in: the admin token always; single sign-on when masad.toml has an [oidc] section.
sso=$(sed -n 's/^masad web application on .*(sign in with an API token or \(.*\))$/\1/p' "$log")
if [ -n "$sso" ]; then
  signin="\"Sign in using $sso\", or paste the admin token below"
else
  signin="paste the admin token below (single sign-on: add [oidc] to $state/masad.toml)"
fi

cat <<MSG

masad is running: $url   (log: $log; Ctrl-C stops it)
web application:  $url/   (open it in a browser)
  sign in:        $signin
  the browser does not know the development CA: accept its warning, or import
  $state/tls-ca.pem
admin token:      $(cat "$state/admin.token")
serial numbers:   SN-0001 .. SN-0020 (organization org-example)

request a voucher:
  curl --cacert $state/tls-ca.pem -K $auth -H 'Content-Type: application/json' \\
       --data @$demo/request.json $url/request/ov
the API:          curl --cacert $state/tls-ca.pem $url/openapi.json
gRPC (OVGS):      ${grpc:-off}   (TLS, the same token as metadata "authorization: Bearer TOKEN")
MSG
wait $masad
