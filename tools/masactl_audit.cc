// masactl audit verify|prove|check-proof|export and masactl store backup|migrate|copy: tools
// over the store a state's masad.toml names (LMDB in the state folder, or PostgreSQL). The
// audit tools open it read-only, so they run while masad writes.
#include <openssl/x509.h>

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
#include "store/audit.h"
#include "store/audit_verify.h"
#include "store/checkpoint.h"
#include "store/copy.h"
#include "store/store.h"
#include "tools/audit_export.h"
#include "tools/audit_proof.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/stack.h"

namespace masa::tools {

namespace {

// The store of a state folder: the PostgreSQL one its masad.toml names, else its LMDB one.
absl::StatusOr<store::StoreOptions> StoreOptionsFor(const std::string& state_dir) {
  MASA_ASSIGN_OR_RETURN(MasadConfig config, ConfigForState(state_dir));
  store::StoreOptions options;
  options.state_dir = state_dir;
  options.postgres = config.postgres;
  options.node_id = config.node_id;
  return options;
}

absl::StatusOr<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& state_dir) {
  MASA_ASSIGN_OR_RETURN(store::StoreOptions options, StoreOptionsFor(state_dir));
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

// Every audit public key a verification accepts: each --audit-key FILE, in order; without
// one, DIR/audit-key.pem when it exists; with a state folder, also the public half of every
// audit key the store's key records hold (named by key id), so that a log spanning
// audit-key rotations verifies with no file at all. A key given twice counts once (the
// first name wins).
class AuditKeys {
 public:
  absl::Status AddFile(const std::string& path) {
    MASA_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
    auto key = store::ReadPublicKeyPem(pem);
    if (!key.ok()) return Annotate(key.status(), path);
    Add(path, *std::move(key));
    return absl::OkStatus();
  }
  void Add(std::string name, UniquePtr<EVP_PKEY> key) {
    for (const auto& [n, k] : owned_) {
      if (EVP_PKEY_eq(k.get(), key.get()) == 1) return;
    }
    owned_.emplace_back(std::move(name), std::move(key));
  }
  std::vector<store::AuditPublicKey> keys() const {
    std::vector<store::AuditPublicKey> out;
    for (const auto& [n, k] : owned_) out.push_back({n, k.get()});
    return out;
  }
  bool empty() const { return owned_.empty(); }

 private:
  std::vector<std::pair<std::string, UniquePtr<EVP_PKEY>>> owned_;
};

absl::Status AddAuditKeyFiles(const Flags::Parsed& args, const std::string& state_dir,
                              AuditKeys* keys) {
  std::vector<std::string> files = args.GetAll("audit-key");
  if (files.empty() && !state_dir.empty() && PathExists(state_dir + "/audit-key.pem")) {
    files.push_back(state_dir + "/audit-key.pem");
  }
  for (const std::string& f : files) MASA_RETURN_IF_ERROR(keys->AddFile(f));
  return absl::OkStatus();
}

// The audit keys the store's key records hold (purpose "audit", any state: retired keys
// signed the older checkpoints), named by key id.
absl::Status AddStoreAuditKeys(const store::Snapshot& snap, AuditKeys* keys) {
  MASA_ASSIGN_OR_RETURN(std::vector<store::KeyRecord> records, snap.List<store::KeyRecord>());
  for (const store::KeyRecord& r : records) {
    if (r.purpose != "audit" || r.public_key_der.empty()) continue;
    const auto* p = reinterpret_cast<const unsigned char*>(r.public_key_der.data());
    UniquePtr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(r.public_key_der.size())));
    if (key == nullptr) {
      return FromOpenSslErrors(absl::StrCat("the public key of audit key ", r.id),
                               absl::StatusCode::kDataLoss);
    }
    keys->Add(r.id, std::move(key));
  }
  return absl::OkStatus();
}

