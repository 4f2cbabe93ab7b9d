// The map is sized once (no growth, and so no stall, under many writes; the file stays as
// small as its data), growth still works from a small configured map, and Store::Stats
// counts what the writer did.
#include <sys/stat.h>

#include <future>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using testing::TempDir;
using testing::TestVoucher;

// Submits `n` batches (a voucher and its audit entry each) all at once, so that they share
// group commits, and waits for every one.
void WriteMany(Store& store, int first, int n) {
  std::vector<std::future<absl::StatusOr<CommitResult>>> done;
  for (int i = first; i < first + n; ++i) {
    Voucher v = TestVoucher(i, 2000);
    done.push_back(store.Submit(WriteBatch().Put(v).Audit({"t", "voucher.issue", v.id, "ok", ""})));
  }
  for (auto& f : done) ASSERT_TRUE(f.get().ok());
}

uint64_t BucketSum(const StoreStats& s) {
  uint64_t n = 0;
  for (uint64_t b : s.commit_buckets) n += b;
  return n;
}

TEST(CommitStatsTest, DefaultMapIsLargeAndReservedOnce) {
  StoreOptions defaults;
  EXPECT_EQ(defaults.initial_map_size, 0u);  // start at max_map_size
#ifdef MASA_STORE_SMALL_ADDRESS_SPACE
  EXPECT_EQ(defaults.max_map_size, size_t{64} << 30);  // what ThreadSanitizer leaves room for
#else
  if (sizeof(size_t) >= 8) {
    EXPECT_EQ(defaults.max_map_size, size_t{1} << 40);
  }
#endif
}

TEST(CommitStatsTest, MapNeverGrowsAndTheFileStaysAsSmallAsItsData) {
  TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  o.max_map_size = size_t{16} << 30;  // large, yet room for it under every sanitizer
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->MapSize(), o.max_map_size);
  for (int round = 0; round < 5; ++round) WriteMany(**store, round * 1000, 1000);

  EXPECT_EQ((*store)->MapSize(), o.max_map_size);
  const StoreStats stats = (*store)->Stats();
  EXPECT_EQ(stats.map_growths, 0u);
  EXPECT_EQ(stats.map_growth_time, absl::ZeroDuration());
  EXPECT_EQ(stats.gate_wait, absl::ZeroDuration());
  // 5000 vouchers of 2 KB: about 10 MB of data in a file of that order, not 16 GiB.
  struct stat st {};
  ASSERT_EQ(stat((StoreDir(dir.path()) + "/data.mdb").c_str(), &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_size), uint64_t{256} << 20);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, uint64_t{256} << 20);
}

TEST(CommitStatsTest, GrowsFromASmallConfiguredMapAndCountsIt) {
  TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  o.initial_map_size = size_t{256} << 10;
  o.max_map_size = size_t{256} << 20;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->MapSize(), o.initial_map_size);
  WriteMany(**store, 0, 2000);  // about 4 MB: the map doubles several times

  EXPECT_GT((*store)->MapSize(), o.initial_map_size);
  const StoreStats stats = (*store)->Stats();
  EXPECT_GE(stats.map_growths, 3u);
  EXPECT_GT(stats.map_growth_time, absl::ZeroDuration());
  // Reopened, the store keeps the size it grew to.
  const size_t grown = (*store)->MapSize();
  store->reset();
  auto again = Store::Open(o);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->MapSize(), grown);
}

TEST(CommitStatsTest, StatsCountCommitsBatchesAndTheirTimes) {
  TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  o.max_map_size = size_t{1} << 30;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  const StoreStats before = (*store)->Stats();
  EXPECT_EQ(before.commits, 0u);
  EXPECT_EQ(before.batches, 0u);
  EXPECT_EQ(BucketSum(before), 0u);
  EXPECT_EQ((*store)->TakeSlowestCommit(), absl::ZeroDuration());

  WriteMany(**store, 0, 300);
  // A failing batch is counted too: it ran in the group, rolled back alone.
  auto failed = (*store)->Write(WriteBatch().Insert(TestVoucher(0, 2000)));
  EXPECT_TRUE(absl::IsAlreadyExists(failed.status())) << failed.status();

  const StoreStats after = (*store)->Stats();
  EXPECT_EQ(after.batches, 301u);
  EXPECT_GE(after.commits, 2u);
  EXPECT_LE(after.commits, 301u);  // group commit: some batches shared one
  EXPECT_EQ(after.commits, (*store)->CommitCount());
  EXPECT_EQ(BucketSum(after), after.commits);
  EXPECT_GT(after.commit_time, absl::ZeroDuration());
  EXPECT_GT(after.sync_time, absl::ZeroDuration());
  EXPECT_LE(after.sync_time, after.commit_time);
  EXPECT_GT(after.queue_wait, absl::ZeroDuration());
  EXPECT_EQ(after.map_growths, 0u);

  // The slowest commit is taken once, then starts over.
  const absl::Duration slowest = (*store)->TakeSlowestCommit();
  EXPECT_GT(slowest, absl::ZeroDuration());
  EXPECT_LE(slowest, after.commit_time);
  EXPECT_EQ((*store)->TakeSlowestCommit(), absl::ZeroDuration());
}

TEST(CommitStatsTest, CheckpointsAreCounted) {
  TempDir dir;
  auto key = testing::NewKey("ED25519");
  auto signer = NewEvpCheckpointSigner("masa/test", std::move(key));
  ASSERT_TRUE(signer.ok()) << signer.status();
  StoreOptions o;
  o.state_dir = dir.path();
  o.max_map_size = size_t{1} << 30;
  o.checkpoint_signer = signer->get();
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  WriteMany(**store, 0, 10);
  ASSERT_TRUE((*store)->WriteCheckpoint().ok());
  const StoreStats stats = (*store)->Stats();
  EXPECT_GE(stats.checkpoints, 1u);
  EXPECT_GT(stats.checkpoint_time, absl::ZeroDuration());
}

}  // namespace
}  // namespace masa::store
