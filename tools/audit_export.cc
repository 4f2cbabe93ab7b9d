#include "tools/audit_export.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "store/checkpoint.h"
#include "tools/internal/audit_json.h"

namespace masa::tools {

namespace {

using nlohmann::json;

json EntryJson(const store::AuditEntry& e, std::string_view bytes) {
  json j = internal::AuditEntryJson(e);
  j["type"] = "entry";
  j["leaf_hash"] = Base64Encode(store::LeafHash(bytes));
  j["entry_bytes"] = Base64Encode(bytes);
  return j;
}

std::string CheckpointLineText(uint64_t tree_size, std::string_view note) {
  return json{{"type", "checkpoint"}, {"tree_size", tree_size}, {"note", std::string(note)}}.dump();
}

}  // namespace

std::string ExportEntryLine(const store::AuditEntry& entry, std::string_view entry_bytes) {
  return EntryJson(entry, entry_bytes).dump();
}

absl::StatusOr<std::string> ExportAuditLog(const store::Reader& reader) {
  std::map<uint64_t, std::string> checkpoints;
  MASA_RETURN_IF_ERROR(reader.ScanCheckpoints([&](uint64_t size, std::string_view note) {
    checkpoints.emplace(size, std::string(note));
    return true;
  }));
  std::string out;
  auto next_checkpoint = checkpoints.begin();
  auto checkpoints_up_to = [&](uint64_t size) {
    for (; next_checkpoint != checkpoints.end() && next_checkpoint->first <= size;
         ++next_checkpoint) {
      absl::StrAppend(&out, CheckpointLineText(next_checkpoint->first, next_checkpoint->second),
                      "\n");
    }
  };
  checkpoints_up_to(0);
  absl::Status problem;
  MASA_RETURN_IF_ERROR(reader.ScanAudit(0, [&](uint64_t seq, std::string_view bytes) {
    auto entry = store::DecodeAuditEntry(bytes);
    if (!entry.ok()) {
      problem = Annotate(entry.status(), absl::StrCat("audit entry ", seq));
      return false;
    }
    absl::StrAppend(&out, ExportEntryLine(*entry, bytes), "\n");
    checkpoints_up_to(seq + 1);
    return true;
  }));
  MASA_RETURN_IF_ERROR(problem);
  // Checkpoints beyond the last entry (a damaged store) are exported too, for the reader
  // to refuse.
  checkpoints_up_to(UINT64_MAX);
  return out;
}

namespace {

absl::StatusOr<std::string> Base64Member(const json& j, const char* name, size_t max) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("no string member \"", name, "\""));
  }
  const std::string& text = it->get_ref<const std::string&>();
  if (text.size() > (max + 2) / 3 * 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\" is over the limit of ", max, " bytes"));
  }
  auto bytes = Base64Decode(text);
  if (!bytes.ok()) return Annotate(bytes.status(), absl::StrCat("\"", name, "\""));
  return bytes;
}

absl::Status CheckEntry(const json& j, AuditExportVerifier::Tree& t) {
  const uint64_t seq = t.builder.size();
  auto fail = [&](absl::StatusCode code, std::string_view what) {
    return absl::Status(code, absl::StrCat("audit entry ", seq, ": ", Sv(what)));
  };
  auto bytes = Base64Member(j, "entry_bytes", store::kMaxAuditEntryBytes);
  if (!bytes.ok())
    return fail(absl::StatusCode::kInvalidArgument, std::string(bytes.status().message()));
  auto entry = store::DecodeAuditEntry(*bytes);
  if (!entry.ok()) {
    return fail(absl::StatusCode::kDataLoss,
                absl::StrCat("cannot be decoded (edited): ", entry.status().message()));
  }
  if (entry->seq > seq) {
    return fail(absl::StatusCode::kDataLoss,
                absl::StrCat("missing (this line holds entry ", entry->seq,
                             "): lines dropped or reordered"));
  }
  if (entry->seq < seq) {
    return fail(absl::StatusCode::kDataLoss,
                absl::StrCat("expected, but this line holds entry ", entry->seq,
                             " again (lines repeated or reordered)"));
  }
  if (entry->prev_hash != t.prev) {
    return fail(absl::StatusCode::kDataLoss,
                seq == 0 ? "previous-entry hash is not zero (edited)"
                         : "previous-entry hash does not match the entry before it (edited, or "
                           "an entry before it was replaced)");
  }
  if (j != EntryJson(*entry, *bytes)) {
    return fail(absl::StatusCode::kDataLoss,
                "its fields or leaf_hash are not what its entry_bytes hold (edited)");
  }
  t.builder.Append(store::LeafHash(*bytes));
  t.prev = Sha256(*bytes);
  return absl::OkStatus();
}