// "  key-0a1b... (key ID 1a2b3c4d): 12 checkpoints, tree sizes 1000..12000"
void PrintKeyUses(const std::vector<store::AuditKeyUse>& uses) {
  for (const store::AuditKeyUse& use : uses) {
    if (use.checkpoints == 0) {
      std::printf("  %s: signed no checkpoint\n", use.name.c_str());
      continue;
    }
    std::printf("  %s (key ID %08x): %llu checkpoint%s, tree sizes %llu..%llu\n", use.name.c_str(),
                use.note_key_id, static_cast<unsigned long long>(use.checkpoints),
                use.checkpoints == 1 ? "" : "s",
                static_cast<unsigned long long>(use.first_tree_size),
                static_cast<unsigned long long>(use.last_tree_size));
  }
}

absl::Status VerifyStore(const Flags::Parsed& args) {
  std::string state = *args.Get("state");
  AuditKeys keys;
  MASA_RETURN_IF_ERROR(AddAuditKeyFiles(args, state, &keys));
  MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(state));
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, st->Read());
  MASA_RETURN_IF_ERROR(AddStoreAuditKeys(snap, &keys));
  bool has_checkpoints = false;
  MASA_RETURN_IF_ERROR(snap.ScanCheckpoints([&](uint64_t, std::string_view) {
    has_checkpoints = true;
    return false;
  }));
  if (has_checkpoints && keys.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log has signed checkpoints but no audit key was given: pass "
                     "--audit-key FILE or put the public key in ",
                     state, "/audit-key.pem"));
  }
  MASA_ASSIGN_OR_RETURN(store::AuditVerifyReport report, store::VerifyAuditLog(snap, keys.keys()));
  std::printf("audit log OK: %llu entries, %llu signed checkpoints verified, root %s\n",
              static_cast<unsigned long long>(report.entries),
              static_cast<unsigned long long>(report.checkpoints), B64(report.root).c_str());
  PrintKeyUses(report.keys);
  return absl::OkStatus();
}

absl::Status Prove(const Flags::Parsed& args) {
  uint64_t index = 0;
  if (!absl::SimpleAtoi(*args.Get("entry"), &index)) {
    return absl::InvalidArgumentError("--entry must be a sequence number");
  }
  MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(*args.Get("state")));
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, st->Read());
  MASA_ASSIGN_OR_RETURN(std::string proof, MakeAuditProof(snap, index));
  std::printf("%s\n", proof.c_str());
  return absl::OkStatus();
}

absl::Status CheckProof(const Flags::Parsed& args) {
  MASA_ASSIGN_OR_RETURN(std::string text, ReadFile(*args.Get("proof")));
  MASA_ASSIGN_OR_RETURN(auto key, LoadAuditKey(args, ""));
  MASA_ASSIGN_OR_RETURN(AuditProofCheck ok, CheckAuditProof(text, key.get()));
  std::printf("proof OK: entry %llu (%s %s %s) is in the log signed at tree size %llu\n",
              static_cast<unsigned long long>(ok.index), ok.entry.actor.c_str(),
              ok.entry.action.c_str(), ok.entry.target.c_str(),
              static_cast<unsigned long long>(ok.tree_size));
  return absl::OkStatus();
}

absl::Status Export(const Flags::Parsed& args) {
  MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(*args.Get("state")));
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, st->Read());
  MASA_ASSIGN_OR_RETURN(std::string out, ExportAuditLog(snap));
  if (auto path = args.Get("out")) return WriteFileAtomic(*path, out, 0600);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return absl::OkStatus();
}

