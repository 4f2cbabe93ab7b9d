// The JSON form of a voucher (RFC 8366 section 5.3 / RFC 7951): exactly one top-level member
// "ietf-voucher:voucher" holding the leaves. Encoding is canonical; decoding is strict.
//
//   MASA_ASSIGN_OR_RETURN(std::string json, masa::signer::EncodeVoucherJson(voucher));
//   MASA_ASSIGN_OR_RETURN(masa::signer::Voucher v, masa::signer::DecodeVoucherJson(json));
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "signer/voucher.h"

namespace masa::signer {

// Writes `voucher` as compact JSON (no whitespace) `{"ietf-voucher:voucher":{...}}` with only
// the present leaves, always in this order (the order of the rfc8366bis YANG module):
//   created-on, expires-on, assertion, serial-number, idevid-issuer, pinned-domain-cert,
//   domain-cert-revocation-checks, nonce, pinned-domain-pubk, pinned-domain-pubk-sha256,
//   last-renewal-date, est-domain, additional-configuration, and last our augmentation
//   "masa-extended-voucher:platform-key-certificate" (RFC 7951 section 4: a member from
//   another module than its parent's is qualified with that module's name).
// Binary leaves are standard base64 with padding (RFC 4648 section 4); times are RFC 3339 in
// UTC ("Z"), with fractional seconds only when non-zero; booleans are JSON true/false.
// Does not call Validate(); fails with kInvalidArgument (naming the leaf) only when a string
// leaf is not valid UTF-8 or a time is outside InRfc3339Range (common/time.h: RFC 3339 has
// four-digit years). Equal vouchers give identical bytes, and whatever DecodeVoucherJson
// accepts encodes and decodes back to an equal voucher. Thread-safe.
absl::StatusOr<std::string> EncodeVoucherJson(const Voucher& voucher);

// Parses the JSON form. Accepts any RFC 3339 date-time (offsets, fractions) and, for "nonce"
// only, base64url without padding as well as standard base64 (deployed BRSKI pledges and MASAs
// send base64url nonces, e.g. the RFC 8995 Appendix C voucher). Every other binary leaf must
// be strict standard base64. Times come back in UTC, truncated to nanoseconds. Rejects with kInvalidArgument, naming the member: malformed JSON
// or trailing bytes, a top level that is not exactly {"ietf-voucher:voucher":{...}}, unknown
// or duplicate members at either level (the one augmentation known is
// "masa-extended-voucher:platform-key-certificate"; any other qualified member is unknown), a value of the wrong JSON type, bad base64, a bad
// time, an unknown assertion. Does not call Validate(): a decoded voucher may still lack
// mandatory leaves. Thread-safe.
absl::StatusOr<Voucher> DecodeVoucherJson(std::string_view json);

}  // namespace masa::signer
