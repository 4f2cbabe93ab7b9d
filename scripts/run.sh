#!/usr/bin/env bash
# The main job on the embedded defaults: builds the appliance, provisions a development
# SoftHSM2 token and PKI under ./state (once), issues an ownership voucher for a sample
# serial number through the HSM, and verifies it the way a device would.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=${MASA_STATE:-$root/state}

scripts/install-deps.sh
scripts/build.sh build >/dev/null
masactl=$root/build/tools/masactl

step() { printf '\n== %s\n' "$*"; }

if [ ! -e "$state/softhsm2.conf" ]; then
  step "provisioning a development HSM token and PKI in $state"
  "$masactl" dev-init --state "$state"
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
fi

serial=${MASA_SAMPLE_SERIAL:-SN-0001}
step "signing a voucher for serial $serial (key in the HSM)"
"$masactl" voucher sign --state "$state" --serial "$serial" --pdc "$demo/owner-ca.pem" \
  --out "$state/$serial.vcj" --force
"$masactl" voucher show "$state/$serial.vcj"

step "verifying it as a device would (RFC 8572 section 5.4)"
"$masactl" voucher verify --trust-anchor "$state/trust-anchor.pem" --serial "$serial" \
  --owner-cert "$demo/owner-cert.cms" --conveyed-info "$demo/conveyed-info.cms" \
  "$state/$serial.vcj"

step "cross-checking with OpenSSL"
openssl cms -verify -binary -inform DER -in "$state/$serial.vcj" \
  -CAfile "$state/trust-anchor.pem" -out /dev/null
printf '\nvoucher: %s\n' "$state/$serial.vcj"