// Reads the export in blocks, so that memory stays at one line (the verifier's bound).
absl::Status VerifyExport(const Flags::Parsed& args) {
  const std::string path = *args.Get("export");
  AuditKeys keys;
  MASA_RETURN_IF_ERROR(AddAuditKeyFiles(args, "", &keys));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  AuditExportVerifier verifier(keys.keys());
  std::string block(64 * 1024, '\0');
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    MASA_RETURN_IF_ERROR(Annotate(
        verifier.Feed(std::string_view(block.data(), static_cast<size_t>(in.gcount()))), path));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("reading ", path, " failed"));
  absl::StatusOr<AuditExportReport> report = verifier.Finish();
  if (!report.ok()) return Annotate(report.status(), path);
  if (report->checkpoints > 0 && keys.empty()) {
    return absl::FailedPreconditionError(
        "the export has signed checkpoints but no audit key was given: pass --audit-key FILE");
  }
  std::printf("audit export OK: %llu entries, %llu signed checkpoints verified, root %s\n",
              static_cast<unsigned long long>(report->entries),
              static_cast<unsigned long long>(report->checkpoints), B64(report->root).c_str());
  PrintKeyUses(report->keys);
  return absl::OkStatus();
}

absl::Status VerifyAudit(const Flags::Parsed& args) {
  if (args.Get("export").has_value() == args.Get("state").has_value()) {
    return absl::InvalidArgumentError("audit verify needs --state DIR or --export FILE (one)");
  }
  return args.Get("export") ? VerifyExport(args) : VerifyStore(args);
}

void PrintAuditUsage(FILE* out) {
  std::fprintf(out,
               "usage: masactl audit <verify|prove|check-proof|export> [options]\n"
               "  verify       replay the log: chain, Merkle tree, checkpoint signatures\n"
               "               (--export FILE: the same checks on an export, offline)\n"
               "  prove        print an inclusion proof of one entry (JSON)\n"
               "  check-proof  check a proof from 'prove' offline against the audit key\n"
               "  export       write the log as JSON lines (checked by verify --export)\n");
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
    Flags flags("masactl audit verify (--state DIR | --export FILE) [--audit-key FILE]...",
                "Replays the whole audit log read-only and names the first bad entry; with "
                "--export, checks a file written by 'masactl audit export' instead, needing "
                "only the audit keys, and names its first bad line. A log whose audit key was "
                "rotated verifies with every key that signed it: each checkpoint must verify "
                "with one of them (told apart by the key ID in its signature line), and the "
                "report says which key signed which checkpoints. With --state, the audit "
                "keys recorded in the store (masactl key) count too.");
    flags.Option("state", "DIR", "state folder")
        .Option("export", "FILE", "an export (JSON lines) to check instead of a state folder")
        .RepeatedOption("audit-key", "FILE",
                        "PEM public key of an audit key; repeat for each key of a rotated log "
                        "(default DIR/audit-key.pem with --state)");
    return RunParsed(flags, rest, VerifyAudit);
  }
  if (sub == "prove") {
    Flags flags("masactl audit prove --state DIR --entry N",
                "Prints an inclusion proof of entry N against the latest signed checkpoint.");
    flags.Option("state", "DIR", "state folder", true)
        .Option("entry", "N", "sequence number of the entry", true);
    return RunParsed(flags, rest, Prove);
  }
  if (sub == "check-proof") {
    Flags flags("masactl audit check-proof --proof FILE --audit-key FILE",
                "Checks a proof printed by 'masactl audit prove', needing only the audit key.");
    flags.Option("proof", "FILE", "the proof JSON", true)
        .Option("audit-key", "FILE", "PEM public key of the audit key", true);
    return RunParsed(flags, rest, CheckProof);
  }
  if (sub == "export") {
    Flags flags("masactl audit export --state DIR [--out FILE]",
                "Writes every entry and checkpoint as JSON lines.");
    flags.Option("state", "DIR", "state folder", true)
        .Option("out", "FILE", "output file (written atomically; default stdout)");
    return RunParsed(flags, rest, Export);
  }
  if (sub == "--help" || sub == "-h") {
    PrintAuditUsage(stdout);
    return 0;
  }
  PrintAuditUsage(stderr);
  return 2;
}

