// Records whose keys grow (UUIDv7 ids, the audit sequence) are appended: pages fill up
// instead of splitting in half, and a key that does not grow is still stored, or, for the
// audit log, refused with an error that says why.
#include <lmdb.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "common/uuid.h"
#include "gtest/gtest.h"
#include "store/audit_verify.h"
#include "store/internal/codec.h"
#include "store/internal/raw_env_test_util.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using testing::TempDir;
using testing::WithRawEnv;
using testing::TestOptions;

// A voucher about the size of a signed one once its certificates are cut out: two fit a
// page, three do not.
Voucher BigVoucher(const std::string& id, const std::string& request_id) {
  Voucher v;
  v.id = id;
  v.request_id = request_id;
  v.organization_id = "org-a";
  v.ien = "32473";
  v.serial_number = "SN-" + id.substr(24);
  v.status = "completed";
  v.requested_at = absl::FromUnixSeconds(1800000000);
  v.cms = std::string(1500, 'c') + id;
  return v;
}

MDB_stat StatOf(MDB_txn* txn, const char* db) {
  MDB_dbi dbi;
  MDB_stat st{};
  EXPECT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  EXPECT_EQ(mdb_stat(txn, dbi, &st), 0);
  return st;
}

// A request's vouchers, ids made one after another: every page of the table holds two
// (a half-split B-tree would leave most with one), so the store is that much smaller.
TEST(PageFillTest, VouchersWithGrowingIdsFillTheirPages) {
  TempDir dir;
  std::vector<Voucher> written;
  {
    auto store = Store::Open(TestOptions(dir));
    ASSERT_TRUE(store.ok()) << store.status();
    for (int request = 0; request < 20; ++request) {
      const std::string request_id = NewUuidV7(absl::Now());
      WriteBatch batch;
      for (int i = 0; i < 20; ++i) {
        written.push_back(BigVoucher(NewUuidV7(absl::Now()), request_id));
        batch.Insert(written.back());
      }
      ASSERT_TRUE((*store)->Write(std::move(batch)).ok());
    }
    auto snap = (*store)->Read();
    ASSERT_TRUE(snap.ok());
    for (const Voucher& v : written) {
      auto got = snap->Get<Voucher>(v.id);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->cms, v.cms);
    }
    EXPECT_EQ(snap->VouchersByRequest(written[0].request_id)->size(), 20u);
  }
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_stat st = StatOf(txn, "vouchers");
    EXPECT_EQ(st.ms_entries, 400u);
    EXPECT_LE(st.ms_leaf_pages, 201u) << "vouchers should fill their pages two by two";
  });
}

// Ids that do not grow (made by another process, an older client, a migration) are
// stored and found like the others.
TEST(PageFillTest, VouchersOutOfKeyOrderAreStoredAndFound) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) ids.push_back(NewUuidV7(absl::Now()));
  std::vector<std::string> order = ids;
  std::reverse(order.begin(), order.end());
  std::rotate(order.begin(), order.begin() + 25, order.end());
  WriteBatch first, second;
  for (size_t i = 0; i < order.size(); ++i) {
    (i % 2 ? first : second).Insert(BigVoucher(order[i], "req-" + order[i % 3]));
  }
  ASSERT_TRUE((*store)->Write(std::move(first)).ok());
  ASSERT_TRUE((*store)->Write(std::move(second)).ok());
  auto snap = (*store)->Read();
  ASSERT_TRUE(snap.ok());
  auto listed = snap->List<Voucher>();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ((*listed)[i].id, ids[i]);  // key order
    EXPECT_EQ((*listed)[i].cms, BigVoucher(ids[i], "").cms);
  }
  size_t by_request = 0;
  for (int i = 0; i < 3; ++i) by_request += snap->VouchersByRequest("req-" + order[i])->size();
  EXPECT_EQ(by_request, ids.size());
  EXPECT_EQ(snap->VouchersByOrganization("org-a")->size(), ids.size());
}

