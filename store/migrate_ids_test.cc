// Schema 4 -> 5: voucher and request ids become UUIDv7s, status names follow the product
// documentation, and the audit log stays as it was.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/testing/der.h"
#include "common/uuid.h"
#include "gtest/gtest.h"
#include "store/audit_verify.h"
#include "store/internal/test_util.h"
#include "store/store.h"
#include "store/testing/schema.h"

namespace masa::store {
namespace {

using ::masa::testing::DerTlv;
using testing::TempDir;
using testing::TestOptions;

// A CMS ContentInfo shaped like a signed voucher, with a certificate set the store keeps
// apart from the record.
std::string FakeSignedCms(const std::string& content) {
  const std::string signed_data_oid("\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9);
  std::string sd = DerTlv(0x02, "\x03") + DerTlv(0x31, "") +
                   DerTlv(0x30, DerTlv(0x06, "\x2a") + DerTlv(0xa0, DerTlv(0x04, content))) +
                   DerTlv(0xa0, std::string(150, 'C')) + DerTlv(0x31, DerTlv(0x30, "signer info"));
  return DerTlv(0x30, DerTlv(0x06, signed_data_oid) + DerTlv(0xa0, DerTlv(0x30, sd)));
}

// The ids masad made before schema 5: prefix + 12 hex digits of ms + 16 random hex digits.
std::string OldId(const char* prefix, int64_t ms, uint64_t random) {
  return absl::StrFormat("%s%012x%016x", prefix, ms, random);
}

struct OldStore {
  std::vector<Voucher> vouchers;  // as written under the old ids
  std::vector<VoucherRequest> requests;
  Hash audit_root;
};

// Writes what a schema 4 store of masad held: two requests, nine vouchers (one archived,
// one with a certificate set cut out), their audit entries naming the old ids, plus a
// voucher whose id masad never made. Leaves the store closed at schema 4.
OldStore WriteSchemaFourStore(const TempDir& dir) {
  OldStore old;
  auto store = Store::Open(TestOptions(dir));
  EXPECT_TRUE(store.ok()) << store.status();
  const int64_t ms = 1764363095163;
  for (int r = 0; r < 2; ++r) {
    VoucherRequest req;
    req.id = OldId("req-", ms + r, 0x1111111111111111ULL * (r + 1));
    req.organization_id = "org-a";
    req.requested_at = absl::FromUnixMillis(ms + r);
    req.status = r == 0 ? "complete" : "partial";
    old.requests.push_back(req);
  }
  WriteBatch b;
  for (int i = 0; i < 9; ++i) {
    Voucher v;
    v.id = OldId("v-", ms + i / 5, 0x0123456789abcdefULL + static_cast<uint64_t>(i));
    v.request_id = old.requests[i / 5].id;
    v.organization_id = "org-a";
    v.ien = "32473";
    v.serial_number = "SN" + std::to_string(i % 3);
    v.status = i == 4 ? "archived" : "issued";
    if (i == 4) v.archived_at = absl::FromUnixMillis(ms + 100);
    v.requested_at = absl::FromUnixMillis(ms + i / 5);
    v.expires_at = absl::FromUnixSeconds(1900000000);
    v.pdc_sha256 = std::string(32, static_cast<char>('a' + i % 2));
    v.cms = i == 0 ? FakeSignedCms("voucher 0") : "cms " + std::to_string(i);
    b.Audit({"p-1", "voucher.issue", "org-a/" + v.id, "ok", Sha256(v.cms)});
    v.audit_seq = static_cast<uint64_t>(i);
    b.Put(v);
    old.vouchers.push_back(v);
  }
  for (const VoucherRequest& req : old.requests) {
    b.Put(req).Audit({"p-1", "request.create", "org-a/" + req.id, "ok", ""});
  }
  Voucher odd = old.vouchers[1];
  odd.id = "v-imported-1";
  odd.audit_seq.reset();
  b.Put(odd);
  EXPECT_TRUE((*store)->Write(std::move(b)).ok());
  {
    auto snap = (*store)->Read();
    old.audit_root = *snap->RootHash(*snap->AuditSize());
  }
  store->reset();
  EXPECT_TRUE(testing::SetSchemaVersion(dir.path(), 4).ok());
  return old;
}

std::string NewId(const std::string& old_id) {
  std::optional<std::string> id = LegacyIdToUuid(old_id, old_id[0] == 'v' ? "v-" : "req-");
  EXPECT_TRUE(id.has_value()) << old_id;
  return id.value_or("");
}

TEST(MigrateIdsTest, RecordsAndIndexesMoveToUuidsAndTheAuditLogStays) {
  TempDir dir;
  OldStore old = WriteSchemaFourStore(dir);
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  std::optional<Snapshot> snap;
  {
    auto read = (*store)->Read();
    ASSERT_TRUE(read.ok()) << read.status();
    snap.emplace(*std::move(read));
  }
  EXPECT_EQ(*snap->SchemaVersion(), kSchemaVersion);

  // Every voucher under its UUID, nothing left under the old id, the CMS byte for byte.
  for (size_t i = 0; i < old.vouchers.size(); ++i) {
    const Voucher& was = old.vouchers[i];
    SCOPED_TRACE(was.id);
    const std::string id = NewId(was.id);
    EXPECT_EQ(UuidVersion(id), 7);
    EXPECT_EQ(UuidV7Millis(id), absl::ToUnixMillis(was.requested_at));
    EXPECT_TRUE(absl::IsNotFound(snap->Get<Voucher>(was.id).status()));
    auto v = snap->Get<Voucher>(id);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->id, id);
    EXPECT_EQ(v->request_id, NewId(was.request_id));
    EXPECT_EQ(v->status, i == 4 ? "archived" : "completed");
    EXPECT_EQ(v->cms, was.cms);
    EXPECT_EQ(v->audit_seq, was.audit_seq);
  }
  // Requests: re-keyed, status renamed.
  for (const VoucherRequest& was : old.requests) {
    EXPECT_TRUE(absl::IsNotFound(snap->Get<VoucherRequest>(was.id).status()));
    auto r = snap->Get<VoucherRequest>(NewId(was.id));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, was.status == "complete" ? "completed" : was.status);
    auto vouchers = snap->VouchersByRequest(r->id);
    ASSERT_TRUE(vouchers.ok()) << vouchers.status();
    EXPECT_EQ(vouchers->size(), was.id == old.requests[0].id ? 5u + 1u : 4u);  // + v-imported-1
  }
  EXPECT_TRUE(snap->VouchersByRequest(old.requests[0].id)->empty());

