#include "tools/audit_proof.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "store/checkpoint.h"
#include "tools/internal/audit_json.h"

namespace masa::tools {

namespace {

using nlohmann::json;

// Base64 of `max` bytes is at most this long: refuse longer text before decoding it.
constexpr size_t Base64Length(size_t max) { return (max + 2) / 3 * 4; }

absl::StatusOr<std::string> B64Field(const json& j, const char* name, size_t max) {
  if (!j.contains(name) || !j[name].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("proof has no string field \"", name, "\""));
  }
  const std::string& text = j[name].get_ref<const std::string&>();
  if (text.size() > Base64Length(max)) {
    return absl::InvalidArgumentError(
        absl::StrCat("proof field \"", name, "\" is over the limit of ", max, " bytes"));
  }
  return Base64Decode(text);
}

}  // namespace

absl::StatusOr<std::string> MakeAuditProof(const store::Reader& reader, uint64_t index) {
  MASA_ASSIGN_OR_RETURN(std::optional<std::string> note, reader.LatestCheckpoint());
  if (!note) {
    return absl::FailedPreconditionError("the log has no signed checkpoint yet; prove later");
  }
  MASA_ASSIGN_OR_RETURN(store::Checkpoint cp, store::ParseCheckpointNote(*note));
  if (index >= cp.tree_size) {
    return absl::FailedPreconditionError(
        absl::StrCat("entry ", index, " is not covered by the latest checkpoint (tree size ",
                     cp.tree_size, "); wait for the next checkpoint"));
  }
  MASA_ASSIGN_OR_RETURN(std::string bytes, reader.AuditEntryBytes(index));
  MASA_ASSIGN_OR_RETURN(store::AuditEntry entry, store::DecodeAuditEntry(bytes));
  MASA_ASSIGN_OR_RETURN(std::vector<store::Hash> proof, reader.InclusionProof(index, cp.tree_size));
  json path = json::array();
  for (const auto& h : proof) path.push_back(Base64Encode(h));
  json out{{"entry_index", index},
           {"entry", internal::AuditEntryJson(entry)},
           {"entry_bytes", Base64Encode(bytes)},
           {"leaf_hash", Base64Encode(store::LeafHash(bytes))},
           {"tree_size", cp.tree_size},
           {"root_hash", Base64Encode(cp.root_hash)},
           {"inclusion_proof", path},
           {"checkpoint", *note}};
  return out.dump(2);
}

absl::StatusOr<AuditProofCheck> CheckAuditProof(std::string_view text, EVP_PKEY* audit_key) {
  if (text.size() > kMaxAuditProofBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "proof of ", text.size(), " bytes is over the limit of ", kMaxAuditProofBytes));
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("proof is not JSON");
  if (audit_key == nullptr) return absl::InvalidArgumentError("check-proof needs --audit-key FILE");
  if (!j.contains("checkpoint") || !j["checkpoint"].is_string() || !j.contains("entry_index") ||
      !j["entry_index"].is_number_unsigned() || !j.contains("inclusion_proof") ||
      !j["inclusion_proof"].is_array()) {
    return absl::InvalidArgumentError("proof lacks checkpoint, entry_index or inclusion_proof");
  }
  MASA_ASSIGN_OR_RETURN(
      store::Checkpoint cp,
      store::VerifyCheckpointNote(j["checkpoint"].get_ref<const std::string&>(), audit_key));
  MASA_ASSIGN_OR_RETURN(std::string bytes, B64Field(j, "entry_bytes", store::kMaxAuditEntryBytes));
  const json& path = j["inclusion_proof"];
  if (path.size() > store::kMaxProofHashes) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion proof has ", path.size(),
                                                   " hashes; no tree needs more than ",
                                                   store::kMaxProofHashes));
  }
  std::vector<store::Hash> proof;
  for (const auto& h : path) {
    if (!h.is_string()) return absl::InvalidArgumentError("proof hashes must be strings");
    const std::string& b64 = h.get_ref<const std::string&>();
    if (b64.size() > Base64Length(store::kHashSize)) {
      return absl::DataLossError("inclusion proof has a bad hash size");
    }
    MASA_ASSIGN_OR_RETURN(std::string raw, Base64Decode(b64));
    proof.push_back(std::move(raw));
  }
  uint64_t index = j["entry_index"].get<uint64_t>();
  MASA_RETURN_IF_ERROR(
      store::VerifyInclusion(store::LeafHash(bytes), index, cp.tree_size, proof, cp.root_hash));
  MASA_ASSIGN_OR_RETURN(store::AuditEntry entry, store::DecodeAuditEntry(bytes));
  if (entry.seq != index) {
    return absl::DataLossError(
        absl::StrCat("the entry bytes hold sequence number ", entry.seq, ", not ", index));
  }
  return AuditProofCheck{.index = index, .entry = std::move(entry), .tree_size = cp.tree_size};
}

}  // namespace masa::tools
