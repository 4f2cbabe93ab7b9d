// `masactl audit verify` on a log whose audit key was rotated while the store ran: every
// key that signed it given with --audit-key (repeated), the report naming which key signed
// which checkpoints, the export checked the same way, and a key left out named as unknown.
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/openssl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/checkpoint.h"
#include "store/records.h"
#include "store/store.h"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

UniquePtr<EVP_PKEY> NewKey(const char* type) {
  if (std::string(type) == "ED25519") {
    return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  }
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

void WritePublicPem(EVP_PKEY* key, const std::string& path) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  WriteFile(path, std::string(data, static_cast<size_t>(len)));
}

class MasactlAuditRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_ / "state";
    ASSERT_EQ(mkdir(state_.c_str(), 0700), 0);
    old_key_ = NewKey("ED25519");
    new_key_ = NewKey("EC");
    WritePublicPem(old_key_.get(), dir_ / "old.pem");
    WritePublicPem(new_key_.get(), dir_ / "new.pem");
    auto old_signer = store::NewEvpCheckpointSigner("masa.test/audit", UpRef(old_key_.get()));
    ASSERT_TRUE(old_signer.ok()) << old_signer.status();
    store::StoreOptions o;
    o.state_dir = state_;
    o.checkpoint_signer = old_signer->get();
    o.checkpoint_origin = "masa.test/audit";
    o.checkpoint_every = absl::Hours(1);
    auto st = store::Store::Open(o);
    ASSERT_TRUE(st.ok()) << st.status();
    auto append = [&](int n) {
      for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(
            (*st)
                ->Write(store::WriteBatch().Audit({"officer", "key.activate", "key-1", "ok", ""}))
                .ok());
      }
      ASSERT_TRUE((*st)->WriteCheckpoint().ok());
    };
    append(4);
    // The key records masactl key / the service keep: the audit keys' public halves.
    for (auto [id, key] : {std::pair{"key-00000000000000a1", old_key_.get()},
                           std::pair{"key-00000000000000a2", new_key_.get()}}) {
      store::KeyRecord record;
      record.id = id;
      record.uri = std::string("pkcs11:object=") + id;
      record.purpose = "audit";
      record.public_key_der = PublicKeyDer(key);
      records_.push_back(std::move(record));
    }
    (*st)->SetCheckpointSigner(std::shared_ptr<store::CheckpointSigner>(
        *store::NewEvpCheckpointSigner("masa.test/audit", UpRef(new_key_.get()))));
    append(3);
    append(2);
    store_ = *std::move(st);
  }

  static std::string PublicKeyDer(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len > 0 ? len : 0));
    OPENSSL_free(der);
    return out;
  }

  TempFolder dir_;
  std::string state_;
  UniquePtr<EVP_PKEY> old_key_, new_key_;
  std::vector<store::KeyRecord> records_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(MasactlAuditRotationTest, EveryKeyGivenVerifiesAndEachCheckpointIsAttributed) {
  ProcessResult r = Masactl({"audit", "verify", "--state", state_, "--audit-key", dir_ / "old.pem",
                             "--audit-key", dir_ / "new.pem"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("audit log OK: 9 entries, 3 signed checkpoints verified"));
  EXPECT_THAT(r.out, HasSubstr("old.pem (key ID "));
  EXPECT_THAT(r.out, HasSubstr("): 1 checkpoint, tree sizes 4..4"));
  EXPECT_THAT(r.out, HasSubstr("): 2 checkpoints, tree sizes 7..9"));

  // The export, offline, with the same keys.
  ProcessResult e = Masactl({"audit", "export", "--state", state_, "--out", dir_ / "log.jsonl"});
  ASSERT_EQ(e.exit_code, 0) << e;
  ProcessResult x = Masactl({"audit", "verify", "--export", dir_ / "log.jsonl", "--audit-key",
                             dir_ / "old.pem", "--audit-key", dir_ / "new.pem"});
  ASSERT_EQ(x.exit_code, 0) << x;
  EXPECT_THAT(x.out, HasSubstr("audit export OK: 9 entries, 3 signed checkpoints verified"));
  EXPECT_THAT(x.out, HasSubstr("): 2 checkpoints, tree sizes 7..9"));
}

TEST_F(MasactlAuditRotationTest, ACheckpointByAKeyNotGivenFailsNamingIt) {
  ProcessResult r =
      Masactl({"audit", "verify", "--state", state_, "--audit-key", dir_ / "new.pem"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("checkpoint at tree size 4: signed by an unknown key"));
  EXPECT_THAT(r.out, Not(HasSubstr("audit log OK")));

  ProcessResult e = Masactl({"audit", "export", "--state", state_, "--out", dir_ / "log.jsonl"});
  ASSERT_EQ(e.exit_code, 0) << e;
  ProcessResult x =
      Masactl({"audit", "verify", "--export", dir_ / "log.jsonl", "--audit-key", dir_ / "old.pem"});
  EXPECT_NE(x.exit_code, 0) << x;
  EXPECT_THAT(x.err, HasSubstr("checkpoint at tree size 7: signed by an unknown key"));
}

// With --state alone, the audit keys recorded in the store verify every checkpoint, each
// named by its key id; a recorded key counts once even when also given as a file.
TEST_F(MasactlAuditRotationTest, TheStoresKeyRecordsSupplyTheAuditKeys) {
  ProcessResult without = Masactl({"audit", "verify", "--state", state_});
  EXPECT_NE(without.exit_code, 0) << without;  // no key anywhere yet
  for (const store::KeyRecord& r : records_) {
    ASSERT_TRUE(store_->Write(store::WriteBatch().Put(r)).ok());
  }
  ProcessResult r = Masactl({"audit", "verify", "--state", state_});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("key-00000000000000a1 (key ID "));
  EXPECT_THAT(r.out, HasSubstr("key-00000000000000a2 (key ID "));
  EXPECT_THAT(r.out, HasSubstr("): 2 checkpoints, tree sizes 7..9"));
  ProcessResult both =
      Masactl({"audit", "verify", "--state", state_, "--audit-key", dir_ / "old.pem"});
  ASSERT_EQ(both.exit_code, 0) << both;
  EXPECT_THAT(both.out, HasSubstr("old.pem (key ID "));
  EXPECT_THAT(both.out, Not(HasSubstr("key-00000000000000a1")));
}

}  // namespace
}  // namespace masa::e2e
