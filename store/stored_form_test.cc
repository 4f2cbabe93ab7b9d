// The stored form of vouchers: the pieces of their CMS kept once (certificate sets and
// pinned-domain-certs), put back byte for byte on every read, and what a damaged or missing
// piece does.
#include <lmdb.h>

#include <map>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "common/testing/der.h"
#include "gtest/gtest.h"
#include "store/internal/codec.h"
#include "store/internal/raw_env_test_util.h"
#include "store/internal/record_fields.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using ::masa::testing::DerTlv;
using testing::TempDir;
using testing::TestOptions;
using testing::WithRawEnv;

Voucher StoredVoucher(int i) {
  Voucher v;
  v.id = "v-" + std::to_string(i);
  v.request_id = "req-0";
  v.organization_id = "org-a";
  v.ien = "32473";
  v.serial_number = "SN" + std::to_string(i);
  v.status = "completed";
  v.requested_at = absl::FromUnixSeconds(1700000000 + i);
  v.cms = std::string(100, static_cast<char>('a' + i % 26));
  return v;
}

// A CMS ContentInfo shaped like a signed voucher: SignedData with a certificate set.
std::string FakeSignedCms(const std::string& content, const std::string& certificates) {
  const std::string signed_data_oid("\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9);
  std::string sd = DerTlv(0x02, "\x03") + DerTlv(0x31, "") +
                   DerTlv(0x30, DerTlv(0x06, "\x2a") + DerTlv(0xa0, DerTlv(0x04, content))) +
                   DerTlv(0xa0, certificates) + DerTlv(0x31, DerTlv(0x30, "signer info"));
  return DerTlv(0x30, DerTlv(0x06, signed_data_oid) + DerTlv(0xa0, DerTlv(0x30, sd)));
}

// Vouchers signed with one key share their certificate chain: it is stored once and put
// back on every read, byte for byte; the stored records are that much smaller.
TEST(StoredFormTest, VoucherCertificateSetsAreStoredOnceAndRestoredExactly) {
  TempDir dir;
  const std::string chain =
      DerTlv(0x30, std::string(520, 'A')) + DerTlv(0x30, std::string(540, 'B'));
  const std::string other_chain = DerTlv(0x30, std::string(300, 'C'));
  std::vector<Voucher> vouchers;
  for (int i = 0; i < 5; ++i) {
    Voucher v = StoredVoucher(i);
    v.cms = FakeSignedCms("voucher " + std::to_string(i) + std::string(900, 'j'),
                          i == 4 ? other_chain : chain);
    vouchers.push_back(v);
  }
  Voucher plain = StoredVoucher(5);  // not a CMS: stored whole
  {
    auto store = Store::Open(TestOptions(dir));
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch b;
    for (const auto& v : vouchers) b.Insert(v);
    b.Insert(plain);
    ASSERT_TRUE((*store)->Write(std::move(b)).ok());
    Voucher renewed;
    {
      auto snap = (*store)->Read();
      for (const auto& v : vouchers) {
        auto got = snap->Get<Voucher>(v.id);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(got->cms, v.cms) << v.id;
        EXPECT_TRUE(got->cms_certificates_sha256.empty());
        EXPECT_EQ(got->cms_certificates_offset, 0u);
      }
      EXPECT_EQ(snap->Get<Voucher>(plain.id)->cms, plain.cms);
      auto listed = snap->List<Voucher>();
      ASSERT_TRUE(listed.ok()) << listed.status();
      ASSERT_EQ(listed->size(), 6u);
      EXPECT_EQ((*listed)[2].cms, vouchers[2].cms);
      // A renewal rewrites the record; the set is still shared, not stored again.
      renewed = *snap->Get<Voucher>("v-1");
    }
    renewed.cms = FakeSignedCms("renewed", chain);
    ASSERT_TRUE((*store)->Write(WriteBatch().Put(renewed)).ok());
    EXPECT_EQ((*store)->Read()->Get<Voucher>("v-1")->cms, renewed.cms);
  }
  // On disk: two sets (one per chain), and records without them.
  std::string first_set_key;
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi sets, records;
    ASSERT_EQ(mdb_dbi_open(txn, "cms_certificates", 0, &sets), 0);
    MDB_stat st;
    ASSERT_EQ(mdb_stat(txn, sets, &st), 0);
    EXPECT_EQ(st.ms_entries, 2u);
    ASSERT_EQ(mdb_dbi_open(txn, "vouchers", 0, &records), 0);
    MDB_val k{3, const_cast<char*>("v-0")}, d;
    ASSERT_EQ(mdb_get(txn, records, &k, &d), 0);
    EXPECT_LT(d.mv_size + chain.size() / 2, vouchers[0].cms.size());
    // Damage the shared set of the first chain.
    MDB_cursor* c = nullptr;
    ASSERT_EQ(mdb_cursor_open(txn, sets, &c), 0);
    MDB_val sk, sd;
    for (int rc = mdb_cursor_get(c, &sk, &sd, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &sk, &sd, MDB_NEXT)) {
      if (sd.mv_size == DerTlv(0xa0, chain).size())
        first_set_key.assign(static_cast<char*>(sk.mv_data), sk.mv_size);
    }
    mdb_cursor_close(c);
    ASSERT_FALSE(first_set_key.empty());
    std::string damaged = DerTlv(0xa0, chain);
    damaged[100] ^= 1;
    MDB_val dk{first_set_key.size(), first_set_key.data()}, dv{damaged.size(), damaged.data()};
    ASSERT_EQ(mdb_put(txn, sets, &dk, &dv, 0), 0);
  });
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto damaged = (*store)->Read()->Get<Voucher>("v-0");
  EXPECT_TRUE(absl::IsDataLoss(damaged.status())) << damaged.status();
  EXPECT_NE(damaged.status().message().find("certificate set does not match its hash"),
            absl::string_view::npos)
      << damaged.status();
  // A voucher with the other chain is unaffected.
  EXPECT_EQ((*store)->Read()->Get<Voucher>("v-4")->cms, vouchers[4].cms);
}

