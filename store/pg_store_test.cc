// The PostgreSQL store against a real PostgreSQL 15 (store/testing/pg_cluster.h): the same
// records, indexes and audit log as the LMDB store, several nodes on one database, the
// checkpoint lease, and a primary lost under load.
#include <atomic>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/wait_for.h"
#include "gtest/gtest.h"
#include "store/audit_verify.h"
#include "store/copy.h"
#include "store/internal/test_util.h"
#include "store/store.h"
#include "store/testing/pg_cluster.h"

namespace masa::store {
namespace {

using store::testing::PgCluster;
using store::testing::PgConnection;

Voucher NodeVoucher(const std::string& id, int i) {
  Voucher v;
  v.id = id;
  v.request_id = "req-" + id;
  v.organization_id = "org-a";
  v.ien = "32473";
  v.serial_number = "SN" + std::to_string(i % 5);
  v.status = "completed";
  v.requested_at = absl::FromUnixSeconds(1700000000 + i);
  v.cms = std::string(200, static_cast<char>('a' + i % 26));
  return v;
}

WriteBatch IssueBatch(const Voucher& v, const std::string& node) {
  WriteBatch b;
  b.Insert(v).Audit({.actor = node,
                     .action = "voucher.issue",
                     .target = v.id,
                     .outcome = "ok",
                     .object_hash = ""});
  return b;
}

// One primary for the suite; every test gets a database of its own.
class PgStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = PgCluster::Start({.standby = false});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    const std::string name =
        absl::StrCat("t_", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    PgConnection admin(cluster_->ConnString());
    ASSERT_TRUE(admin.ok()) << admin.error();
    ASSERT_TRUE(admin.Query(absl::StrCat("CREATE DATABASE \"", name, "\"")).ok());
    conninfo_ = absl::StrCat(cluster_->ConnString(), " dbname=", name);
    StoreOptions create = Options("migrate");
    create.postgres_migrate = true;
    ASSERT_TRUE(Store::Open(create).ok());
  }

  StoreOptions Options(const std::string& node) const {
    StoreOptions o;
    o.postgres = conninfo_;
    o.node_id = node;
    return o;
  }

  static PgCluster* cluster_;
  std::string conninfo_;
};

PgCluster* PgStoreTest::cluster_ = nullptr;

TEST_F(PgStoreTest, RecordsIndexesAndTheAuditLogReadBackAfterReopening) {
  {
    auto store = Store::Open(Options("n1"));
    ASSERT_TRUE(store.ok()) << store.status();
    Organization org;
    org.id = "org-a";
    org.name = "Org A";
    WriteBatch b;
    b.Put(org);
    for (int i = 0; i < 30; ++i) {
      Voucher v = NodeVoucher(absl::StrCat("v-", 100 + i), i);
      b.Insert(v).Audit({.actor = "n1",
                         .action = "voucher.issue",
                         .target = v.id,
                         .outcome = "ok",
                         .object_hash = ""});
    }
    auto done = (*store)->Write(std::move(b));
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->audit_seqs.size(), 30u);
    EXPECT_EQ(done->audit_seqs.front(), 0u);
    // An insert of an existing key fails alone and names it.
    auto again = (*store)->Write(WriteBatch().Insert(NodeVoucher("v-100", 0)));
    EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
    ASSERT_TRUE((*store)->Write(WriteBatch().Delete<Voucher>("v-101")).ok());
  }
  auto store = Store::Open(Options("n1"));
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  ASSERT_TRUE(snap.ok()) << snap.status();
  auto org = snap->Get<Organization>("org-a");
  ASSERT_TRUE(org.ok()) << org.status();
  EXPECT_EQ(org->name, "Org A");
  auto v = snap->Get<Voucher>("v-107");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->cms, NodeVoucher("v-107", 7).cms);
  EXPECT_TRUE(absl::IsNotFound(snap->Get<Voucher>("v-101").status()));
  // Serials SN0..SN4 hold six vouchers each; v-101 (SN1) was deleted with its index entries.
  auto by_serial = snap->VouchersBySerial("32473", "SN1");
  ASSERT_TRUE(by_serial.ok()) << by_serial.status();
  EXPECT_EQ(by_serial->size(), 5u);
  auto by_org = snap->VouchersByOrganization("org-a");
  ASSERT_TRUE(by_org.ok()) << by_org.status();
  ASSERT_EQ(by_org->size(), 29u);
  EXPECT_EQ(by_org->front().id, "v-100");
  EXPECT_EQ(by_org->back().id, "v-129");
  auto listed = snap->List<Voucher>("v-110", 3);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, "v-110");
  EXPECT_EQ((*listed)[2].id, "v-112");
  auto report = VerifyAuditLog(*snap, nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 30u);
}

