#include "store/store.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "gtest/gtest.h"
#include "store/internal/codec.h"
#include "store/internal/raw_env_test_util.h"
#include "store/internal/record_fields.h"
#include "store/internal/test_util.h"

namespace masa::store {
namespace {

using testing::TempDir;
using testing::WithRawEnv;
using testing::TestOptions;

Voucher MakeVoucher(int i, const std::string& org = "org-a") {
  Voucher v;
  v.id = "v-" + std::to_string(i);
  v.request_id = "req-" + std::to_string(i / 10);
  v.organization_id = org;
  v.ien = "32473";
  v.serial_number = "SN" + std::to_string(i % 7);
  v.status = "completed";
  v.requested_at = absl::FromUnixSeconds(1700000000 + i);
  v.cms = std::string(100, static_cast<char>('a' + i % 26));
  return v;
}

// Writes vouchers 0..19 (MakeVoucher, then `adjust`) to a fresh store in `dir` and closes it.
void WriteTwentyVouchers(const TempDir& dir, const std::function<void(int, Voucher&)>& adjust) {
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  WriteBatch b;
  for (int i = 0; i < 20; ++i) {
    Voucher v = MakeVoucher(i);
    adjust(i, v);
    b.Put(v);
  }
  ASSERT_TRUE((*store)->Write(std::move(b)).ok());
}

// Makes a closed store look like one of an older schema: `dropped_index` (if any) emptied
// and the schema version set.
void DowngradeSchema(const std::string& state_dir, uint64_t version,
                     const char* dropped_index = nullptr) {
  WithRawEnv(state_dir, [&](MDB_txn* txn) {
    MDB_dbi meta;
    if (dropped_index != nullptr) {
      MDB_dbi idx;
      ASSERT_EQ(mdb_dbi_open(txn, dropped_index, 0, &idx), 0);
      ASSERT_EQ(mdb_drop(txn, idx, 0), 0);
    }
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string v = internal::BigEndian64(version);
    MDB_val k{14, const_cast<char*>("schema_version")}, d{8, v.data()};
    ASSERT_EQ(mdb_put(txn, meta, &k, &d, 0), 0);
  });
}

TEST(StoreTest, RecordsRoundTripAndIndexesFollowUpdates) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  WriteBatch batch;
  batch.Put(Organization{"org-a", "A", absl::FromUnixSeconds(5), ""});
  batch.Put(Group{"grp-1", "org-a", "org-a", "lab", absl::FromUnixSeconds(6), {}, ""});
  Component c;
  c.ien = "32473";
  c.serial_number = "SN1";
  c.organization_id = "org-a";
  c.tpm_data = "";
  c.mac_addr = "00:1c:73:aa:bb:cc";
  c.tpm_ek_certificate = std::string("\x30\x00", 2);
  c.tpm_platform_primary_key = "ppk";
  batch.Put(c);
  PinnedDomainCert pdc;
  pdc.id = "org-a.pdc-1";
  pdc.revocation_checks = true;
  pdc.expiry_time = absl::FromUnixSeconds(77);
  batch.Put(pdc);
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
  EXPECT_EQ(comp->mac_addr, "00:1c:73:aa:bb:cc");
  EXPECT_EQ(comp->tpm_ek_certificate, std::string("\x30\x00", 2));
  EXPECT_EQ(comp->tpm_platform_primary_key, "ppk");
  EXPECT_TRUE(comp->tpm_endorsement_key.empty());
  auto got_pdc = snap->Get<PinnedDomainCert>("org-a.pdc-1");
  ASSERT_TRUE(got_pdc.ok()) << got_pdc.status();
  EXPECT_TRUE(got_pdc->revocation_checks);
  EXPECT_EQ(got_pdc->expiry_time, absl::FromUnixSeconds(77));
  auto key = snap->Get<KeyRecord>("key-1");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->state, KeyState::kActive);
  EXPECT_EQ(key->activated_at, absl::FromUnixSeconds(9));
  EXPECT_FALSE(key->retired_at.has_value());
  EXPECT_EQ(snap->Get<RoleBinding>("rb-1")->grants,
            (std::vector<std::string>{"request", "download"}));
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
  // `snap` stays open across this commit on purpose (it must keep seeing the old data), so
  // Write would refuse; the map has room, so waiting on Submit cannot stall here.
  ASSERT_TRUE((*store)->Submit(std::move(update)).get().ok());
  auto snap2 = (*store)->Read();
  EXPECT_EQ(snap2->VouchersBySerial("32473", "SN3")->size(), 2u);
  EXPECT_EQ(snap2->VouchersBySerial("32473", "SN-NEW")->size(), 1u);
  EXPECT_EQ(snap2->VouchersByRequest("req-1")->size(), 9u);
  // The old snapshot still sees the old data.
  EXPECT_EQ(snap->VouchersBySerial("32473", "SN3")->size(), 4u);
}

