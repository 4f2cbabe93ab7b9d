#include "store/store.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "store/internal/codec.h"
#include "store/internal/record_fields.h"
#include "store/internal/test_util.h"

namespace masa::store {
namespace {

using testing::TempDir;

StoreOptions Options(const TempDir& dir) {
  StoreOptions o;
  o.state_dir = dir.path();
  return o;
}

Voucher MakeVoucher(int i, const std::string& org = "org-a") {
  Voucher v;
  v.id = "v-" + std::to_string(i);
  v.request_id = "req-" + std::to_string(i / 10);
  v.organization_id = org;
  v.ien = "32473";
  v.serial_number = "SN" + std::to_string(i % 7);
  v.status = "issued";
  v.requested_at = absl::FromUnixSeconds(1700000000 + i);
  v.cms = std::string(100, static_cast<char>('a' + i % 26));
  return v;
}

// Runs raw LMDB calls on a store's environment (tests only; the store must be closed).
template <typename Fn>
void WithRawEnv(const std::string& state_dir, Fn fn) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 32);
  ASSERT_EQ(mdb_env_open(env, StoreDir(state_dir).c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  fn(txn);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(StoreTest, RecordsRoundTripAndIndexesFollowUpdates) {
  TempDir dir;
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  WriteBatch batch;
  batch.Put(Organization{"org-a", "A", absl::FromUnixSeconds(5), ""});
  batch.Put(Group{"grp-1", "org-a", "org-a", "lab", absl::FromUnixSeconds(6), ""});
  Component c;
  c.ien = "32473";
  c.serial_number = "SN1";
  c.organization_id = "org-a";
  c.tpm_data = "";
  batch.Put(c);
  KeyRecord k;
  k.id = "key-1";
  k.uri = "pkcs11:token=masa;object=sign";
  k.state = KeyState::kActive;
  k.activated_at = absl::FromUnixSeconds(9);
  batch.Put(k);
  RoleBinding rb;
  rb.id = "rb-1";
  rb.grants = {"request", "download"};
  batch.Put(rb);
  for (int i = 0; i < 30; ++i) batch.Put(MakeVoucher(i, i % 2 ? "org-a" : "org-b"));
  ASSERT_TRUE((*store)->Write(std::move(batch)).ok());

  auto snap = (*store)->Read();
  ASSERT_TRUE(snap.ok());
  auto org = snap->Get<Organization>("org-a");
  ASSERT_TRUE(org.ok());
  EXPECT_EQ(org->name, "A");
  EXPECT_EQ(org->created_at, absl::FromUnixSeconds(5));
  auto comp = snap->Get<Component>(ComponentKey("32473", "SN1"));
  ASSERT_TRUE(comp.ok());
  ASSERT_TRUE(comp->tpm_data.has_value());  // present-but-empty survives
  auto key = snap->Get<KeyRecord>("key-1");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->state, KeyState::kActive);
  EXPECT_EQ(key->activated_at, absl::FromUnixSeconds(9));
  EXPECT_FALSE(key->retired_at.has_value());
  EXPECT_EQ(snap->Get<RoleBinding>("rb-1")->grants, (std::vector<std::string>{"request", "download"}));
  EXPECT_TRUE(absl::IsNotFound(snap->Get<Organization>("org-z").status()));

  auto by_serial = snap->VouchersBySerial("32473", "SN3");
  ASSERT_TRUE(by_serial.ok());
  EXPECT_EQ(by_serial->size(), 4u);  // i = 3, 10, 17, 24
  auto by_org = snap->VouchersByOrganization("org-a", absl::FromUnixSeconds(1700000005),
                                             absl::FromUnixSeconds(1700000011));
  ASSERT_TRUE(by_org.ok());
  ASSERT_EQ(by_org->size(), 3u);  // 5, 7, 9
  EXPECT_EQ((*by_org)[0].id, "v-5");
  EXPECT_EQ((*by_org)[2].id, "v-9");
  auto by_req = snap->VouchersByRequest("req-2");
  ASSERT_TRUE(by_req.ok());
  EXPECT_EQ(by_req->size(), 10u);
  auto page = snap->List<Voucher>("", 5);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 5u);

  // Moving a voucher to another serial moves its index entry.
  Voucher moved = MakeVoucher(3, "org-a");
  moved.serial_number = "SN-NEW";
  WriteBatch update;
  update.Put(moved).Delete<Voucher>("v-10");
  ASSERT_TRUE((*store)->Write(std::move(update)).ok());
  auto snap2 = (*store)->Read();
  EXPECT_EQ(snap2->VouchersBySerial("32473", "SN3")->size(), 2u);
  EXPECT_EQ(snap2->VouchersBySerial("32473", "SN-NEW")->size(), 1u);
  EXPECT_EQ(snap2->VouchersByRequest("req-1")->size(), 9u);
  // The old snapshot still sees the old data.
  EXPECT_EQ(snap->VouchersBySerial("32473", "SN3")->size(), 4u);
}

TEST(StoreTest, SerialSummariesFollowTheVoucherRecords) {
  TempDir dir;
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  Voucher a = MakeVoucher(1);
  a.serial_number = "SN-S";
  a.expires_at = absl::FromUnixSeconds(1800000000);
  a.pdc_sha256 = std::string(32, 'p');
  Voucher b = MakeVoucher(2, "org-b");
  b.serial_number = "SN-S";
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(a).Put(b).Put(MakeVoucher(3))).ok());
  auto summaries = (*store)->Read()->VoucherSummariesBySerial("32473", "SN-S");
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->size(), 2u);
  EXPECT_EQ((*summaries)[0].id, "v-1");
  EXPECT_EQ((*summaries)[0].organization_id, "org-a");
  EXPECT_EQ((*summaries)[0].status, "issued");
  EXPECT_EQ((*summaries)[0].expires_at, absl::FromUnixSeconds(1800000000));
  EXPECT_EQ((*summaries)[0].pdc_sha256, std::string(32, 'p'));
  EXPECT_FALSE((*summaries)[0].archived_at.has_value());
  EXPECT_EQ((*summaries)[1].organization_id, "org-b");

  // An update (archive) replaces the summary; a delete removes it.
  a.status = "archived";
  a.archived_at = absl::FromUnixSeconds(1700000100);
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(a).Delete<Voucher>("v-2")).ok());
  summaries = (*store)->Read()->VoucherSummariesBySerial("32473", "SN-S");
  ASSERT_TRUE(summaries.ok());
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_EQ((*summaries)[0].status, "archived");
  EXPECT_EQ((*summaries)[0].archived_at, absl::FromUnixSeconds(1700000100));
}

