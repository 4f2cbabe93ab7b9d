// Schema 7 -> 8: the audit log's tree nodes move from audit_tree (keyed level, index) to
// audit_nodes (keyed last leaf, level). Root hashes and proofs are the same after it, and a
// tree with a node missing is refused, the store left as it was.
#include <lmdb.h>

#include <string>
#include <vector>

#include "common/sha256.h"
#include "gtest/gtest.h"
#include "store/audit_verify.h"
#include "store/internal/codec.h"
#include "store/internal/raw_env_test_util.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using testing::TempDir;
using testing::TestOptions;
using testing::WithRawEnv;

constexpr uint64_t kEntries = 77;  // not a power of two: some subtrees stay open

struct TreeFigures {
  std::vector<Hash> roots;                // RootHash(1..kEntries)
  std::vector<std::vector<Hash>> proofs;  // InclusionProof(i, kEntries)
  std::vector<Hash> consistency;          // ConsistencyProof(13, kEntries)
};

TreeFigures FiguresOf(Store& store) {
  TreeFigures f;
  auto snap = store.Read();
  for (uint64_t n = 1; n <= kEntries; ++n) f.roots.push_back(*snap->RootHash(n));
  for (uint64_t i = 0; i < kEntries; ++i) f.proofs.push_back(*snap->InclusionProof(i, kEntries));
  f.consistency = *snap->ConsistencyProof(13, kEntries);
  return f;
}

// Writes kEntries audit entries, returns the tree's figures, and turns the closed store
// into one of schema 7: its nodes under the old keys in audit_tree.
TreeFigures WriteSchemaSevenLog(const TempDir& dir) {
  TreeFigures before;
  {
    auto store = Store::Open(TestOptions(dir));
    EXPECT_TRUE(store.ok()) << store.status();
    for (uint64_t i = 0; i < kEntries; i += 7) {
      WriteBatch batch;
      for (uint64_t j = i; j < std::min(i + 7, kEntries); ++j) {
        batch.Audit({"p-1", "voucher.issue", std::to_string(j), "ok", Sha256("x")});
      }
      EXPECT_TRUE((*store)->Write(std::move(batch)).ok());
    }
    before = FiguresOf(**store);
  }
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi nodes, old, meta;
    ASSERT_EQ(mdb_dbi_open(txn, "audit_nodes", 0, &nodes), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "audit_tree", MDB_CREATE, &old), 0);
    for (auto& [key, hash] : testing::RawEntries(txn, "audit_nodes")) {
      ASSERT_EQ(key.size(), 9u);
      const uint64_t last_leaf = internal::ReadBigEndian64(key);
      const int level = static_cast<uint8_t>(key[8]);
      std::string old_key(1, static_cast<char>(level));
      old_key += internal::BigEndian64(((last_leaf + 1) >> level) - 1);
      MDB_val ok{old_key.size(), old_key.data()}, d{hash.size(), hash.data()};
      ASSERT_EQ(mdb_put(txn, old, &ok, &d, 0), 0);
    }
    ASSERT_EQ(mdb_drop(txn, nodes, 0), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string seven = internal::BigEndian64(7);
    MDB_val vk{14, const_cast<char*>("schema_version")}, vv{8, seven.data()};
    ASSERT_EQ(mdb_put(txn, meta, &vk, &vv, 0), 0);
  });
  return before;
}

TEST(MigrateAuditNodesTest, RootsAndProofsAreTheSameAfterTheMove) {
  TempDir dir;
  const TreeFigures before = WriteSchemaSevenLog(dir);
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  {
    auto snap = (*store)->Read();
    EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);
    auto report = VerifyAuditLog(*snap, nullptr);
    EXPECT_TRUE(report.ok()) << report.status();
  }
  const TreeFigures after = FiguresOf(**store);
  EXPECT_EQ(after.roots, before.roots);
  EXPECT_EQ(after.proofs, before.proofs);
  EXPECT_EQ(after.consistency, before.consistency);
  // The log goes on from where it was.
  auto appended = (*store)->Write(WriteBatch().Audit({"p-1", "a", "after", "ok", Sha256("y")}));
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_TRUE(VerifyAuditLog(*(*store)->Read(), nullptr).ok());
  store->reset();
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi old;
    EXPECT_EQ(mdb_dbi_open(txn, "audit_tree", 0, &old), MDB_NOTFOUND);
  });
}

TEST(MigrateAuditNodesTest, AMissingNodeIsDataLossAndNothingChanges) {
  TempDir dir;
  WriteSchemaSevenLog(dir);
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi old;
    ASSERT_EQ(mdb_dbi_open(txn, "audit_tree", 0, &old), 0);
    std::string key(1, '\2');  // level 2, index 5: leaves 20-23
    key += internal::BigEndian64(5);
    MDB_val k{key.size(), key.data()};
    ASSERT_EQ(mdb_del(txn, old, &k, nullptr), 0);
  });
  auto store = Store::Open(TestOptions(dir));
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_NE(store.status().message().find("audit tree node 2/5 of entry 23 is missing"),
            std::string_view::npos)
      << store.status();
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi meta, old;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k{14, const_cast<char*>("schema_version")}, d;
    ASSERT_EQ(mdb_get(txn, meta, &k, &d), 0);
    EXPECT_EQ(internal::ReadBigEndian64(std::string_view(static_cast<char*>(d.mv_data), 8)), 7u);
    EXPECT_EQ(mdb_dbi_open(txn, "audit_tree", 0, &old), 0);
  });
}

}  // namespace
}  // namespace masa::store