TEST(StoreTest, SerialSummariesFollowTheVoucherRecords) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
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
  EXPECT_EQ((*summaries)[0].status, "completed");
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
// certificate while an unarchived voucher has it, kept right through inserts, updates
// (archive) and deletes.
TEST(StoreTest, PinsFollowTheVoucherRecords) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto voucher = [](const std::string& id, const std::string& org, char pdc) {
    Voucher v = MakeVoucher(0, org);
    v.id = id;
    v.serial_number = "SN-P";
    v.pdc_sha256 = std::string(32, pdc);
    return v;
  };
  Voucher a = voucher("v-a", "org-a", 'p');
  Voucher b = voucher("v-b", "org-a", 'p');
  Voucher c = voucher("v-c", "org-a", 'q');
  Voucher d = voucher("v-d", "org-b", 'r');
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(b).Put(a).Put(c).Put(d)).ok());
  auto pins = [&](const std::string& org) {
    auto r = (*store)->Read()->PinsBySerial("32473", "SN-P", org);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    for (const auto& pin : *r) out.push_back(pin.pdc_sha256.substr(0, 1) + " " + pin.voucher_id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pins("org-a"), (V{"p v-b", "q v-c"}));  // the first voucher of each pin
  EXPECT_EQ(pins("org-b"), (V{"r v-d"}));
  EXPECT_EQ(pins("org-c"), V{});

  // Archiving one voucher of a pin keeps the pin while another holds it.
  b.status = "archived";
  b.archived_at = absl::FromUnixSeconds(1700000100);
  c.status = "archived";
  c.archived_at = absl::FromUnixSeconds(1700000100);
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(b).Put(c)).ok());
  EXPECT_EQ(pins("org-a"), (V{"p v-b"}));

  // Without an unarchived voucher a certificate is no longer a pin.
  ASSERT_TRUE((*store)->Write(WriteBatch().Delete<Voucher>("v-a")).ok());
  EXPECT_EQ(pins("org-a"), V{});
  EXPECT_EQ(pins("org-b"), (V{"r v-d"}));
  // A new voucher pins again.
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(voucher("v-e", "org-a", 'q'))).ok());
  EXPECT_EQ(pins("org-a"), (V{"q v-e"}));

  // A superseded voucher (its serial moved to another organization) pins nothing either,
  // and its summary says when it was superseded.
  d.status = "superseded";
  d.superseded_at = absl::FromUnixSeconds(1700000200);
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(d)).ok());
  EXPECT_EQ(pins("org-b"), V{});
  auto summaries = (*store)->Read()->VoucherSummariesBySerial("32473", "SN-P");
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  size_t superseded = 0;
  for (const auto& s : *summaries) {
    if (s.id != "v-d") continue;
    ++superseded;
    EXPECT_EQ(s.superseded_at, d.superseded_at);
  }
  EXPECT_EQ(superseded, 1u);
}