// The pin index answers "which certificates is this serial pinned to" with one entry per
// certificate: the unarchived voucher that expires last, kept right through inserts,
// updates (renew, archive) and deletes.
TEST(StoreTest, PinsFollowTheVoucherRecords) {
  TempDir dir;
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto voucher = [](const std::string& id, const std::string& org, char pdc, int64_t expires) {
    Voucher v = MakeVoucher(0, org);
    v.id = id;
    v.serial_number = "SN-P";
    v.pdc_sha256 = std::string(32, pdc);
    v.expires_at = absl::FromUnixSeconds(expires);
    return v;
  };
  Voucher a = voucher("v-a", "org-a", 'p', 1800000000);
  Voucher b = voucher("v-b", "org-a", 'p', 1900000000);
  Voucher c = voucher("v-c", "org-a", 'q', 1850000000);
  Voucher d = voucher("v-d", "org-b", 'r', 1850000000);
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(b).Put(a).Put(c).Put(d)).ok());
  auto pins = [&](const std::string& org) {
    auto r = (*store)->Read()->PinsBySerial("32473", "SN-P", org);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    for (const auto& pin : *r) {
      out.push_back(pin.pdc_sha256.substr(0, 1) + " " + pin.voucher_id + " " +
                    std::to_string(absl::ToUnixSeconds(pin.expires_at)));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pins("org-a"), (V{"p v-b 1900000000", "q v-c 1850000000"}));
  EXPECT_EQ(pins("org-b"), (V{"r v-d 1850000000"}));
  EXPECT_EQ(pins("org-c"), V{});

  // Archiving the pin's voucher falls back to the next one of the same certificate.
  b.status = "archived";
  b.archived_at = absl::FromUnixSeconds(1700000100);
  // A renewal that moves the expiry earlier is followed too.
  c.expires_at = absl::FromUnixSeconds(1750000000);
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(b).Put(c)).ok());
  EXPECT_EQ(pins("org-a"), (V{"p v-a 1800000000", "q v-c 1750000000"}));

  // Without an unarchived voucher a certificate is no longer a pin.
  ASSERT_TRUE((*store)->Write(WriteBatch().Delete<Voucher>("v-a").Delete<Voucher>("v-c")).ok());
  EXPECT_EQ(pins("org-a"), V{});
  EXPECT_EQ(pins("org-b"), (V{"r v-d 1850000000"}));
}