TEST_F(PgStoreTest, OnlyMigrateCreatesTheTablesAndOpenSaysSo) {
  PgConnection admin(cluster_->ConnString());
  ASSERT_TRUE(admin.Query("CREATE DATABASE empty_one").ok());
  StoreOptions o = Options("n1");
  o.postgres = absl::StrCat(cluster_->ConnString(), " dbname=empty_one");
  auto refused = Store::Open(o);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("masactl store migrate"), std::string::npos);
  o.read_only = true;
  EXPECT_TRUE(absl::IsNotFound(Store::Open(o).status()));
  o.read_only = false;
  o.postgres_migrate = true;
  ASSERT_TRUE(Store::Open(o).ok());
  o.postgres_migrate = false;
  auto opened = Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->Backend(), "postgres");
  // A password belongs in a pgpass file, and the error does not repeat it.
  o.postgres = absl::StrCat(cluster_->ConnString(), " password=hunter2");
  auto with_password = Store::Open(o);
  EXPECT_TRUE(absl::IsInvalidArgument(with_password.status()));
  EXPECT_EQ(with_password.status().message().find("hunter2"), std::string::npos);
}

TEST_F(PgStoreTest, CopyMovesAnLmdbStoreAcrossWholeAndVerified) {
  auto key = testing::NewKey("ED25519");
  ASSERT_TRUE(key);
  auto signer = NewEvpCheckpointSigner("masa.test/audit", UpRef(key.get()));
  ASSERT_TRUE(signer.ok()) << signer.status();
  testing::TempDir dir;
  StoreOptions lmdb_options;
  lmdb_options.state_dir = dir.path();
  lmdb_options.checkpoint_signer = signer->get();
  lmdb_options.checkpoint_origin = "masa.test/audit";
  lmdb_options.checkpoint_every_entries = 7;
  auto lmdb = Store::Open(lmdb_options);
  ASSERT_TRUE(lmdb.ok()) << lmdb.status();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE((*lmdb)->Write(IssueBatch(NodeVoucher(absl::StrCat("v-", i), i), "one")).ok());
  }
  ASSERT_TRUE((*lmdb)->WriteCheckpoint().ok());
  // Into a new database: copy creates the tables itself.
  PgConnection admin(cluster_->ConnString());
  ASSERT_TRUE(admin.Query("CREATE DATABASE copy_target").ok());
  conninfo_ = absl::StrCat(cluster_->ConnString(), " dbname=copy_target");
  auto report = CopyStoreToPostgres(**lmdb, conninfo_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->audit_entries, 40u);
  {
    auto lmdb_snap = (*lmdb)->Read();
    ASSERT_TRUE(lmdb_snap.ok());
    EXPECT_EQ(report->audit_root, *lmdb_snap->RootHash(40));
  }
  auto pg = Store::Open(Options("n1"));
  ASSERT_TRUE(pg.ok()) << pg.status();
  {
    auto snap = (*pg)->Read();
    ASSERT_TRUE(snap.ok());
    auto v = snap->Get<Voucher>("v-33");
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->cms, NodeVoucher("v-33", 33).cms);
    auto verified = VerifyAuditLog(*snap, key.get());
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->entries, 40u);
    EXPECT_GE(verified->checkpoints, 5u);  // signed on LMDB, still verifying on PostgreSQL
  }
  // The log goes on from where it was, on the copy.
  auto next = (*pg)->Write(IssueBatch(NodeVoucher("v-40", 40), "n1"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->audit_seqs, std::vector<uint64_t>{40});
  // A second copy into a database holding a store is refused and writes nothing.
  auto again = CopyStoreToPostgres(**lmdb, conninfo_);
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  auto after = (*pg)->Read();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after->AuditSize(), 41u);
}