// An audit entry stored beyond the head (a damaged or tampered store) makes the next append
// fail with kDataLoss naming the sequence number; the stored entry is left as it was.
TEST(PageFillTest, AuditAppendOverAnEntryBeyondTheHeadIsRefused) {
  TempDir dir;
  {
    auto store = Store::Open(TestOptions(dir));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Write(WriteBatch().Audit({"p-1", "a", "t", "ok", Sha256("x")})).ok());
  }
  const std::string planted = "planted entry";
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi audit;
    ASSERT_EQ(mdb_dbi_open(txn, "audit", 0, &audit), 0);
    std::string key = internal::BigEndian64(5);
    MDB_val k{key.size(), key.data()};
    MDB_val d{planted.size(), const_cast<char*>(planted.data())};
    ASSERT_EQ(mdb_put(txn, audit, &k, &d, 0), 0);
  });
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok());
  auto r = (*store)->Write(WriteBatch().Audit({"p-1", "b", "t", "ok", Sha256("y")}));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_NE(r.status().message().find("entry at or after 1 is already stored"),
            std::string_view::npos)
      << r.status();
  auto snap = (*store)->Read();
  EXPECT_EQ(*snap->AuditSize(), 1u);
  EXPECT_EQ(*snap->AuditEntryBytes(5), planted);
}

// The Merkle tree's nodes are appended too: every node an entry completes ends at that
// entry, so its key sorts last. Pages fill (78 nodes a page), where keys grouped by level
// would leave every level's pages half full and each commit rewriting one page per level.
TEST(PageFillTest, AuditTreeNodesFillTheirPages) {
  TempDir dir;
  {
    auto store = Store::Open(TestOptions(dir));
    ASSERT_TRUE(store.ok()) << store.status();
    for (int commit = 0; commit < 100; ++commit) {
      WriteBatch batch;
      for (int i = 0; i < 20; ++i) {
        batch.Audit({"p-1", "voucher.issue", std::to_string(commit * 20 + i), "ok", Sha256("c")});
      }
      ASSERT_TRUE((*store)->Write(std::move(batch)).ok());
    }
    auto snap = (*store)->Read();
    auto report = VerifyAuditLog(*snap, nullptr);
    ASSERT_TRUE(report.ok()) << report.status();
  }
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_stat st = StatOf(txn, "audit_nodes");
    EXPECT_EQ(st.ms_entries, 2u * 2000 - 6);  // 2n - popcount(n) for n = 2000
    EXPECT_LE(st.ms_leaf_pages, 55u) << "the tree's nodes should fill their pages";
  });
}

// The serial index holds only keys: a serial's entries stay small, so the consecutive
// serials of a request share pages however many vouchers each already has. Summaries come
// from the records; an entry naming a voucher that is not stored is data loss, named.
TEST(PageFillTest, SerialIndexEntriesHoldOnlyTheirKeys) {
  TempDir dir;
  {
    auto store = Store::Open(TestOptions(dir));
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch batch;
    for (int i = 0; i < 3; ++i) {
      Voucher v = BigVoucher(NewUuidV7(absl::Now()), "req-1");
      v.serial_number = "SN-1";
      v.pdc_sha256 = std::string(32, static_cast<char>('a' + i));
      if (i == 1) v.archived_at = absl::FromUnixSeconds(1800000100);
      batch.Insert(v);
    }
    ASSERT_TRUE((*store)->Write(std::move(batch)).ok());
    auto summaries = (*store)->Read()->VoucherSummariesBySerial("32473", "SN-1");
    ASSERT_TRUE(summaries.ok()) << summaries.status();
    ASSERT_EQ(summaries->size(), 3u);
    EXPECT_EQ((*summaries)[1].pdc_sha256, std::string(32, 'b'));
    EXPECT_TRUE((*summaries)[1].archived_at.has_value());
    EXPECT_EQ((*summaries)[2].organization_id, "org-a");
  }
  std::string first_id;
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi records;
    const auto entries = testing::RawEntries(txn, "idx_voucher_serial");
    ASSERT_EQ(entries.size(), 3u);
    for (const auto& [key, value] : entries) EXPECT_EQ(value, "") << key;
    first_id = entries[0].first.substr(entries[0].first.size() - 36);
    // Lose the first voucher's record, not its index entry.
    ASSERT_EQ(mdb_dbi_open(txn, "vouchers", 0, &records), 0);
    MDB_val rk{first_id.size(), first_id.data()};
    ASSERT_EQ(mdb_del(txn, records, &rk, nullptr), 0);
  });
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto summaries = (*store)->Read()->VoucherSummariesBySerial("32473", "SN-1");
  EXPECT_EQ(summaries.status().code(), absl::StatusCode::kDataLoss) << summaries.status();
  EXPECT_NE(
      summaries.status().message().find("names voucher " + first_id + ", which is not stored"),
      std::string_view::npos)
      << summaries.status();
}

}  // namespace
}  // namespace masa::store