TEST(StoreTest, MigratesSchemaThreeByBuildingThePinIndex) {
  TempDir dir;
  {
    auto store = Store::Open(Options(dir));
    ASSERT_TRUE(store.ok());
    WriteBatch b;
    for (int i = 0; i < 20; ++i) {
      Voucher v = MakeVoucher(i);
      v.pdc_sha256 = std::string(32, static_cast<char>('a' + i % 2));
      v.expires_at = absl::FromUnixSeconds(1800000000 + i);
      b.Put(v);
    }
    ASSERT_TRUE((*store)->Write(std::move(b)).ok());
  }
  // Turn it into a schema 3 store: no pin index.
  WithRawEnv(dir.path(), [](MDB_txn* txn) {
    MDB_dbi idx, meta;
    ASSERT_EQ(mdb_dbi_open(txn, "idx_serial_pin", 0, &idx), 0);
    ASSERT_EQ(mdb_drop(txn, idx, 1), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string v = internal::BigEndian64(3);
    MDB_val mk{14, const_cast<char*>("schema_version")}, md{8, v.data()};
    ASSERT_EQ(mdb_put(txn, meta, &mk, &md, 0), 0);
  });
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);
  // SN3 has vouchers 3, 10, 17: certificate 'b' (odd) for 3 and 17, 'a' for 10.
  auto pins = snap->PinsBySerial("32473", "SN3", "org-a");
  ASSERT_TRUE(pins.ok()) << pins.status();
  ASSERT_EQ(pins->size(), 2u);
  EXPECT_EQ((*pins)[0].pdc_sha256, std::string(32, 'a'));
  EXPECT_EQ((*pins)[0].voucher_id, "v-10");
  EXPECT_EQ((*pins)[1].pdc_sha256, std::string(32, 'b'));
  EXPECT_EQ((*pins)[1].voucher_id, "v-17");
  EXPECT_EQ((*pins)[1].expires_at, absl::FromUnixSeconds(1800000017));
}

TEST(StoreTest, UnknownFieldsSurviveReadModifyWrite) {
  Voucher v = MakeVoucher(1);
  std::string bytes = internal::Encode(v);
  std::string future_field;
  internal::PutVarint(&future_field, 99);
  internal::PutVarint(&future_field, 3);
  future_field += "new";
  bytes += future_field;
  Voucher decoded;
  ASSERT_TRUE(internal::Decode(bytes, &decoded).ok());
  EXPECT_EQ(decoded.id, v.id);
  EXPECT_EQ(decoded.cms, v.cms);
  EXPECT_EQ(decoded.unknown_fields, future_field);
  decoded.status = "archived";
  Voucher again;
  ASSERT_TRUE(internal::Decode(internal::Encode(decoded), &again).ok());
  EXPECT_EQ(again.unknown_fields, future_field);
  EXPECT_EQ(again.status, "archived");

  // Truncation and an unknown encoding version are data loss, not a crash.
  EXPECT_TRUE(absl::IsDataLoss(internal::Decode(bytes.substr(0, bytes.size() - 2), &again)));
  std::string v9 = bytes;
  v9[0] = 9;
  EXPECT_TRUE(absl::IsDataLoss(internal::Decode(v9, &again)));
}