namespace {

constexpr char kStoreUsage[] =
    "usage: masactl store backup --state DIR --out FILE\n"
    "       masactl store migrate --state DIR\n"
    "       masactl store copy --from DIR --to CONNINFO\n";

absl::Status Migrate(const Flags::Parsed& p) {
  MASA_ASSIGN_OR_RETURN(store::StoreOptions options, StoreOptionsFor(*p.Get("state")));
  options.postgres_migrate = true;
  MASA_ASSIGN_OR_RETURN(auto st, store::Store::Open(options));
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, st->Read());
  MASA_ASSIGN_OR_RETURN(uint64_t version, snap.SchemaVersion());
  std::printf("%s store ready: record schema version %llu\n", std::string(st->Backend()).c_str(),
              static_cast<unsigned long long>(version));
  return absl::OkStatus();
}

absl::Status Copy(const Flags::Parsed& p) {
  MASA_ASSIGN_OR_RETURN(store::StoreOptions options, StoreOptionsFor(*p.Get("from")));
  if (!options.postgres.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--from ", *p.Get("from"),
                                                   " already uses PostgreSQL; copy moves an LMDB "
                                                   "store there"));
  }
  options.read_only = true;
  MASA_ASSIGN_OR_RETURN(auto from, store::Store::Open(options));
  MASA_ASSIGN_OR_RETURN(store::StoreCopyReport report,
                        store::CopyStoreToPostgres(*from, *p.Get("to")));
  for (const auto& [table, rows] : report.tables) {
    if (rows > 0)
      std::printf("%-22s %llu rows\n", table.c_str(), static_cast<unsigned long long>(rows));
  }
  std::printf(
      "copied %llu rows; read back and compared table by table; audit log verified: %llu "
      "entries, root %s\n"
      "next: in each node's masad.toml set [store] backend = \"postgres\" and postgres = "
      "\"...\"\n",
      static_cast<unsigned long long>(report.rows),
      static_cast<unsigned long long>(report.audit_entries), HexEncode(report.audit_root).c_str());
  return absl::OkStatus();
}

}  // namespace

int StoreCommand(const Args& args) {
  const std::string sub = args.empty() ? "" : args[0];
  const Args rest = args.empty() ? Args() : Args(args.begin() + 1, args.end());
  if (sub == "migrate") {
    Flags flags("masactl store migrate --state DIR",
                "Creates the store the state's masad.toml names, or brings its schema to this "
                "build's version (PostgreSQL: run once, before the nodes start; LMDB: masad "
                "does it at start).");
    flags.Option("state", "DIR", "state folder (its masad.toml names the store)", true);
    return RunParsed(flags, rest, Migrate);
  }
  if (sub == "copy") {
    Flags flags("masactl store copy --from DIR --to CONNINFO",
                "Copies the LMDB store of a state folder, audit log included, into an empty "
                "PostgreSQL database, in one transaction, and verifies the copy before "
                "committing it. Stop masad first: later writes are not copied.");
    flags.Option("from", "DIR", "state folder of the LMDB store", true)
        .Option("to", "CONNINFO",
                "libpq connection string or URI of the target database (no password: use a "
                "pgpass file)",
                true);
    return RunParsed(flags, rest, Copy);
  }
  if (sub != "backup") {
    const bool help = sub == "--help" || sub == "-h";
    std::fputs(kStoreUsage, help ? stdout : stderr);
    return help ? 0 : 2;
  }
  Flags flags("masactl store backup --state DIR --out FILE",
              "Writes a compact, consistent copy of the store (a data.mdb file) atomically; "
              "safe while masad runs.");
  flags.Option("state", "DIR", "state folder", true).Option("out", "FILE", "output file", true);
  return RunParsed(flags, Args(args.begin() + 1, args.end()), [](const Flags::Parsed& p) {
    MASA_ASSIGN_OR_RETURN(auto st, OpenReadOnly(*p.Get("state")));
    MASA_RETURN_IF_ERROR(st->Backup(*p.Get("out")));
    std::printf("backup written to %s\n", p.Get("out")->c_str());
    return absl::OkStatus();
  });
}

}  // namespace masa::tools