TEST_F(PgStoreTest, AFailingBatchIsRolledBackAloneAndItsGroupCommits) {
  auto store = Store::Open(Options("n1"));
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<std::future<absl::StatusOr<CommitResult>>> results;
  for (int i = 0; i < 9; ++i) {
    Voucher v = NodeVoucher(absl::StrCat("v-", i), i);
    WriteBatch b = IssueBatch(v, "n1");
    if (i % 3 == 1) {
      b.Do([](WriteTxn&) { return absl::FailedPreconditionError("serial is not yours"); });
    }
    results.push_back((*store)->Submit(std::move(b)));
  }
  std::set<uint64_t> seqs;
  for (int i = 0; i < 9; ++i) {
    auto r = results[i].get();
    if (i % 3 == 1) {
      EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << i << ": " << r.status();
    } else {
      ASSERT_TRUE(r.ok()) << i << ": " << r.status();
      seqs.insert(r->audit_seqs.begin(), r->audit_seqs.end());
    }
  }
  EXPECT_EQ(seqs, (std::set<uint64_t>{0, 1, 2, 3, 4, 5}));
  auto snap = (*store)->Read();
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_TRUE(absl::IsNotFound(snap->Get<Voucher>("v-4").status()));
  EXPECT_TRUE(snap->Get<Voucher>("v-5").ok());
  auto report = VerifyAuditLog(*snap, nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 6u);
}

// Three nodes writing at once: one log, numbered in commit order, that verifies; and what
// one node commits (or deletes, as a revoked token) the others see at once.
TEST_F(PgStoreTest, NodesShareOneAuditLogAndSeeEachOthersWritesAtOnce) {
  std::vector<std::unique_ptr<Store>> nodes;
  for (int n = 0; n < 3; ++n) {
    auto store = Store::Open(Options(absl::StrCat("n", n)));
    ASSERT_TRUE(store.ok()) << store.status();
    nodes.push_back(*std::move(store));
  }
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::set<uint64_t> seqs;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Store& node = *nodes[t % 3];
      for (int i = 0; i < kPerThread; ++i) {
        Voucher v = NodeVoucher(absl::StrCat("v-", t, "-", i), i);
        auto r = node.Write(IssueBatch(v, absl::StrCat("n", t % 3)));
        if (!r.ok() || r->audit_seqs.size() != 1) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        seqs.insert(r->audit_seqs[0]);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(seqs.size(), 6u * kPerThread);  // no sequence number given twice
  EXPECT_EQ(*seqs.rbegin(), 6u * kPerThread - 1);
  for (auto& node : nodes) {
    auto snap = node->Read();
    ASSERT_TRUE(snap.ok()) << snap.status();
    auto report = VerifyAuditLog(*snap, nullptr);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->entries, 6u * kPerThread);
  }
  {
    // Every entry names the node that wrote it.
    auto snap = nodes[0]->Read();
    ASSERT_TRUE(snap.ok());
    std::set<std::string> writers;
    for (uint64_t seq = 0; seq < 6u * kPerThread; ++seq) {
      auto e = snap->GetAuditEntry(seq);
      ASSERT_TRUE(e.ok()) << e.status();
      writers.insert(e->node);
    }
    EXPECT_EQ(writers, (std::set<std::string>{"n0", "n1", "n2"}));
  }
  ApiToken token;
  token.token_hash = std::string(32, 't');
  token.principal_id = "p-1";
  ASSERT_TRUE(nodes[0]->Write(WriteBatch().Put(token)).ok());
  {
    auto snap = nodes[2]->Read();
    ASSERT_TRUE(snap.ok());
    EXPECT_TRUE(snap->Get<ApiToken>(token.token_hash).ok());
  }
  ASSERT_TRUE(nodes[1]->Write(WriteBatch().Delete<ApiToken>(token.token_hash)).ok());
  for (auto& node : nodes) {
    auto snap = node->Read();
    ASSERT_TRUE(snap.ok());
    EXPECT_TRUE(absl::IsNotFound(snap->Get<ApiToken>(token.token_hash).status()));
  }
  // Node 0's remembered rows are stale now (node 1 deleted the token): its next write must
  // not resurrect or trip over them.
  ASSERT_TRUE(nodes[0]->Write(WriteBatch().Put(token)).ok());
  auto snap = nodes[1]->Read();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->Get<ApiToken>(token.token_hash).ok());
}

