// Tamper evidence, end to end: edit, delete or reorder one audit record with raw LMDB calls
// and check that `masactl audit verify` names it; prove / check-proof / export / backup.
#include <lmdb.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/testing/subprocess.h"
#include "gtest/gtest.h"
#include "store/internal/codec.h"
#include "store/internal/test_util.h"
#include "store/store.h"

#ifndef MASACTL
#error "MASACTL must name the masactl binary"
#endif

namespace masa::store {
namespace {

using testing::TempDir;

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

RunResult RunMasactl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{MASACTL};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<subprocess::ProcessResult> r =
      subprocess::RunProcess(argv, {.merge_stderr = true});
  if (!r.ok()) return {.exit_code = -1, .output = r.status().ToString()};
  return {.exit_code = r->exit_code, .output = std::move(r->out)};
}

constexpr int kDataLossExit = 7;

// A store with 40 entries and signed checkpoints, its public key in DIR/audit-key.pem.
class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = testing::NewKey("EC");
    auto signer = NewEvpCheckpointSigner("masa.test/audit", UpRef(key_.get()));
    ASSERT_TRUE(signer.ok());
    StoreOptions o;
    o.state_dir = dir_.path();
    o.checkpoint_signer = signer->get();
    o.checkpoint_every_entries = 8;
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 40; ++i) {
      Voucher v;
      v.id = absl::StrCat("v-", i);
      v.cms = absl::StrCat("cms-", i);
      ASSERT_TRUE((*store)
                      ->Write(WriteBatch().Put(v).Audit(
                          {"alice", "voucher.issue", v.id, "ok", Sha256(v.cms)}))
                      .ok());
    }
    ASSERT_TRUE((*store)->WriteCheckpoint().ok());
    store->reset();
    std::ofstream(dir_.path() + "/audit-key.pem") << testing::PublicPem(key_.get());
  }

  // Raw LMDB edit of the audit table.
  template <typename Fn>
  void Tamper(Fn fn) {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    ASSERT_EQ(mdb_env_open(env, StoreDir(dir_.path()).c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi audit;
    ASSERT_EQ(mdb_dbi_open(txn, "audit", 0, &audit), 0);
    fn(txn, audit);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }

  static std::string Get(MDB_txn* txn, MDB_dbi dbi, uint64_t seq) {
    std::string k = internal::BigEndian64(seq);
    MDB_val key{8, k.data()}, val;
    EXPECT_EQ(mdb_get(txn, dbi, &key, &val), 0);
    return std::string(static_cast<char*>(val.mv_data), val.mv_size);
  }
  static void Put(MDB_txn* txn, MDB_dbi dbi, uint64_t seq, std::string value) {
    std::string k = internal::BigEndian64(seq);
    MDB_val key{8, k.data()}, val{value.size(), value.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
  }

  RunResult Verify() { return RunMasactl({"audit", "verify", "--state", dir_.path()}); }

  TempDir dir_;
  UniquePtr<EVP_PKEY> key_;
};

TEST_F(TamperTest, IntactLogVerifies) {
  RunResult r = Verify();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("40 entries"), std::string::npos) << r.output;
}

TEST_F(TamperTest, EditedEntryIsNamed) {
  Tamper([](MDB_txn* txn, MDB_dbi audit) {
    std::string bytes = Get(txn, audit, 17);
    size_t at = bytes.find("alice");
    ASSERT_NE(at, std::string::npos);
    bytes[at] = 'm';  // "mlice": still a well-formed entry
    Put(txn, audit, 17, bytes);
  });
  RunResult r = Verify();
  EXPECT_EQ(r.exit_code, kDataLossExit) << r.output;
  EXPECT_NE(r.output.find("audit entry 17: content does not match"), std::string::npos) << r.output;
}

TEST_F(TamperTest, DeletedEntryIsNamed) {
  Tamper([](MDB_txn* txn, MDB_dbi audit) {
    std::string k = internal::BigEndian64(23);
    MDB_val key{8, k.data()};
    ASSERT_EQ(mdb_del(txn, audit, &key, nullptr), 0);
  });
  RunResult r = Verify();
  EXPECT_EQ(r.exit_code, kDataLossExit) << r.output;
  EXPECT_NE(r.output.find("audit entry 23: missing"), std::string::npos) << r.output;
}

TEST_F(TamperTest, DeletedLastEntryIsNamed) {
  Tamper([](MDB_txn* txn, MDB_dbi audit) {
    std::string k = internal::BigEndian64(39);
    MDB_val key{8, k.data()};
    ASSERT_EQ(mdb_del(txn, audit, &key, nullptr), 0);
  });
  RunResult r = Verify();
  EXPECT_EQ(r.exit_code, kDataLossExit) << r.output;
  EXPECT_NE(r.output.find("audit entry 39: missing"), std::string::npos) << r.output;
}

TEST_F(TamperTest, ReorderedEntriesAreNamed) {
  Tamper([](MDB_txn* txn, MDB_dbi audit) {
    std::string a = Get(txn, audit, 30);
    std::string b = Get(txn, audit, 31);
    Put(txn, audit, 30, b);
    Put(txn, audit, 31, a);
  });
  RunResult r = Verify();
  EXPECT_EQ(r.exit_code, kDataLossExit) << r.output;
  EXPECT_NE(r.output.find("audit entry 30: holds sequence number 31"), std::string::npos)
      << r.output;
}

TEST_F(TamperTest, WrongAuditKeyFailsTheCheckpoints) {
  auto other = testing::NewKey("EC");
  std::string path = dir_.path() + "/other.pem";
  std::ofstream(path) << testing::PublicPem(other.get());
  RunResult r = RunMasactl({"audit", "verify", "--state", dir_.path(), "--audit-key", path});
  EXPECT_EQ(r.exit_code, kDataLossExit) << r.output;
  EXPECT_NE(r.output.find("checkpoint at tree size 8"), std::string::npos) << r.output;
}

TEST_F(TamperTest, ProofCheckedOfflineAndExportAndBackup) {
  RunResult proof = RunMasactl({"audit", "prove", "--state", dir_.path(), "--entry", "13"});
  ASSERT_EQ(proof.exit_code, 0) << proof.output;
  std::string proof_path = dir_.path() + "/proof.json";
  std::ofstream(proof_path) << proof.output;
  std::string key_path = dir_.path() + "/audit-key.pem";
  RunResult ok =
      RunMasactl({"audit", "check-proof", "--proof", proof_path, "--audit-key", key_path});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("proof OK: entry 13"), std::string::npos) << ok.output;
  // A proof for a different entry's bytes fails.
  std::string forged = proof.output;
  size_t at = forged.find("\"entry_index\": 13");
  ASSERT_NE(at, std::string::npos);
  forged.replace(at, 17, "\"entry_index\": 12");
  std::ofstream(proof_path, std::ios::trunc) << forged;
  RunResult bad =
      RunMasactl({"audit", "check-proof", "--proof", proof_path, "--audit-key", key_path});
  EXPECT_EQ(bad.exit_code, kDataLossExit) << bad.output;

  std::string export_path = dir_.path() + "/export.jsonl";
  RunResult exp = RunMasactl({"audit", "export", "--state", dir_.path(), "--out", export_path});
  ASSERT_EQ(exp.exit_code, 0) << exp.output;
  std::ifstream in(export_path);
  int entries = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"type\":\"entry\"") != std::string::npos) ++entries;
  }
  EXPECT_EQ(entries, 40);
  // The export checks out offline with the audit key alone, and not without it.
  RunResult ev = RunMasactl({"audit", "verify", "--export", export_path, "--audit-key", key_path});
  EXPECT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("audit export OK: 40 entries"), std::string::npos) << ev.output;
  RunResult nokey = RunMasactl({"audit", "verify", "--export", export_path});
  EXPECT_EQ(nokey.exit_code, 5) << nokey.output;  // precondition

  std::string backup = dir_.path() + "/backup.mdb";
  RunResult b = RunMasactl({"store", "backup", "--state", dir_.path(), "--out", backup});
  ASSERT_EQ(b.exit_code, 0) << b.output;
  TempDir restored;
  ASSERT_EQ(mkdir(StoreDir(restored.path()).c_str(), 0700), 0);
  ASSERT_EQ(rename(backup.c_str(), (StoreDir(restored.path()) + "/data.mdb").c_str()), 0);
  std::ofstream(restored.path() + "/audit-key.pem") << testing::PublicPem(key_.get());
  RunResult rv = RunMasactl({"audit", "verify", "--state", restored.path()});
  EXPECT_EQ(rv.exit_code, 0) << rv.output;
}

TEST_F(TamperTest, BadStateFolderIsAClearError) {
  chmod(dir_.path().c_str(), 0777);
  RunResult r = Verify();
  EXPECT_EQ(r.exit_code, 5) << r.output;  // precondition
  EXPECT_NE(r.output.find("world-writable"), std::string::npos) << r.output;
  chmod(dir_.path().c_str(), 0700);
}

}  // namespace
}  // namespace masa::store