TEST(StoreTest, MigratesSchemaThreeByBuildingThePinIndex) {
  TempDir dir;
  WriteTwentyVouchers(dir, [](int i, Voucher& v) {
    v.pdc_sha256 = std::string(32, static_cast<char>('a' + i % 2));
    v.expires_at = absl::FromUnixSeconds(1800000000 + i);
  });
  // Turn it into a schema 3 store: no pin index.
  DowngradeSchema(dir.path(), 3, "idx_serial_pin");
  auto store = Store::Open(TestOptions(dir));
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
  EXPECT_EQ((*pins)[1].voucher_id, "v-17");  // key order: v-17 before v-3
}

// Under a steady stream, batches that arrive within min_commit_interval of the previous
// commit wait for it and share one transaction; none is lost or reordered. The interval is
// far longer than the test, and the group is cut by max_batches_per_txn instead, so the
// outcome does not depend on how fast the batches are submitted.
TEST(StoreTest, BatchesArrivingSoonAfterACommitJoinTheNextOne) {
  TempDir dir;
  StoreOptions o = TestOptions(dir);
  o.min_commit_interval = absl::Hours(1);
  o.max_batches_per_txn = 5;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  // An idle store commits at once.
  ASSERT_TRUE((*store)->Write(WriteBatch().Audit({"t", "first", "0", "ok", ""})).ok());
  const uint64_t commits_before = (*store)->CommitCount();
  std::vector<std::future<absl::StatusOr<CommitResult>>> futures;
  for (int i = 1; i <= 5; ++i) {
    // The writer is waiting out the interval: nothing commits until the fifth batch fills
    // the group.
    EXPECT_EQ((*store)->CommitCount(), commits_before);
    futures.push_back(
        (*store)->Submit(WriteBatch().Audit({"t", "next", std::to_string(i), "ok", ""})));
  }
  for (int i = 0; i < 5; ++i) {
    auto r = futures[i].get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->audit_seqs, std::vector<uint64_t>{static_cast<uint64_t>(i + 1)});
  }
  EXPECT_EQ((*store)->CommitCount() - commits_before, 1u);
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
  auto store = Store::Open(TestOptions(dir));
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
  EXPECT_EQ((*store)->Stats().group_reruns, 0u);
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
  // Each group holding a failing batch ran twice, the second time batch by batch.
  EXPECT_GE((*store)->Stats().group_reruns, 1u);
  EXPECT_LE((*store)->Stats().group_reruns, 3u);
}

// A group runs its batches once, straight in its transaction; only a failing batch makes it
// run again (each batch nested), so an op may run twice and must not accumulate.
TEST(StoreTest, OpsRunAgainOnlyWhenABatchOfTheirGroupFails) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok());
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool holding = false;
  auto hold = [&](WriteTxn&) {
    std::unique_lock<std::mutex> lock(mu);
    holding = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return absl::OkStatus();
  };
  auto run_group = [&](bool with_failure) {
    {
      std::lock_guard<std::mutex> lock(mu);
      release = false;
      holding = false;
    }
    auto first = (*store)->Submit(WriteBatch().Do(hold));
    {
      // The writer runs `first` alone: what is submitted now waits for the next group, all
      // of it together (else the writer, woken late, could take `counted` with `first`).
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return holding; });
    }
    std::atomic<int> runs{0};
    auto counted = (*store)->Submit(WriteBatch().Do([&](WriteTxn& txn) {
      ++runs;
      return txn.Put(Organization{"org-counted", "", {}, ""});
    }));
    std::future<absl::StatusOr<CommitResult>> failing;
    if (with_failure) {
      failing = (*store)->Submit(WriteBatch().Do([](WriteTxn& txn) -> absl::Status {
        MASA_RETURN_IF_ERROR(txn.Put(Organization{"org-ghost", "", {}, ""}));
        return absl::FailedPreconditionError("refused");
      }));
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
    EXPECT_TRUE(first.get().ok());
    EXPECT_TRUE(counted.get().ok());
    if (with_failure) {
      EXPECT_TRUE(absl::IsFailedPrecondition(failing.get().status()));
    }
    return runs.load();
  };
  EXPECT_EQ(run_group(false), 1);
  EXPECT_EQ((*store)->Stats().group_reruns, 0u);
  EXPECT_EQ(run_group(true), 2);
  EXPECT_EQ((*store)->Stats().group_reruns, 1u);
  auto snap = (*store)->Read();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->Get<Organization>("org-counted").ok());
  EXPECT_TRUE(absl::IsNotFound(snap->Get<Organization>("org-ghost").status()));
}

