// The key lifecycle's shared helpers (keys.cc, key_approvals.cc, key_rotation.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "service/keys.h"
#include "store/records.h"
#include "store/store.h"

namespace masa::service::internal {

// The audit target of a key: "<vendor org>/key:<key id>".
std::string KeyTarget(std::string_view vendor_org, std::string_view key_id);
KeyState FromStored(store::KeyState state);
// The record as keys.h shows it: the certificate's subject, validity and fingerprint read
// from the leaf of its chain (left empty when it does not parse).
KeyInfo ToKeyInfo(const store::KeyRecord& record);
// Every key record (a handful: the table is small by nature).
absl::StatusOr<std::vector<store::KeyRecord>> AllKeys(const store::Reader& reader);
// The active key of `purpose` ("voucher-signing", "audit"); nullopt when there is none.
absl::StatusOr<std::optional<store::KeyRecord>> ActiveKey(const store::Reader& reader,
                                                          std::string_view purpose);
// "p256", "p384", "rsa3072" or "ed25519" for a DER SubjectPublicKeyInfo; kInvalidArgument
// for anything else.
absl::StatusOr<std::string> AlgorithmOf(std::string_view public_key_der);

}  // namespace masa::service::internal