// The content of a JSON voucher (RFC 8366) pinning the certificate whose base64 is `pdc`.
std::string VoucherJson(const std::string& serial, const std::string& pdc) {
  return "{\"ietf-voucher:voucher\":{\"created-on\":\"2026-11-30T05:33:21Z\",\"serial-number\":\"" +
         serial + "\",\"pinned-domain-cert\":\"" + pdc + "\"}}";
}

// The raw stored bytes of each voucher record, by key.
std::map<std::string, std::string> RawVoucherRecords(const std::string& state_dir) {
  std::map<std::string, std::string> out;
  WithRawEnv(state_dir, [&](MDB_txn* txn) {
    for (auto& [key, value] : testing::RawEntries(txn, "vouchers")) out[key] = value;
  });
  return out;
}

// Vouchers of one pin carry the same pinned-domain-cert: its base64 text is stored once
// and put back on every read, byte for byte, and the records shrink by its size. A damaged
// or missing text fails the read of those vouchers only, as data loss that says which.
TEST(StoredFormTest, PinnedDomainCertsAreStoredOnceAndRestoredExactly) {
  TempDir dir;
  const std::string chain = DerTlv(0x30, std::string(700, 'C'));
  const std::string pdc_a(616, 'A'), pdc_b(1640, 'B');
  std::vector<Voucher> vouchers;
  for (int i = 0; i < 6; ++i) {
    Voucher v = StoredVoucher(i);
    v.cms = FakeSignedCms(VoucherJson(v.serial_number, i == 5 ? pdc_b : pdc_a), chain);
    vouchers.push_back(v);
  }
  Voucher short_pin = StoredVoucher(6);  // too short to be worth a look-up: kept inline
  short_pin.cms = FakeSignedCms(VoucherJson("SN6", "MIIB"), chain);
  {
    auto store = Store::Open(TestOptions(dir));
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch b;
    for (const auto& v : vouchers) b.Insert(v);
    b.Insert(short_pin);
    ASSERT_TRUE((*store)->Write(std::move(b)).ok());
    auto snap = (*store)->Read();
    for (const auto& v : vouchers) {
      auto got = snap->Get<Voucher>(v.id);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->cms, v.cms) << v.id;
      EXPECT_TRUE(got->cms_pdc_sha256.empty());
      EXPECT_EQ(got->cms_pdc_offset, 0u);
    }
    EXPECT_EQ(snap->Get<Voucher>(short_pin.id)->cms, short_pin.cms);
    auto listed = snap->List<Voucher>();
    ASSERT_TRUE(listed.ok()) << listed.status();
    ASSERT_EQ(listed->size(), 7u);
    EXPECT_EQ((*listed)[5].cms, vouchers[5].cms);
  }
  auto raw = RawVoucherRecords(dir.path());
  EXPECT_LT(raw["v-0"].size() + pdc_a.size() + chain.size(), vouchers[0].cms.size() + 400);
  EXPECT_LT(raw["v-5"].size() + pdc_b.size() + chain.size(), vouchers[5].cms.size() + 400);
  EXPECT_NE(raw["v-6"].find("MIIB"), std::string::npos);
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi pdcs;
    ASSERT_EQ(mdb_dbi_open(txn, "cms_pdcs", 0, &pdcs), 0);
    MDB_stat st;
    ASSERT_EQ(mdb_stat(txn, pdcs, &st), 0);
    EXPECT_EQ(st.ms_entries, 2u);
    // Damage A's text; drop B's.
    std::string key_a = Sha256(pdc_a), key_b = Sha256(pdc_b), damaged = pdc_a;
    damaged[300] = 'Z';
    MDB_val ka{key_a.size(), key_a.data()}, va{damaged.size(), damaged.data()};
    ASSERT_EQ(mdb_put(txn, pdcs, &ka, &va, 0), 0);
    MDB_val kb{key_b.size(), key_b.data()};
    ASSERT_EQ(mdb_del(txn, pdcs, &kb, nullptr), 0);
  });
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  auto snap = (*store)->Read();
  auto damaged = snap->Get<Voucher>("v-0");
  EXPECT_TRUE(absl::IsDataLoss(damaged.status())) << damaged.status();
  EXPECT_NE(
      damaged.status().message().find("v-0: its CMS pinned-domain-cert does not match its hash"),
      absl::string_view::npos)
      << damaged.status();
  auto missing = snap->Get<Voucher>("v-5");
  EXPECT_TRUE(absl::IsDataLoss(missing.status())) << missing.status();
  EXPECT_NE(missing.status().message().find("pinned-domain-cert is missing"),
            absl::string_view::npos)
      << missing.status();
  EXPECT_EQ(snap->Get<Voucher>("v-6")->cms, short_pin.cms);
}

