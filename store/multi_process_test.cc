// Several processes on one store, as masad and masactl run beside each other: forked
// children open the same state folder while this process keeps its Store open and writing.
// Each commit must extend the one audit log (no forked chain, every checkpoint signed over
// what is really stored), a map grown by another process must be adopted, a migration must
// wait until the process runs alone, and entries another process appended must get signed.
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/subprocess.h"
#include "gtest/gtest.h"
#include "store/audit_verify.h"
#include "store/internal/codec.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using testing::TempDir;

Voucher MakeVoucher(const std::string& id) {
  Voucher v;
  v.id = id;
  v.request_id = "req-" + id;
  v.organization_id = "org-multi";
  v.ien = "32473";
  v.serial_number = "SN-" + id;
  v.status = "issued";
  v.requested_at = absl::FromUnixSeconds(1700000000);
  v.cms = std::string(3000, 'm');  // large enough that a few hundred outgrow a small map
  return v;
}

WriteBatch Issue(const std::string& id) {
  Voucher v = MakeVoucher(id);
  AuditEvent e{"multi-test", "voucher.issue", id, "ok", Sha256(v.cms)};
  return std::move(WriteBatch().Put(std::move(v)).Audit(std::move(e)));
}

// A child's writes: `count` vouchers "<prefix>-<i>", each with its audit entry, in `rounds`
// runs that each open the store afresh (as one masactl command after another does).
int WriteFromChild(const std::string& dir, CheckpointSigner* signer, const std::string& prefix,
                   int count, int rounds = 1) {
  StoreOptions o;
  o.state_dir = dir;
  o.initial_map_size = 256 << 10;
  o.checkpoint_signer = signer;
  o.checkpoint_every_entries = 7;
  for (int i = 0; i < count;) {
    auto store = Store::Open(o);
    if (!store.ok()) {
      std::fprintf(stderr, "child %s: %s\n", prefix.c_str(), store.status().ToString().c_str());
      return 3;
    }
    for (const int end = std::min(count, i + (count + rounds - 1) / rounds); i < end; ++i) {
      auto r = (*store)->Write(Issue(absl::StrCat(prefix, "-", i)));
      if (!r.ok()) {
        std::fprintf(stderr, "child %s: %s\n", prefix.c_str(), r.status().ToString().c_str());
        return 4;
      }
    }
  }
  return 0;
}

TEST(MultiProcessStoreTest, ProcessesWritingAtOnceExtendOneLog) {
  TempDir dir;
  auto key = testing::NewKey("ED25519");
  auto signer = NewEvpCheckpointSigner("masa.test/multi", UpRef(key.get()));
  ASSERT_TRUE(signer.ok());
  constexpr int kChildren = 3;
  constexpr int kPerProcess = 120;
  StoreOptions o;
  o.state_dir = dir.path();
  o.initial_map_size = 256 << 10;
  o.checkpoint_signer = signer->get();
  o.checkpoint_every_entries = 5;
  // Created before the children start, so they all open an existing store.
  ASSERT_TRUE(Store::Open(o).ok());

  std::vector<std::unique_ptr<subprocess::Child>> children;
  for (int c = 0; c < kChildren; ++c) {
    children.push_back(subprocess::ForkChild([&, c] {
      return WriteFromChild(dir.path(), signer->get(), absl::StrCat("c", c), kPerProcess,
                            /*rounds=*/12);
    }));
  }
  // This process plays masad: its Store stays open throughout and writes meanwhile.
  std::set<std::string> expected;
  {
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < kPerProcess; ++i) {
      std::string id = absl::StrCat("p-", i);
      auto r = (*store)->Write(Issue(id));
      ASSERT_TRUE(r.ok()) << i << ": " << r.status();
      expected.insert(id);
    }
    for (auto& child : children) EXPECT_EQ(child->Wait(), 0);
    for (int c = 0; c < kChildren; ++c) {
      for (int i = 0; i < kPerProcess; ++i) expected.insert(absl::StrCat("c", c, "-", i));
    }
    // The children grew the map past this process's: its writer and readers adopt it.
    for (int i = 0; i < 20; ++i) {
      std::string id = absl::StrCat("after-", i);
      auto r = (*store)->Write(Issue(id));
      ASSERT_TRUE(r.ok()) << r.status();
      expected.insert(id);
    }
    ASSERT_TRUE((*store)->WriteCheckpoint().ok());
    auto snap = (*store)->Read();
    ASSERT_TRUE(snap.ok()) << snap.status();
    for (const std::string& id : expected) EXPECT_TRUE(snap->Get<Voucher>(id).ok()) << id;
    EXPECT_EQ(*snap->AuditSize(), expected.size());
    auto report = VerifyAuditLog(*snap, key.get());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->entries, expected.size());
    EXPECT_GT(report->checkpoints, 10u);
    // Every entry is there exactly once.
    std::multiset<std::string> targets;
    ASSERT_TRUE(snap->ScanAudit(0,
                                [&](uint64_t, std::string_view bytes) {
                                  targets.insert(DecodeAuditEntry(bytes)->target);
                                  return true;
                                })
                    .ok());
    EXPECT_EQ(targets, std::multiset<std::string>(expected.begin(), expected.end()));
  }
}