TEST(StoreTest, ManyThreadsCommitAndEverythingIsReadBack) {
  TempDir dir;
  auto store = Store::Open(TestOptions(dir));
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
  auto reopened = Store::Open(TestOptions(dir));
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Read()->List<Voucher>()->size(), 400u);
  EXPECT_EQ(*(*reopened)->Read()->SchemaVersion(), kSchemaVersion);
}

TEST(StoreTest, MigratesAnOlderSchemaAtOpen) {
  TempDir dir;
  WriteTwentyVouchers(dir, [](int, Voucher&) {});
  // Turn it into a schema 1 store: no request index.
  DowngradeSchema(dir.path(), 1, "idx_voucher_request");
  StoreOptions ro = TestOptions(dir);
  ro.read_only = true;
  EXPECT_TRUE(absl::IsFailedPrecondition(Store::Open(ro).status()));
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);
  EXPECT_EQ(snap->VouchersByRequest("req-1")->size(), 10u);
  EXPECT_EQ(snap->VoucherSummariesBySerial("32473", "SN3")->size(), 3u);  // 3, 10, 17
}

TEST(StoreTest, MigratesSchemaTwoSerialIndexToSummaries) {
  TempDir dir;
  WriteTwentyVouchers(
      dir, [](int i, Voucher& v) { v.pdc_sha256 = std::string(32, static_cast<char>('a' + i)); });
  // Turn it into a schema 2 store: the serial index values are empty.
  WithRawEnv(dir.path(), [](MDB_txn* txn) {
    MDB_dbi idx;
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
  });
  DowngradeSchema(dir.path(), 2);
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);
  auto summaries = snap->VoucherSummariesBySerial("32473", "SN3");
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->size(), 3u);  // 10, 17, 3 in key order
  EXPECT_EQ((*summaries)[0].id, "v-10");
  EXPECT_EQ((*summaries)[0].organization_id, "org-a");
  EXPECT_EQ((*summaries)[0].status, "completed");
  EXPECT_EQ((*summaries)[0].pdc_sha256, std::string(32, 'a' + 10));
}

TEST(StoreTest, MigratesSchemaFiveByAddingTheKeyApprovalsTable) {
  TempDir dir;
  WriteTwentyVouchers(dir, [](int, Voucher&) {});
  // A schema 5 store has no key_approvals database at all.
  WithRawEnv(dir.path(), [](MDB_txn* txn) {
    MDB_dbi idx;
    ASSERT_EQ(mdb_dbi_open(txn, "key_approvals", 0, &idx), 0);
    ASSERT_EQ(mdb_drop(txn, idx, 1), 0);
  });
  DowngradeSchema(dir.path(), 5);
  StoreOptions ro = TestOptions(dir);
  ro.read_only = true;
  EXPECT_TRUE(absl::IsFailedPrecondition(Store::Open(ro).status()));
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  KeyApprovalRecord a;
  a.id = "apr-1";
  a.key_id = "key-1";
  a.approved_by = {"p-1"};
  WriteBatch b;
  b.Insert(a);
  ASSERT_TRUE((*store)->Write(std::move(b)).ok());
  auto snap = (*store)->Read();
  EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);
  EXPECT_EQ(snap->List<Voucher>()->size(), 20u);
  auto got = snap->Get<KeyApprovalRecord>("apr-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->approved_by, std::vector<std::string>{"p-1"});
}

