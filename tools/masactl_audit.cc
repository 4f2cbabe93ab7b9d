// masactl audit verify|prove|check-proof|export and masactl store backup: offline tools over
// the LMDB store. They open it read-only, so they run while masad writes.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/status.h"
#include "common/time.h"
#include "nlohmann/json.hpp"
#include "store/audit.h"
#include "store/audit_verify.h"
#include "store/checkpoint.h"
#include "store/store.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace masa::tools {

namespace {

using nlohmann::json;

absl::StatusOr<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& state_dir) {
  store::StoreOptions options;
  options.state_dir = state_dir;
  options.read_only = true;
  return store::Store::Open(options);
}

// The audit public key: --audit-key, else DIR/audit-key.pem; null when neither exists.
// (Not an optional<UniquePtr>: GCC 12 at -O3 warns maybe-uninitialized on it, wrongly.)
absl::StatusOr<UniquePtr<EVP_PKEY>> LoadAuditKey(const Flags::Parsed& args,
                                                 const std::string& state_dir) {
  std::string path = args.GetOr("audit-key", state_dir.empty() ? "" : state_dir + "/audit-key.pem");
  if (path.empty() || (!args.Get("audit-key") && !PathExists(path))) {
    return UniquePtr<EVP_PKEY>();
  }
  MASA_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto key = store::ReadPublicKeyPem(pem);
  if (!key.ok()) return Annotate(key.status(), path);
  return *std::move(key);
}

std::string B64(std::string_view s) { return Base64Encode(s); }

json EntryJson(const store::AuditEntry& e) {
  return json{{"seq", e.seq},
              {"time", FormatRfc3339(e.time)},
              {"actor", e.actor},
              {"action", e.action},
              {"target", e.target},
              {"outcome", e.outcome},
              {"object_hash", B64(e.object_hash)},
              {"prev_hash", B64(e.prev_hash)}};
}

absl::Status Verify(const Flags::Parsed& args) {
  std::string state = *args.Get("state");
  MASA_ASSIGN_OR_RETURN(auto key, LoadAuditKey(args, state));
  MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(state));
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, st->Read());
  bool has_checkpoints = false;
  MASA_RETURN_IF_ERROR(snap.ScanCheckpoints([&](uint64_t, std::string_view) {
    has_checkpoints = true;
    return false;
  }));
  if (has_checkpoints && !key) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log has signed checkpoints but no audit key was given: pass "
                     "--audit-key FILE or put the public key in ",
                     state, "/audit-key.pem"));
  }
  MASA_ASSIGN_OR_RETURN(store::AuditVerifyReport report, store::VerifyAuditLog(snap, key.get()));
  std::printf("audit log OK: %llu entries, %llu signed checkpoints verified, root %s\n",
              static_cast<unsigned long long>(report.entries),
              static_cast<unsigned long long>(report.checkpoints), B64(report.root).c_str());
  return absl::OkStatus();
}

absl::Status Prove(const Flags::Parsed& args) {
  uint64_t index = 0;
  if (!absl::SimpleAtoi(*args.Get("entry"), &index)) {
    return absl::InvalidArgumentError("--entry must be a sequence number");
  }
  MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(*args.Get("state")));
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, st->Read());
  MASA_ASSIGN_OR_RETURN(std::optional<std::string> note, snap.LatestCheckpoint());
  if (!note) {
    return absl::FailedPreconditionError("the log has no signed checkpoint yet; prove later");
  }
  MASA_ASSIGN_OR_RETURN(store::Checkpoint cp, store::ParseCheckpointNote(*note));
  if (index >= cp.tree_size) {
    return absl::FailedPreconditionError(
        absl::StrCat("entry ", index, " is not covered by the latest checkpoint (tree size ",
                     cp.tree_size, "); wait for the next checkpoint"));
  }
  MASA_ASSIGN_OR_RETURN(std::string bytes, snap.AuditEntryBytes(index));
  MASA_ASSIGN_OR_RETURN(store::AuditEntry entry, store::DecodeAuditEntry(bytes));
  MASA_ASSIGN_OR_RETURN(std::vector<store::Hash> proof, snap.InclusionProof(index, cp.tree_size));
  json path = json::array();
  for (const auto& h : proof) path.push_back(B64(h));
  json out{{"entry_index", index},      {"entry", EntryJson(entry)},
           {"entry_bytes", B64(bytes)}, {"leaf_hash", B64(store::LeafHash(bytes))},
           {"tree_size", cp.tree_size}, {"root_hash", B64(cp.root_hash)},
           {"inclusion_proof", path},   {"checkpoint", *note}};
  std::printf("%s\n", out.dump(2).c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::string> B64Field(const json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("proof has no string field \"", name, "\""));
  }
  return Base64Decode(j[name].get<std::string>());
}