// A store of schema 6 kept every pinned-domain-cert inside its records. Opened by this
// build it migrates without rewriting them: they read as they did, and a
// voucher written afterwards is stored without its text.
TEST(StoredFormTest, RecordsOfSchemaSixKeepTheirInlinePinnedDomainCert) {
  TempDir dir;
  const std::string chain = DerTlv(0x30, std::string(700, 'C'));
  const std::string pdc(616, 'A');
  Voucher old = StoredVoucher(0);
  old.cms = FakeSignedCms(VoucherJson("SN0", pdc), chain);
  ASSERT_TRUE((*Store::Open(TestOptions(dir)))->Write(WriteBatch().Insert(old)).ok());
  // Turn it into what schema 6 wrote: the text back inline, no cms_pdcs table.
  WithRawEnv(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi records, pdcs, meta;
    ASSERT_EQ(mdb_dbi_open(txn, "vouchers", 0, &records), 0);
    MDB_val k{3, const_cast<char*>("v-0")}, d;
    ASSERT_EQ(mdb_get(txn, records, &k, &d), 0);
    Voucher stored;
    ASSERT_TRUE(
        internal::Decode(std::string_view(static_cast<char*>(d.mv_data), d.mv_size), &stored).ok());
    ASSERT_FALSE(stored.cms_pdc_sha256.empty());
    stored.cms.insert(stored.cms_pdc_offset, pdc);
    stored.cms_pdc_sha256.clear();
    stored.cms_pdc_offset = 0;
    std::string bytes = internal::Encode(stored);
    MDB_val v{bytes.size(), bytes.data()};
    ASSERT_EQ(mdb_put(txn, records, &k, &v, 0), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "cms_pdcs", 0, &pdcs), 0);
    ASSERT_EQ(mdb_drop(txn, pdcs, 1), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string six = internal::BigEndian64(6);
    MDB_val vk{14, const_cast<char*>("schema_version")}, vv{8, six.data()};
    ASSERT_EQ(mdb_put(txn, meta, &vk, &vv, 0), 0);
  });
  auto store = Store::Open(TestOptions(dir));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->Read()->SchemaVersion(), kSchemaVersion);
  EXPECT_EQ((*store)->Read()->Get<Voucher>("v-0")->cms, old.cms);
  Voucher fresh = StoredVoucher(1);
  fresh.cms = FakeSignedCms(VoucherJson("SN1", pdc), chain);
  ASSERT_TRUE((*store)->Write(WriteBatch().Insert(fresh)).ok());
  EXPECT_EQ((*store)->Read()->Get<Voucher>("v-1")->cms, fresh.cms);
  store->reset();
  auto raw = RawVoucherRecords(dir.path());
  EXPECT_NE(raw["v-0"].find(pdc), std::string::npos);
  EXPECT_EQ(raw["v-1"].find(pdc), std::string::npos);
}

}  // namespace
}  // namespace masa::store