TEST_F(PgStoreTest, OneNodeAtATimeSignsCheckpointsAndAnotherTakesOverTheLease) {
  auto key = testing::NewKey("ED25519");
  ASSERT_TRUE(key);
  auto signer = NewEvpCheckpointSigner("masa.test/audit", UpRef(key.get()));
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto options = [&](const std::string& node) {
    StoreOptions o = Options(node);
    o.checkpoint_signer = signer->get();
    o.checkpoint_origin = "masa.test/audit";
    o.checkpoint_every_entries = 5;
    o.checkpoint_every = absl::Milliseconds(200);
    return o;
  };
  auto a = Store::Open(options("node-a"));
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Store::Open(options("node-b"));
  ASSERT_TRUE(b.ok()) << b.status();
  for (int i = 0; i < 10; ++i) {
    Store& node = i % 2 == 0 ? **a : **b;
    ASSERT_TRUE(node.Write(IssueBatch(NodeVoucher(absl::StrCat("v-", i), i), "x")).ok());
  }
  PgConnection db(conninfo_);
  ASSERT_TRUE(db.ok()) << db.error();
  std::string holder;
  ASSERT_TRUE(::masa::testing::WaitFor([&] {
    auto h = db.Query("SELECT holder FROM masa_lease WHERE name = 'checkpoint'");
    holder = h.ok() ? *h : "";
    auto snap = (*a)->Read();
    auto cp = snap.ok() ? snap->LatestCheckpoint() : std::nullopt;
    return !holder.empty() && cp.ok() && cp->has_value();
  }));
  // The other node is not signing: only the holder's store counts checkpoints.
  Store& holder_store = holder == "node-a" ? **a : **b;
  Store& other_store = holder == "node-a" ? **b : **a;
  EXPECT_GT(holder_store.Stats().checkpoints, 0u);
  EXPECT_EQ(other_store.Stats().checkpoints, 0u);
  // The holder goes away; once its lease expires the other signs what was added since.
  if (holder == "node-a") {
    a->reset();
  } else {
    b->reset();
  }
  ASSERT_TRUE(other_store.Write(IssueBatch(NodeVoucher("v-last", 11), "x")).ok());
  ASSERT_TRUE(::masa::testing::WaitFor([&] { return other_store.Stats().checkpoints > 0; },
                                       absl::Seconds(10)));
  auto lease = db.Query("SELECT holder FROM masa_lease WHERE name = 'checkpoint'");
  ASSERT_TRUE(lease.ok());
  EXPECT_NE(*lease, holder);
  auto snap = other_store.Read();
  ASSERT_TRUE(snap.ok());
  auto report = VerifyAuditLog(*snap, key.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 11u);
  EXPECT_GE(report->checkpoints, 2u);
}

}  // namespace
}  // namespace masa::store

namespace masa::store {
namespace {

// Under load from two nodes, the primary dies (SIGKILL) and the standby is promoted: every
// batch a node acknowledged is on the new primary, the log verifies, and the writers saw
// only kUnavailable (retry) meanwhile, then carried on by themselves.
TEST(PgStoreFailoverTest, AcknowledgedWritesSurviveThePrimarysLossAndTheNodesCarryOn) {
  auto cluster = PgCluster::Start({.standby = true});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  std::vector<std::unique_ptr<Store>> nodes;
  for (int n = 0; n < 2; ++n) {
    StoreOptions o;
    o.postgres = (*cluster)->ConnString();
    o.node_id = absl::StrCat("n", n);
    o.postgres_migrate = n == 0;
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    nodes.push_back(*std::move(store));
  }
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::vector<absl::Status> errors;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        Voucher v = NodeVoucher(absl::StrCat("v-", t, "-", i), i);
        auto r = nodes[t % 2]->Write(IssueBatch(v, absl::StrCat("n", t % 2)));
        std::lock_guard<std::mutex> lock(mu);
        if (r.ok()) {
          acknowledged.push_back(v.id);
        } else {
          errors.push_back(r.status());
        }
      }
    });
  }
  auto acked = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acknowledged.size();
  };
  ASSERT_TRUE(::masa::testing::WaitFor([&] { return acked() >= 200; }));
  ASSERT_TRUE((*cluster)->KillPrimary().ok());
  ASSERT_TRUE((*cluster)->PromoteStandby().ok());
  const size_t before = acked();
  const bool carried_on =
      ::masa::testing::WaitFor([&] { return acked() >= before + 200; }, absl::Seconds(30));
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(carried_on) << "the nodes did not write on the promoted standby\n"
                          << (*cluster)->Logs();
  for (const absl::Status& e : errors) {
    EXPECT_TRUE(absl::IsUnavailable(e)) << e;
  }
  auto snap = nodes[1]->Read();
  ASSERT_TRUE(snap.ok()) << snap.status();
  for (const std::string& id : acknowledged) {
    EXPECT_TRUE(snap->Get<Voucher>(id).ok()) << id << " was acknowledged and is gone";
  }
  auto report = VerifyAuditLog(*snap, nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GE(report->entries, acknowledged.size());
  std::cout << acknowledged.size() << " acknowledged, " << errors.size()
            << " failed with kUnavailable around the failover\n";
}

}  // namespace
}  // namespace masa::store