TEST(StoreTest, FailedBatchDoesNotPoisonItsGroup) {
  TempDir dir;
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(Organization{"org-dup", "", {}, ""})).ok());

  // Hold the writer inside the first batch so that all others queue into one group.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  auto first = (*store)->Submit(WriteBatch().Do([&](WriteTxn&) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    return absl::OkStatus();
  }));
  std::vector<std::future<absl::StatusOr<CommitResult>>> futures;
  for (int i = 0; i < 200; ++i) {
    WriteBatch b;
    if (i % 10 == 5) {
      // Writes a record and an audit entry, then fails: all of it must roll back.
      b.Put(Organization{"org-ghost-" + std::to_string(i), "", {}, ""})
          .Audit({"t", "org.create", "ghost", "ok", ""})
          .Insert(Organization{"org-dup", "", {}, ""});
    } else {
      b.Put(Organization{"org-" + std::to_string(i), "", {}, ""})
          .Audit({"t", "org.create", std::to_string(i), "ok", ""});
    }
    futures.push_back((*store)->Submit(std::move(b)));
  }
  uint64_t commits_before = (*store)->CommitCount();
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(first.get().ok());
  std::set<uint64_t> seqs;
  for (int i = 0; i < 200; ++i) {
    auto r = futures[i].get();
    if (i % 10 == 5) {
      EXPECT_TRUE(absl::IsAlreadyExists(r.status())) << r.status();
    } else {
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->audit_seqs.size(), 1u);
      seqs.insert(r->audit_seqs[0]);
    }
  }
  // 180 batches in at most two more transactions (one packed group, maybe a straggler).
  EXPECT_LE((*store)->CommitCount() - commits_before, 3u);
  EXPECT_EQ(seqs.size(), 180u);
  EXPECT_EQ(*seqs.rbegin(), 179u);  // no gaps left by the failed batches
  auto snap = (*store)->Read();
  EXPECT_TRUE(absl::IsNotFound(snap->Get<Organization>("org-ghost-5").status()));
  EXPECT_TRUE(snap->Get<Organization>("org-6").ok());
  EXPECT_EQ(*snap->AuditSize(), 180u);
}

TEST(StoreTest, ManyThreadsCommitAndEverythingIsReadBack) {
  TempDir dir;
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = (*store)->Write(WriteBatch().Put(MakeVoucher(t * 1000 + i)));
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  store->reset();
  auto reopened = Store::Open(Options(dir));
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Read()->List<Voucher>()->size(), 400u);
  EXPECT_EQ(*(*reopened)->Read()->SchemaVersion(), kSchemaVersion);
}

TEST(StoreTest, MigratesAnOlderSchemaAtOpen) {
  TempDir dir;
  {
    auto store = Store::Open(Options(dir));
    ASSERT_TRUE(store.ok());
    WriteBatch b;
    for (int i = 0; i < 20; ++i) b.Put(MakeVoucher(i));
    ASSERT_TRUE((*store)->Write(std::move(b)).ok());
  }
  // Turn it into a schema 1 store: no request index.
  WithRawEnv(dir.path(), [](MDB_txn* txn) {
    MDB_dbi idx, meta;
    ASSERT_EQ(mdb_dbi_open(txn, "idx_voucher_request", 0, &idx), 0);
    ASSERT_EQ(mdb_drop(txn, idx, 1), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string v = internal::BigEndian64(1);
    MDB_val k{14, const_cast<char*>("schema_version")}, d{8, v.data()};
    ASSERT_EQ(mdb_put(txn, meta, &k, &d, 0), 0);
  });
  StoreOptions ro = Options(dir);
  ro.read_only = true;
  EXPECT_TRUE(absl::IsFailedPrecondition(Store::Open(ro).status()));
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);
  EXPECT_EQ(snap->VouchersByRequest("req-1")->size(), 10u);
  EXPECT_EQ(snap->VoucherSummariesBySerial("32473", "SN3")->size(), 3u);  // 3, 10, 17
}