// masactl opening the store of a busy masad: masad commits pages beyond the map this
// process made at open before this process's first transaction.
TEST(MultiProcessStoreTest, OpensWhileAnotherProcessGrowsTheMap) {
  TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  o.initial_map_size = 256 << 10;
  ASSERT_TRUE(Store::Open(o).ok());
  // The other process holds the write lock on a transaction that adds 4 MB, far past the
  // store's 256 KB, and commits it when told to.
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  auto grower = subprocess::ForkChild([&] {
    close(ready[0]);
    close(go[1]);
    MDB_env* env = nullptr;
    if (mdb_env_create(&env) != 0) return 3;
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, size_t{64} << 20);
    if (mdb_env_open(env, StoreDir(dir.path()).c_str(), 0, 0600) != 0) return 4;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env, nullptr, 0, &txn) != 0) return 5;
    MDB_dbi scratch;
    if (mdb_dbi_open(txn, "scratch-of-another-process", MDB_CREATE, &scratch) != 0) return 6;
    std::string value(4000, 'g');
    for (int i = 0; i < 1000; ++i) {
      std::string key = absl::StrCat("k", i);
      MDB_val k{key.size(), key.data()}, d{value.size(), value.data()};
      if (mdb_put(txn, scratch, &k, &d, 0) != 0) return 7;
    }
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) return 8;
    (void)!read(go[0], &c, 1);
    if (mdb_txn_commit(txn) != 0) return 9;
    mdb_env_close(env);
    return 0;
  });
  close(ready[1]);
  close(go[0]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  // Open maps the store as it is now, then waits for the write lock; the grower commits
  // meanwhile. (Should the commit come first, Open simply sees the grown store.)
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(500));
    close(go[1]);
  });
  auto store = Store::Open(o);
  release.join();
  EXPECT_EQ(grower->Wait(), 0);
  close(ready[0]);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Write(Issue("after-growth")).ok());
  EXPECT_TRUE((*store)->Read()->Get<Voucher>("after-growth").ok());
}

TEST(MultiProcessStoreTest, MigratesOnlyWhenNoOtherProcessHasTheStoreOpen) {
  TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  {
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Write(Issue("v-1")).ok());
  }
  // Make it look like a store of the previous schema (its newest migration not yet run).
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    ASSERT_EQ(mdb_env_open(env, StoreDir(dir.path()).c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi meta;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string v = internal::BigEndian64(kSchemaVersion - 1);
    MDB_val k{14, const_cast<char*>("schema_version")}, d{8, v.data()};
    ASSERT_EQ(mdb_put(txn, meta, &k, &d, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }

  // Another process (an older masad, say) holds the environment open.
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  auto holder = subprocess::ForkChild([&] {
    close(ready[0]);
    close(release[1]);
    MDB_env* env = nullptr;
    if (mdb_env_create(&env) != 0) return 3;
    mdb_env_set_maxdbs(env, 32);
    if (mdb_env_open(env, StoreDir(dir.path()).c_str(), MDB_RDONLY, 0600) != 0) return 4;
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) return 5;
    (void)!read(release[0], &c, 1);  // until the parent closes its end
    mdb_env_close(env);
    return 0;
  });
  close(ready[1]);
  close(release[0]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);

  auto refused = Store::Open(o);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("another process"), absl::string_view::npos)
      << refused.status();
  refused = absl::UnknownError("closed");  // close it before the next open, if it opened

  close(release[1]);
  EXPECT_EQ(holder->Wait(), 0);
  close(ready[0]);
  // Alone now: the migration runs.
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->Read()->SchemaVersion(), kSchemaVersion);
  EXPECT_TRUE((*store)->Read()->Get<Voucher>("v-1").ok());
}

TEST(MultiProcessStoreTest, IdleStoreSignsEntriesAnotherProcessAppended) {
  TempDir dir;
  auto key = testing::NewKey("ED25519");
  auto signer = NewEvpCheckpointSigner("masa.test/multi", UpRef(key.get()));
  ASSERT_TRUE(signer.ok());
  StoreOptions o;
  o.state_dir = dir.path();
  o.checkpoint_signer = signer->get();
  o.checkpoint_every = absl::Milliseconds(20);
  ASSERT_TRUE(Store::Open(o).ok());
  // masactl, without a signer of its own, appends three entries and exits once told to. It
  // is forked before this process opens its store, whose checkpoint timer is a thread.
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  auto child = subprocess::ForkChild([&] {
    close(go[1]);
    char c;
    if (read(go[0], &c, 1) != 1) return 2;
    return WriteFromChild(dir.path(), nullptr, "ctl", 3);
  });
  close(go[0]);
  auto store = Store::Open(o);  // masad: idle from here on
  ASSERT_TRUE(store.ok());
  ASSERT_EQ(write(go[1], "w", 1), 1);
  close(go[1]);
  ASSERT_EQ(child->Wait(), 0);

  // The idle daemon's checkpoint timer must notice them; wait (bounded) for its checkpoint.
  std::optional<std::string> latest;
  for (int i = 0; i < 3000; ++i) {
    auto snap = (*store)->Read();
    ASSERT_TRUE(snap.ok());
    latest = *snap->LatestCheckpoint();
    if (latest && ParseCheckpointNote(*latest)->tree_size == 3) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(latest.has_value()) << "no checkpoint was ever signed";
  EXPECT_EQ(ParseCheckpointNote(*latest)->tree_size, 3u);
  auto report = VerifyAuditLog(*(*store)->Read(), key.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 3u);
}

}  // namespace
}  // namespace masa::store