  // The serial index: summaries keyed by the UUIDs, status renamed, in the old time order.
  auto summaries = snap->VoucherSummariesBySerial("32473", "SN1");  // vouchers 1, 4, 7
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  std::vector<std::string> ids;
  for (const auto& s : *summaries) ids.push_back(s.id + " " + s.status);
  EXPECT_EQ(ids, (std::vector<std::string>{NewId(old.vouchers[1].id) + " completed",
                                           NewId(old.vouchers[4].id) + " archived",
                                           NewId(old.vouchers[7].id) + " completed",
                                           "v-imported-1 completed"}));
  EXPECT_EQ(snap->VouchersBySerial("32473", "SN1")->size(), 4u);
  // The organization-time index: every voucher once.
  auto by_org = snap->VouchersByOrganization("org-a");
  ASSERT_TRUE(by_org.ok()) << by_org.status();
  EXPECT_EQ(by_org->size(), 10u);
  // Pins name the voucher that made them by its new id.
  auto pins = snap->PinsBySerial("32473", "SN0", "org-a");  // vouchers 0 (a), 3 (b), 6 (a)
  ASSERT_TRUE(pins.ok()) << pins.status();
  ASSERT_EQ(pins->size(), 2u);
  EXPECT_EQ((*pins)[0].voucher_id, NewId(old.vouchers[0].id));
  EXPECT_EQ((*pins)[1].voucher_id, NewId(old.vouchers[3].id));
  // An id masad never made stays as it was.
  EXPECT_TRUE(snap->Get<Voucher>("v-imported-1").ok());

  // The audit log is not rewritten: same root, old ids in the targets, and it verifies.
  EXPECT_EQ(*snap->RootHash(*snap->AuditSize()), old.audit_root);
  auto entry = snap->GetAuditEntry(*snap->Get<Voucher>(NewId(old.vouchers[2].id))->audit_seq);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->target, "org-a/" + old.vouchers[2].id);
  auto report = VerifyAuditLog(*snap, nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 11u);

  // A write after the migration replaces the voucher's index entries, no stale ones left.
  Voucher v = *snap->Get<Voucher>(NewId(old.vouchers[0].id));
  snap.reset();  // never hold a snapshot while writing
  v.status = "archived";
  v.archived_at = absl::FromUnixSeconds(1800000000);
  ASSERT_TRUE((*store)->Write(WriteBatch().Put(v)).ok());
  auto after = (*store)->Read()->VoucherSummariesBySerial("32473", "SN0");
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].id, v.id);
  EXPECT_EQ((*after)[0].status, "archived");
  EXPECT_EQ((*store)->Read()->VouchersByOrganization("org-a")->size(), 10u);
}

TEST(MigrateIdsTest, ReopeningAMigratedStoreChangesNothing) {
  TempDir dir;
  WriteSchemaFourStore(dir);
  { ASSERT_TRUE(Store::Open(TestOptions(dir)).ok()); }
  // Running the migration again (as if the version had not been written) is a no-op.
  ASSERT_TRUE(testing::SetSchemaVersion(dir.path(), 4).ok());
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Read()->List<Voucher>()->size(), 10u);
  EXPECT_EQ((*store)->Read()->List<VoucherRequest>()->size(), 2u);
}

}  // namespace
}  // namespace masa::store