TEST(StoreTest, MigratesSchemaTwoSerialIndexToSummaries) {
  TempDir dir;
  {
    auto store = Store::Open(Options(dir));
    ASSERT_TRUE(store.ok());
    WriteBatch b;
    for (int i = 0; i < 20; ++i) {
      Voucher v = MakeVoucher(i);
      v.pdc_sha256 = std::string(32, static_cast<char>('a' + i));
      b.Put(v);
    }
    ASSERT_TRUE((*store)->Write(std::move(b)).ok());
  }
  // Turn it into a schema 2 store: the serial index values are empty.
  WithRawEnv(dir.path(), [](MDB_txn* txn) {
    MDB_dbi idx, meta;
    ASSERT_EQ(mdb_dbi_open(txn, "idx_voucher_serial", 0, &idx), 0);
    std::vector<std::string> keys;
    MDB_cursor* c = nullptr;
    ASSERT_EQ(mdb_cursor_open(txn, idx, &c), 0);
    MDB_val k, d;
    for (int rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
      keys.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    }
    mdb_cursor_close(c);
    ASSERT_EQ(keys.size(), 20u);
    for (auto& key : keys) {
      MDB_val mk{key.size(), key.data()}, empty{0, nullptr};
      ASSERT_EQ(mdb_put(txn, idx, &mk, &empty, 0), 0);
    }
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string v = internal::BigEndian64(2);
    MDB_val mk{14, const_cast<char*>("schema_version")}, md{8, v.data()};
    ASSERT_EQ(mdb_put(txn, meta, &mk, &md, 0), 0);
  });
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);
  auto summaries = snap->VoucherSummariesBySerial("32473", "SN3");
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->size(), 3u);  // 10, 17, 3 in key order
  EXPECT_EQ((*summaries)[0].id, "v-10");
  EXPECT_EQ((*summaries)[0].organization_id, "org-a");
  EXPECT_EQ((*summaries)[0].status, "issued");
  EXPECT_EQ((*summaries)[0].pdc_sha256, std::string(32, 'a' + 10));
}

TEST(StoreTest, RefusesNewerSchema) {
  TempDir dir;
  ASSERT_TRUE(Store::Open(Options(dir)).ok());
  WithRawEnv(dir.path(), [](MDB_txn* txn) {
    MDB_dbi meta;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string v = internal::BigEndian64(kSchemaVersion + 1);
    MDB_val k{14, const_cast<char*>("schema_version")}, d{8, v.data()};
    ASSERT_EQ(mdb_put(txn, meta, &k, &d, 0), 0);
  });
  auto store = Store::Open(Options(dir));
  EXPECT_TRUE(absl::IsFailedPrecondition(store.status())) << store.status();
  EXPECT_NE(store.status().message().find("newer"), absl::string_view::npos);
}

TEST(StoreBadInputTest, CorruptFileIsDataLoss) {
  TempDir dir;
  ASSERT_EQ(mkdir(StoreDir(dir.path()).c_str(), 0700), 0);
  {
    std::ofstream f(StoreDir(dir.path()) + "/data.mdb", std::ios::binary);
    for (int i = 0; i < 4096 * 4; ++i) f.put(static_cast<char>((i * 7919) & 0xff));
  }
  auto store = Store::Open(Options(dir));
  EXPECT_TRUE(absl::IsDataLoss(store.status()) || absl::IsFailedPrecondition(store.status()))
      << store.status();
  EXPECT_NE(store.status().message().find("data.mdb"), absl::string_view::npos)
      << store.status();
}

TEST(StoreBadInputTest, CorruptedExistingStoreNeverOpensSilently) {
  TempDir dir;
  {
    auto store = Store::Open(Options(dir));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Write(WriteBatch().Put(MakeVoucher(1))).ok());
  }
  // Overwrite both meta pages (LMDB keeps two) with garbage.
  int fd = open((StoreDir(dir.path()) + "/data.mdb").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string junk(8192, 'x');
  ASSERT_EQ(pwrite(fd, junk.data(), junk.size(), 0), 8192);
  close(fd);
  auto store = Store::Open(Options(dir));
  EXPECT_TRUE(absl::IsDataLoss(store.status())) << store.status();
}

TEST(StoreBadInputTest, ForeignLmdbIsRefused) {
  TempDir dir;
  ASSERT_EQ(mkdir(StoreDir(dir.path()).c_str(), 0700), 0);
  WithRawEnv(dir.path(), [](MDB_txn* txn) {
    MDB_dbi main;
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &main), 0);
    MDB_val k{5, const_cast<char*>("hello")}, d{5, const_cast<char*>("world")};
    ASSERT_EQ(mdb_put(txn, main, &k, &d, 0), 0);
  });
  auto store = Store::Open(Options(dir));
  EXPECT_TRUE(absl::IsFailedPrecondition(store.status())) << store.status();
  EXPECT_NE(store.status().message().find("not a MASA store"), absl::string_view::npos);
}