absl::Status CheckProof(const Flags::Parsed& args) {
  MASA_ASSIGN_OR_RETURN(std::string text, ReadFile(*args.Get("proof")));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("proof is not JSON");
  MASA_ASSIGN_OR_RETURN(auto key, LoadAuditKey(args, ""));
  if (!key) return absl::InvalidArgumentError("check-proof needs --audit-key FILE");
  if (!j.contains("checkpoint") || !j["checkpoint"].is_string() || !j.contains("entry_index") ||
      !j["entry_index"].is_number_unsigned() || !j.contains("inclusion_proof") ||
      !j["inclusion_proof"].is_array()) {
    return absl::InvalidArgumentError("proof lacks checkpoint, entry_index or inclusion_proof");
  }
  MASA_ASSIGN_OR_RETURN(store::Checkpoint cp,
                        store::VerifyCheckpointNote(j["checkpoint"].get<std::string>(), key.get()));
  MASA_ASSIGN_OR_RETURN(std::string bytes, B64Field(j, "entry_bytes"));
  std::vector<store::Hash> proof;
  for (const auto& h : j["inclusion_proof"]) {
    if (!h.is_string()) return absl::InvalidArgumentError("proof hashes must be strings");
    MASA_ASSIGN_OR_RETURN(std::string raw, Base64Decode(h.get<std::string>()));
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
  std::printf("proof OK: entry %llu (%s %s %s) is in the log signed at tree size %llu\n",
              static_cast<unsigned long long>(index), entry.actor.c_str(), entry.action.c_str(),
              entry.target.c_str(), static_cast<unsigned long long>(cp.tree_size));
  return absl::OkStatus();
}

absl::Status Export(const Flags::Parsed& args) {
  MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(*args.Get("state")));
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, st->Read());
  std::string out;
  absl::Status problem;
  MASA_RETURN_IF_ERROR(snap.ScanAudit(0, [&](uint64_t seq, std::string_view bytes) {
    auto entry = store::DecodeAuditEntry(bytes);
    if (!entry.ok()) {
      problem = Annotate(entry.status(), absl::StrCat("audit entry ", seq));
      return false;
    }
    json line = EntryJson(*entry);
    line["type"] = "entry";
    line["leaf_hash"] = B64(store::LeafHash(bytes));
    line["entry_bytes"] = B64(bytes);
    absl::StrAppend(&out, line.dump(), "\n");
    return true;
  }));
  MASA_RETURN_IF_ERROR(problem);
  MASA_RETURN_IF_ERROR(snap.ScanCheckpoints([&](uint64_t size, std::string_view note) {
    json line{{"type", "checkpoint"}, {"tree_size", size}, {"note", std::string(note)}};
    absl::StrAppend(&out, line.dump(), "\n");
    return true;
  }));
  if (auto path = args.Get("out")) return WriteFileAtomic(*path, out, 0600);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return absl::OkStatus();
}

int Run(Flags& flags, const Args& args, absl::Status (*fn)(const Flags::Parsed&)) {
  auto parsed = flags.Parse(args);
  if (!parsed.ok()) return ReportError(parsed.status());
  if (parsed->help) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  absl::Status st = fn(*parsed);
  return st.ok() ? 0 : ReportError(st);
}

void PrintAuditUsage(FILE* out) {
  std::fprintf(out,
               "usage: masactl audit <verify|prove|check-proof|export> [options]\n"
               "  verify       replay the log: chain, Merkle tree, checkpoint signatures\n"
               "  prove        print an inclusion proof of one entry (JSON)\n"
               "  check-proof  check a proof from 'prove' offline against the audit key\n"
               "  export       write the log as JSON lines\n");
}

}  // namespace

int AuditCommand(const Args& args) {
  if (args.empty()) {
    PrintAuditUsage(stderr);
    return 2;
  }
  const std::string& sub = args[0];
  Args rest(args.begin() + 1, args.end());
  if (sub == "verify") {
    Flags flags("masactl audit verify --state DIR [--audit-key FILE]",
                "Replays the whole audit log read-only and names the first bad entry.");
    flags.Option("state", "DIR", "state folder", true)
        .Option("audit-key", "FILE", "PEM public key of the audit key (default DIR/audit-key.pem)");
    return Run(flags, rest, Verify);
  }
  if (sub == "prove") {
    Flags flags("masactl audit prove --state DIR --entry N",
                "Prints an inclusion proof of entry N against the latest signed checkpoint.");
    flags.Option("state", "DIR", "state folder", true)
        .Option("entry", "N", "sequence number of the entry", true);
    return Run(flags, rest, Prove);
  }
  if (sub == "check-proof") {
    Flags flags("masactl audit check-proof --proof FILE --audit-key FILE",
                "Checks a proof printed by 'masactl audit prove', needing only the audit key.");
    flags.Option("proof", "FILE", "the proof JSON", true)
        .Option("audit-key", "FILE", "PEM public key of the audit key", true);
    return Run(flags, rest, CheckProof);
  }
  if (sub == "export") {
    Flags flags("masactl audit export --state DIR [--out FILE]",
                "Writes every entry and checkpoint as JSON lines.");
    flags.Option("state", "DIR", "state folder", true)
        .Option("out", "FILE", "output file (written atomically; default stdout)");
    return Run(flags, rest, Export);
  }
  if (sub == "--help" || sub == "-h") {
    PrintAuditUsage(stdout);
    return 0;
  }
  PrintAuditUsage(stderr);
  return 2;
}

int StoreCommand(const Args& args) {
  if (args.empty() || args[0] != "backup") {
    const bool help = !args.empty() && (args[0] == "--help" || args[0] == "-h");
    std::fprintf(help ? stdout : stderr, "usage: masactl store backup --state DIR --out FILE\n");
    return help ? 0 : 2;
  }
  Flags flags("masactl store backup --state DIR --out FILE",
              "Writes a compact, consistent copy of the store (a data.mdb file) atomically; "
              "safe while masad runs.");
  flags.Option("state", "DIR", "state folder", true).Option("out", "FILE", "output file", true);
  return Run(flags, Args(args.begin() + 1, args.end()), [](const Flags::Parsed& p) {
    MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(*p.Get("state")));
    MASA_RETURN_IF_ERROR(st->Backup(*p.Get("out")));
    std::printf("backup written to %s\n", p.Get("out")->c_str());
    return absl::OkStatus();
  });
}

}  // namespace masa::tools