TEST(StoreTest, RefusesNewerSchema) {
  TempDir dir;
  ASSERT_TRUE(Store::Open(TestOptions(dir)).ok());
  DowngradeSchema(dir.path(), kSchemaVersion + 1);  // "down" to a newer one
  auto store = Store::Open(TestOptions(dir));
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
  auto store = Store::Open(TestOptions(dir));
  EXPECT_TRUE(absl::IsDataLoss(store.status()) || absl::IsFailedPrecondition(store.status()))
      << store.status();
  EXPECT_NE(store.status().message().find("data.mdb"), absl::string_view::npos) << store.status();
}

TEST(StoreBadInputTest, CorruptedExistingStoreNeverOpensSilently) {
  TempDir dir;
  {
    auto store = Store::Open(TestOptions(dir));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Write(WriteBatch().Put(MakeVoucher(1))).ok());
  }
  // Overwrite both meta pages (LMDB keeps two) with garbage.
  int fd = open((StoreDir(dir.path()) + "/data.mdb").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string junk(8192, 'x');
  ASSERT_EQ(pwrite(fd, junk.data(), junk.size(), 0), 8192);
  close(fd);
  auto store = Store::Open(TestOptions(dir));
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
  auto store = Store::Open(TestOptions(dir));
  EXPECT_TRUE(absl::IsFailedPrecondition(store.status())) << store.status();
  EXPECT_NE(store.status().message().find("not a MASA store"), absl::string_view::npos);
}

TEST(StoreBadInputTest, WrongPermissionsAreRefused) {
  TempDir dir;
  ASSERT_TRUE(Store::Open(TestOptions(dir)).ok());
  chmod(dir.path().c_str(), 0777);
  auto open1 = Store::Open(TestOptions(dir));
  EXPECT_TRUE(absl::IsFailedPrecondition(open1.status())) << open1.status();
  EXPECT_NE(open1.status().message().find("world-writable"), absl::string_view::npos);
  chmod(dir.path().c_str(), 0700);
  chmod(StoreDir(dir.path()).c_str(), 0770);
  EXPECT_TRUE(absl::IsFailedPrecondition(Store::Open(TestOptions(dir)).status()));
  chmod(StoreDir(dir.path()).c_str(), 0700);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(StoreDir(dir.path()).c_str(), 12345, 12345), 0);
    auto open2 = Store::Open(TestOptions(dir));
    EXPECT_TRUE(absl::IsFailedPrecondition(open2.status())) << open2.status();
    EXPECT_NE(open2.status().message().find("owned by uid 12345"), absl::string_view::npos);
    ASSERT_EQ(chown(StoreDir(dir.path()).c_str(), 0, 0), 0);
  }
  EXPECT_TRUE(Store::Open(TestOptions(dir)).ok());
}

TEST(StoreBadInputTest, MissingStoreReadOnlyIsNotFound) {
  TempDir dir;
  StoreOptions o = TestOptions(dir);
  o.read_only = true;
  EXPECT_TRUE(absl::IsNotFound(Store::Open(o).status()));
}

TEST(StoreBadInputTest, MapGrowsThenFullMapIsResourceExhaustedWithoutLoss) {
  TempDir dir;
  StoreOptions o = TestOptions(dir);
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
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok());
  WriteBatch b;
  for (int i = 0; i < 50; ++i) b.Put(MakeVoucher(i)).Audit({"t", "voucher.issue", "x", "ok", ""});
  ASSERT_TRUE((*store)->Write(std::move(b)).ok());
  ASSERT_EQ(mkdir(StoreDir(out.path()).c_str(), 0700), 0);
  std::string copy = StoreDir(out.path()) + "/data.mdb";
  ASSERT_TRUE((*store)->Backup(copy).ok());
  auto restored = Store::Open(TestOptions(out));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->Read()->List<Voucher>()->size(), 50u);
  EXPECT_EQ(*(*restored)->Read()->AuditSize(), 50u);
}

}  // namespace
}  // namespace masa::store