TEST(StoreBadInputTest, WrongPermissionsAreRefused) {
  TempDir dir;
  ASSERT_TRUE(Store::Open(Options(dir)).ok());
  chmod(dir.path().c_str(), 0777);
  auto open1 = Store::Open(Options(dir));
  EXPECT_TRUE(absl::IsFailedPrecondition(open1.status())) << open1.status();
  EXPECT_NE(open1.status().message().find("world-writable"), absl::string_view::npos);
  chmod(dir.path().c_str(), 0700);
  chmod(StoreDir(dir.path()).c_str(), 0770);
  EXPECT_TRUE(absl::IsFailedPrecondition(Store::Open(Options(dir)).status()));
  chmod(StoreDir(dir.path()).c_str(), 0700);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(StoreDir(dir.path()).c_str(), 12345, 12345), 0);
    auto open2 = Store::Open(Options(dir));
    EXPECT_TRUE(absl::IsFailedPrecondition(open2.status())) << open2.status();
    EXPECT_NE(open2.status().message().find("owned by uid 12345"), absl::string_view::npos);
    ASSERT_EQ(chown(StoreDir(dir.path()).c_str(), 0, 0), 0);
  }
  EXPECT_TRUE(Store::Open(Options(dir)).ok());
}

TEST(StoreBadInputTest, MissingStoreReadOnlyIsNotFound) {
  TempDir dir;
  StoreOptions o = Options(dir);
  o.read_only = true;
  EXPECT_TRUE(absl::IsNotFound(Store::Open(o).status()));
}

TEST(StoreBadInputTest, MapGrowsThenFullMapIsResourceExhaustedWithoutLoss) {
  TempDir dir;
  StoreOptions o = Options(dir);
  o.initial_map_size = 256 << 10;
  o.max_map_size = 2 << 20;
  std::vector<std::string> acknowledged;
  absl::Status last;
  {
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 1000; ++i) {
      Voucher v = MakeVoucher(i);
      v.cms = std::string(8000, 'c');
      auto r = (*store)->Write(WriteBatch().Put(v).Audit({"t", "voucher.issue", v.id, "ok", ""}));
      if (!r.ok()) {
        last = r.status();
        break;
      }
      acknowledged.push_back(v.id);
    }
    EXPECT_TRUE(absl::IsResourceExhausted(last)) << last;
    EXPECT_NE(last.message().find("max_map_size"), absl::string_view::npos) << last;
    EXPECT_GT((*store)->MapSize(), o.initial_map_size);  // it grew before giving up
    EXPECT_GT(acknowledged.size(), 100u);
    // Small writes still fail cleanly or succeed; reads keep working.
    EXPECT_TRUE((*store)->Read().ok());
  }
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  for (const auto& id : acknowledged) ASSERT_TRUE(snap->Get<Voucher>(id).ok()) << id;
  EXPECT_EQ(*snap->AuditSize(), acknowledged.size());
}

TEST(StoreTest, BackupIsAConsistentOpenableCopy) {
  TempDir dir;
  TempDir out;
  auto store = Store::Open(Options(dir));
  ASSERT_TRUE(store.ok());
  WriteBatch b;
  for (int i = 0; i < 50; ++i) b.Put(MakeVoucher(i)).Audit({"t", "voucher.issue", "x", "ok", ""});
  ASSERT_TRUE((*store)->Write(std::move(b)).ok());
  ASSERT_EQ(mkdir(StoreDir(out.path()).c_str(), 0700), 0);
  std::string copy = StoreDir(out.path()) + "/data.mdb";
  ASSERT_TRUE((*store)->Backup(copy).ok());
  auto restored = Store::Open(Options(out));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->Read()->List<Voucher>()->size(), 50u);
  EXPECT_EQ(*(*restored)->Read()->AuditSize(), 50u);
}

}  // namespace
}  // namespace masa::store
