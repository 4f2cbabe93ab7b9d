// Snapshots and the writer: a thread holding a snapshot may not wait for a write, and
// snapshots that come and go never keep the writer from growing the map.
#include <atomic>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using testing::TempDir;
using testing::TestOptions;
using testing::TestVoucher;

WriteBatch CreateOrg(const std::string& id) {
  return std::move(
      WriteBatch().Put(Organization{id, "", {}, ""}).Audit({"t", "org.create", id, "ok", ""}));
}

bool Refused(const absl::StatusOr<CommitResult>& r) {
  return absl::IsFailedPrecondition(r.status()) &&
         r.status().message().find("snapshot") != absl::string_view::npos &&
         r.status().message().find("map growth") != absl::string_view::npos;
}

// Store::Write with a snapshot open on the calling thread is refused, and nothing of the
// batch is written; once the snapshot ends, the same write goes through.
TEST(StoreSnapshotTest, WriteIsRefusedWhileThisThreadHoldsASnapshot) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  {
    auto snap = (*store)->Read();
    ASSERT_TRUE(snap.ok()) << snap.status();
    auto refused = (*store)->Write(CreateOrg("org-x"));
    EXPECT_TRUE(Refused(refused)) << refused.status();
    // Moving the snapshot moves its count: the moved-from one holds nothing, the new one
    // still refuses.
    Snapshot moved = *std::move(snap);
    refused = (*store)->Write(CreateOrg("org-x"));
    EXPECT_TRUE(Refused(refused)) << refused.status();
    {
      Snapshot second = *(*store)->Read();
      EXPECT_NE(refused.status().message().find("1 open store snapshot,"), absl::string_view::npos)
          << refused.status();
      refused = (*store)->Write(CreateOrg("org-x"));
      EXPECT_NE(refused.status().message().find("2 open store snapshots"), absl::string_view::npos)
          << refused.status();
    }
  }
  {
    auto snap = (*store)->Read();
    EXPECT_TRUE(absl::IsNotFound(snap->Get<Organization>("org-x").status()));
    EXPECT_EQ(*snap->AuditSize(), 0u);
  }
  auto written = (*store)->Write(CreateOrg("org-x"));
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->audit_seqs, std::vector<uint64_t>{0});
  auto snap = (*store)->Read();
  EXPECT_TRUE(snap->Get<Organization>("org-x").ok());
  EXPECT_EQ(*snap->AuditSize(), 1u);
}

// A snapshot counts against the thread that opened it, wherever it is moved, until it
// ends; a snapshot another thread opened does not refuse this thread's writes.
TEST(StoreSnapshotTest, ASnapshotCountsAgainstTheThreadThatOpenedIt) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();

  // Opened here, moved to another thread that holds it until told to end it.
  std::promise<void> release;
  std::thread holder;
  {
    Snapshot snap = *(*store)->Read();
    holder = std::thread([snap = std::move(snap), done = release.get_future()]() mutable {
      done.wait();
      Snapshot mine = std::move(snap);
      EXPECT_TRUE(mine.AuditSize().ok());
    });
  }
  EXPECT_TRUE(Refused((*store)->Write(CreateOrg("org-a"))));
  release.set_value();
  holder.join();  // the snapshot ended on the other thread
  auto written = (*store)->Write(CreateOrg("org-a"));
  EXPECT_TRUE(written.ok()) << written.status();

  // Opened on another thread and held there: this thread writes.
  std::promise<void> opened, release_other;
  std::thread other([&] {
    auto snap = (*store)->Read();
    ASSERT_TRUE(snap.ok()) << snap.status();
    opened.set_value();
    release_other.get_future().wait();
    // That thread, though, may not write until its snapshot ends.
    EXPECT_TRUE(Refused((*store)->Write(CreateOrg("org-c"))));
  });
  opened.get_future().wait();
  written = (*store)->Write(CreateOrg("org-b"));
  EXPECT_TRUE(written.ok()) << written.status();
  release_other.set_value();
  other.join();
  auto snap = (*store)->Read();
  EXPECT_TRUE(snap->Get<Organization>("org-b").ok());
  EXPECT_TRUE(absl::IsNotFound(snap->Get<Organization>("org-c").status()));
}

// Many request threads each open a short snapshot, read, and drop it, so that at almost
// every moment some snapshot is open. The writer must still get its turn to grow the map:
// every write succeeds (no kUnavailable after the growth wait) and the map grew several
// times.
TEST(StoreMapGrowthTest, ShortSnapshotsOnManyThreadsDoNotStarveMapGrowth) {
  TempDir dir;
  StoreOptions o = TestOptions(dir);
  o.initial_map_size = size_t{256} << 10;
  o.max_map_size = size_t{1} << 30;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(TestVoucher(0, 8000))).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> read_failures{0};
  std::atomic<uint64_t> snapshots{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto snap = (*store)->Read();
        if (!snap.ok() || !snap->Get<Voucher>("v-0").ok() || !snap->AuditSize().ok()) {
          ++read_failures;
        }
        ++snapshots;
      }
    });
  }
  // Wait until the readers run before writing, so that every growth meets them.
  while (snapshots.load() < 100) std::this_thread::yield();

  constexpr int kBatches = 40;
  constexpr int kPerBatch = 10;  // 40 * 10 * 8 KB: the map doubles at least three times
  int written = 0;
  absl::Status failed;
  for (int b = 0; b < kBatches && failed.ok(); ++b) {
    WriteBatch batch;
    for (int i = 0; i < kPerBatch; ++i) batch.Put(TestVoucher(1 + b * kPerBatch + i, 8000));
    auto r = (*store)->Write(std::move(batch));
    if (r.ok()) {
      ++written;
    } else {
      failed = r.status();
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_TRUE(failed.ok()) << "after " << written << " batches: " << failed;
  EXPECT_EQ(written, kBatches);
  EXPECT_EQ(read_failures.load(), 0);
  EXPECT_GE((*store)->MapSize(), o.initial_map_size * 8);
  std::printf("map grew from %zu to %zu bytes while %llu snapshots came and went\n",
              o.initial_map_size, (*store)->MapSize(),
              static_cast<unsigned long long>(snapshots.load()));
}

}  // namespace
}  // namespace masa::store
