#!/usr/bin/env bash
# Writes the seed corpus of signer_verifier_fuzz (see verifier_fuzz.cc for the input layout)
# from the RFC 8995 vectors, with the openssl command line (whose CMS_sign output our
# CmsSigner reproduces byte for byte). Run once; the seeds are checked in.
#   signer/fuzz/make_verifier_seeds.sh [VECTORS_DIR]
set -euo pipefail
cd "$(dirname "$0")"
v=${1:-../../../shared/vectors}/rfc8995
out=corpus/signer_verifier_fuzz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# [voucher][owner][conveyed][owner length][voucher length], lengths little-endian uint16.
pack() {
  /usr/bin/python3 - "$@" <<'PY'
import struct, sys
out, voucher, owner, conveyed = sys.argv[1:5]
read = lambda p: open(p, 'rb').read() if p != '-' else b''
v, o, c = read(voucher), read(owner), read(conveyed)
open(out, 'wb').write(v + o + c + struct.pack('<H', len(o)) + struct.pack('<H', len(v)))
PY
}
sign() {  # sign <content> <eContentType OID> <cert> <key> <out> [extra certificate]
  local extra=()
  [ $# -ge 6 ] && extra=(-certfile "$6")
  openssl cms -sign -in "$1" -econtent_type "$2" -signer "$3" -inkey "$4" "${extra[@]}" \
    -nodetach -binary -nosmimecap -md sha256 -outform DER -out "$5"
}
der() { openssl x509 -in "$1" -outform DER | base64 -w0; }

# 1. RFC 8995 Appendix C's voucher as a pledge receives it; the pinned registrar certificate
#    (jrc) is also the owner certificate and signs the conveyed information.
tr -d ' \n' <"$v/voucher_00-D0-E5-F2-00-02.b64" | base64 -d >"$tmp/rfc.der"
openssl crl2pkcs7 -nocrl -certfile "$v/jrc_prime256v1.crt" -outform DER -out "$tmp/jrc_bag.der"
printf '{"ietf-sztp-conveyed-info:onboarding-information":{}}' >"$tmp/info.json"
sign "$tmp/info.json" 1.2.840.113549.1.9.16.1.43 "$v/jrc_prime256v1.crt" \
  "$v/jrc_prime256v1.key" "$tmp/info_json.der"
pack "$out/rfc8995_voucher" "$tmp/rfc.der" - -
pack "$out/rfc8995_onboarding" "$tmp/rfc.der" "$tmp/jrc_bag.der" "$tmp/info_json.der"

# 2. A voucher signed with the MASA's vector key (id-ct-animaJSONVoucher, the vendor CA
#    embedded) pinning the owner CA, with every leaf the verifier reads; the owner bag
#    holds the registrar certificate and its CA, the conveyed information is XML.
cat >"$tmp/voucher.json" <<JSON
{"ietf-voucher:voucher":{"created-on":"2021-05-31T00:00:00Z","assertion":"verified","serial-number":"00-D0-E5-F2-00-02","idevid-issuer":"BBQXFxcXFxcXFxcXFxcXFxcXFxc=","pinned-domain-cert":"$(der "$v/ownerca_secp384r1.crt")","domain-cert-revocation-checks":false,"nonce":"+/XE9zK9q8Ll1qylMtLKeg==","masa-extended-voucher:platform-key-certificate":"$(der "$v/jrc_prime256v1.crt")"}}
JSON
tr -d '\n' <"$tmp/voucher.json" >"$tmp/voucher.min.json"
sign "$tmp/voucher.min.json" 1.2.840.113549.1.9.16.1.40 "$v/masa.crt" "$v/masa.key" \
  "$tmp/ours.der" "$v/vendor.crt"
openssl crl2pkcs7 -nocrl -certfile "$v/jrc_prime256v1.crt" \
  -certfile "$v/ownerca_secp384r1.crt" -outform DER -out "$tmp/owner_bag.der"
printf '<onboarding-information xmlns="urn:ietf:params:xml:ns:yang:ietf-sztp-conveyed-info"/>' \
  >"$tmp/info.xml"
sign "$tmp/info.xml" 1.2.840.113549.1.9.16.1.42 "$v/jrc_prime256v1.crt" \
  "$v/jrc_prime256v1.key" "$tmp/info_xml.der"
pack "$out/pinned_owner_ca_onboarding" "$tmp/ours.der" "$tmp/owner_bag.der" "$tmp/info_xml.der"