absl::Status CheckCheckpoint(const json& j, const std::vector<store::AuditPublicKey>& audit_keys,
                             AuditExportVerifier::Tree& t) {
  auto size_member = j.find("tree_size");
  auto note_member = j.find("note");
  if (size_member == j.end() || !size_member->is_number_unsigned() || note_member == j.end() ||
      !note_member->is_string()) {
    return absl::InvalidArgumentError(
        "checkpoint line needs an unsigned \"tree_size\" and a string \"note\"");
  }
  const uint64_t size = size_member->get<uint64_t>();
  auto fail = [&](std::string_view what) {
    return absl::DataLossError(absl::StrCat("checkpoint at tree size ", size, ": ", Sv(what)));
  };
  if (t.any_checkpoint && size <= t.last_checkpoint) {
    return fail(absl::StrCat("comes after the checkpoint at tree size ", t.last_checkpoint,
                             " (lines repeated or reordered)"));
  }
  if (size != t.builder.size()) {
    return fail(absl::StrCat("comes after ", t.builder.size(), " entries of the export",
                             size > t.builder.size() ? " (entries dropped or lines reordered)"
                                                     : " (lines reordered)",
                             "; a checkpoint follows the entry that completes its tree"));
  }
  const std::string& note = note_member->get_ref<const std::string&>();
  size_t signer = 0;
  uint32_t key_id = 0;
  absl::StatusOr<store::Checkpoint> cp =
      audit_keys.empty() ? store::ParseCheckpointNote(note)
                         : store::VerifyCheckpointNoteWithKeys(note, audit_keys, &signer, &key_id);
  if (!cp.ok()) return fail(std::string(cp.status().message()));
  if (cp->tree_size != size) return fail(absl::StrCat("the note says tree size ", cp->tree_size));
  if (cp->root_hash != t.builder.Root()) {
    return fail("signed root does not match the entries before it (an entry was altered)");
  }
  t.any_checkpoint = true;
  t.last_checkpoint = size;
  ++t.checkpoints;
  if (!audit_keys.empty()) {
    if (t.keys.size() != audit_keys.size()) {
      t.keys.clear();
      for (const auto& k : audit_keys) t.keys.push_back({k.name, 0, 0, 0, 0});
    }
    store::AuditKeyUse& use = t.keys[signer];
    if (use.checkpoints == 0) use.first_tree_size = size;
    use.last_tree_size = size;
    use.note_key_id = key_id;
    ++use.checkpoints;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AuditExportVerifier::Feed(std::string_view bytes) {
  while (status_.ok() && !bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    if (partial_.size() + piece.size() > kMaxAuditExportLineBytes) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("line ", line_ + 1, ": longer than ", kMaxAuditExportLineBytes, " bytes"));
      break;
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      break;
    }
    if (partial_.empty()) {
      status_ = Line(piece);
    } else {
      partial_.append(piece);
      status_ = Line(partial_);
      partial_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
  return status_;
}

absl::StatusOr<AuditExportReport> AuditExportVerifier::Finish() {
  if (status_.ok() && !partial_.empty()) {
    status_ = Line(partial_);
    partial_.clear();
  }
  MASA_RETURN_IF_ERROR(status_);
  AuditExportReport report{.entries = tree_.builder.size(),
                           .checkpoints = tree_.checkpoints,
                           .root = tree_.builder.Root(),
                           .keys = tree_.keys};
  if (report.keys.empty()) {
    for (const auto& k : audit_keys_) report.keys.push_back({k.name, 0, 0, 0, 0});
  }
  return report;
}

absl::Status AuditExportVerifier::Line(std::string_view line) {
  ++line_;
  absl::Status st;
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    st = absl::InvalidArgumentError("not a JSON object");
  } else if (auto type = j.find("type"); type == j.end() || !type->is_string()) {
    st = absl::InvalidArgumentError("no \"type\"");
  } else if (*type == "entry") {
    st = CheckEntry(j, tree_);
  } else if (*type == "checkpoint") {
    st = CheckCheckpoint(j, audit_keys_, tree_);
  } else {
    st = absl::InvalidArgumentError("\"type\" is neither \"entry\" nor \"checkpoint\"");
  }
  if (st.ok()) return st;
  return absl::Status(st.code(), absl::StrCat("line ", line_, ": ", st.message()));
}

absl::StatusOr<AuditExportReport> VerifyAuditExport(std::string_view text, EVP_PKEY* audit_key) {
  AuditExportVerifier verifier(audit_key);
  MASA_RETURN_IF_ERROR(verifier.Feed(text));
  return verifier.Finish();
}

}  // namespace masa::tools
