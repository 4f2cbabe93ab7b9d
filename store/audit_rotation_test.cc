// Audit-key rotation: the store's checkpoint signer replaced while it runs, and a log whose
// checkpoints span the rotation verified with both keys, each checkpoint attributed to its
// own key.
#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/audit_verify.h"
#include "store/checkpoint.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

class AuditRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_key_ = testing::NewKey("ED25519");
    new_key_ = testing::NewKey("EC");  // another algorithm too: rotation may change it
    old_signer_ = *NewEvpCheckpointSigner("masa.test/audit", UpRef(old_key_.get()));
    StoreOptions o;
    o.state_dir = dir_.path();
    o.checkpoint_signer = old_signer_.get();
    o.checkpoint_origin = "masa.test/audit";
    o.checkpoint_every_entries = 1000;
    o.checkpoint_every = absl::Hours(1);
    store_ = *Store::Open(o);
  }

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(store_->Write(WriteBatch().Audit({"officer", "x", "t", "ok", ""})).ok());
    }
  }

  TempDir dir_;
  UniquePtr<EVP_PKEY> old_key_, new_key_;
  std::unique_ptr<CheckpointSigner> old_signer_;
  std::unique_ptr<Store> store_;
};

TEST_F(AuditRotationTest, CheckpointsBeforeAndAfterVerifyEachWithItsOwnKey) {
  Append(5);
  ASSERT_TRUE(store_->WriteCheckpoint().ok());
  auto new_signer = NewEvpCheckpointSigner("masa.test/audit", UpRef(new_key_.get()));
  ASSERT_TRUE(new_signer.ok()) << new_signer.status();
  const uint32_t old_id = old_signer_->KeyId();
  const uint32_t new_id = (*new_signer)->KeyId();
  EXPECT_NE(old_id, new_id);  // same key name, another key: another key ID
  store_->SetCheckpointSigner(std::shared_ptr<CheckpointSigner>(*std::move(new_signer)));
  old_signer_.reset();  // the store no longer uses it
  Append(3);
  ASSERT_TRUE(store_->WriteCheckpoint().ok());
  Append(2);
  ASSERT_TRUE(store_->WriteCheckpoint().ok());

  auto snap = store_->Read();
  ASSERT_TRUE(snap.ok());
  auto report = VerifyAuditLog(*snap, {{"old.pem", old_key_.get()}, {"new.pem", new_key_.get()}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 10u);
  EXPECT_EQ(report->checkpoints, 3u);
  ASSERT_EQ(report->keys.size(), 2u);
  EXPECT_EQ(report->keys[0].name, "old.pem");
  EXPECT_EQ(report->keys[0].checkpoints, 1u);
  EXPECT_EQ(report->keys[0].first_tree_size, 5u);
  EXPECT_EQ(report->keys[0].last_tree_size, 5u);
  EXPECT_EQ(report->keys[0].note_key_id, old_id);
  EXPECT_EQ(report->keys[1].checkpoints, 2u);
  EXPECT_EQ(report->keys[1].first_tree_size, 8u);
  EXPECT_EQ(report->keys[1].last_tree_size, 10u);
  EXPECT_EQ(report->keys[1].note_key_id, new_id);

  // With the new key alone, the first checkpoint's key is unknown: said clearly.
  auto partial = VerifyAuditLog(*snap, {{"new.pem", new_key_.get()}});
  ASSERT_TRUE(absl::IsDataLoss(partial.status())) << partial.status();
  EXPECT_THAT(partial.status().message(), HasSubstr("checkpoint at tree size 5"));
  EXPECT_THAT(partial.status().message(), HasSubstr("signed by an unknown key"));
  EXPECT_THAT(partial.status().message(), HasSubstr("new.pem"));

  // A key of the right name but not the one that signed: unknown too, never "verified".
  auto stranger = testing::NewKey("ED25519");
  auto wrong = VerifyAuditLog(*snap, {{"stranger.pem", stranger.get()}, {"new", new_key_.get()}});
  EXPECT_TRUE(absl::IsDataLoss(wrong.status())) << wrong.status();
}

// The writer keeps committing (and signing checkpoints every few entries) while the signer
// is replaced again and again: every checkpoint verifies with one of the keys.
TEST_F(AuditRotationTest, RotationWhileTheWriterSigns) {
  std::vector<UniquePtr<EVP_PKEY>> keys;
  std::vector<AuditPublicKey> publics = {{"k0", old_key_.get()}};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      if (!store_->Write(WriteBatch().Audit({"svc", "x", "t", "ok", ""})).ok()) return;
      (void)store_->WriteCheckpoint();  // as the timer would, racing the rotation
    }
  });
  for (int i = 1; i <= 4; ++i) {
    keys.push_back(testing::NewKey(i % 2 ? "EC" : "ED25519"));
    publics.push_back({"k" + std::to_string(i), keys.back().get()});
    store_->SetCheckpointSigner(std::shared_ptr<CheckpointSigner>(
        *NewEvpCheckpointSigner("masa.test/audit", UpRef(keys.back().get()))));
    // Once SetCheckpointSigner returned, every new checkpoint is by the new key.
    Append(1);
    ASSERT_TRUE(store_->WriteCheckpoint().ok());
    auto latest = store_->Read()->LatestCheckpoint();
    ASSERT_TRUE(latest.ok() && latest->has_value());
    EXPECT_TRUE(VerifyCheckpointNote(**latest, keys.back().get()).ok()) << "rotation " << i;
  }
  stop.store(true);
  writer.join();
  old_signer_.reset();
  auto report = VerifyAuditLog(*store_->Read(), publics);
  ASSERT_TRUE(report.ok()) << report.status();
  for (const AuditKeyUse& use : report->keys) {
    if (use.name != "k0") {
      EXPECT_GE(use.checkpoints, 1u) << use.name;
    }
  }
}

}  // namespace
}  // namespace masa::store
