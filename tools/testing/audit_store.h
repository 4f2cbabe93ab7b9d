// A real audit log for the tests of the offline audit readers (tools/audit_*): a store in a
// temporary folder with `entries` audit entries and checkpoints signed by `key`, and the fixed
// Ed25519 key with which the fuzz seeds of tools/fuzz/corpus/ were made.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/openssl.h"
#include "common/sha256.h"
#include "gtest/gtest.h"
#include "store/checkpoint.h"
#include "store/store.h"
#include "store/testing/audit_keys.h"

namespace masa::tools::testing {

// The audit key of the fuzz targets and their seeds (a test key, public on purpose).
inline UniquePtr<EVP_PKEY> FuzzAuditKey() {
  return store::testing::KeyFromPem(store::testing::kFuzzAuditKeyPem);
}

inline UniquePtr<EVP_PKEY> NewP256Key() {
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

class AuditStore {
 public:
  // `entries` entries, a checkpoint every `every` entries and one at the end.
  AuditStore(EVP_PKEY* key, int entries, uint64_t every) {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/masa-audit-test-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    chmod(dir_.c_str(), 0700);
    auto signer = store::NewEvpCheckpointSigner("masa.test/audit", UpRef(key));
    EXPECT_TRUE(signer.ok()) << signer.status();
    if (!signer.ok()) return;
    signer_ = *std::move(signer);
    store::StoreOptions o;
    o.state_dir = dir_;
    o.checkpoint_signer = signer_.get();
    o.checkpoint_origin = "masa.test/audit";
    o.checkpoint_every_entries = every;
    auto opened = store::Store::Open(o);
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return;
    store_ = *std::move(opened);
    for (int i = 0; i < entries; ++i) {
      std::string id = absl::StrCat("v-", i);
      auto done = store_->Write(store::WriteBatch().Audit(
          {"alice", "voucher.issue", id, i % 5 == 4 ? "denied" : "ok", Sha256(id)}));
      EXPECT_TRUE(done.ok()) << done.status();
    }
    EXPECT_TRUE(store_->WriteCheckpoint().ok());
  }
  ~AuditStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  store::Store& store() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<store::CheckpointSigner> signer_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace masa::tools::testing
