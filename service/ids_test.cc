// Voucher and request ids (UUIDv7, and the ids of the form used before them) and the status
// vocabulary, against the real store, a SoftHSM2 token and the real work queue.
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <map>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/uuid.h"
#include "service/service.h"
#include "service/testing/hsm_fixture.h"
#include "store/audit_verify.h"
#include "store/checkpoint.h"
#include "store/testing/schema.h"

namespace masa::service::testing {
namespace {

// One organization and ten serials, on the shared set-up with the HSM key; a test may close
// and reopen the store.
class IdsTest : public ServiceFixture {
 protected:
  IdsTest()
      : ServiceFixture(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) +
                       absl::Milliseconds(163)) {}

  std::shared_ptr<const SigningKeys> Keys() override { return SharedPki().keys; }
  queue::WorkQueueOptions QueueOptions() override {
    return {.workers = 2, .capacity = 64, .max_batch = 8};
  }

  void SetUp() override {
    ServiceFixture::SetUp();
    if (HasFatalFailure()) return;
    pdc_ = MakeOwner("CN=Acme Owner CA,O=Acme Corp", clock_.Now(), absl::Hours(24 * 800));
    auto acme = service_->CreateOrganization("acme", "admin@acme.example");
    ASSERT_TRUE(acme.ok()) << acme.status();
    admin_ = *service_->Authenticate(acme->token.secret.view());
    AssignInput serials{"org-acme", "", {}, false};
    for (int i = 0; i < 10; ++i)
      serials.serials.push_back({"", absl::StrFormat("SN-%02d", i), "", "", {}});
    ASSERT_TRUE(service_->AssignSerialsOffline(serials).ok());
  }

  // Opens the store (running its migrations) and a service on it.
  void Open() {
    OpenStore();
    ASSERT_FALSE(HasFatalFailure());
    MakeService();
  }

  void Close() {
    service_.reset();
    store_.reset();
  }

  absl::StatusOr<RequestResult> Request(std::vector<std::string> serials,
                                        std::optional<absl::Time> expires_at = std::nullopt) {
    VoucherRequestInput in;
    in.serial_numbers = std::move(serials);
    in.pdc_pem = pdc_.pem;
    in.expires_at = expires_at;
    std::promise<absl::StatusOr<RequestResult>> p;
    auto f = p.get_future();
    absl::Status s = service_->RequestVouchers(admin_, std::move(in),
                                               [&p](auto r) { p.set_value(std::move(r)); });
    if (!s.ok()) return s;
    return f.get();
  }

  absl::StatusOr<RequestResult> Renew(const std::string& id) {
    std::promise<absl::StatusOr<RequestResult>> p;
    auto f = p.get_future();
    absl::Status s =
        service_->RenewVoucher(admin_, id, {}, [&p](auto r) { p.set_value(std::move(r)); });
    if (!s.ok()) return s;
    return f.get();
  }

  size_t Listed(const std::function<void(VoucherFilter&)>& set) {
    ListVouchersInput in;
    set(in.filter);
    auto page = service_->ListVouchers(admin_, in);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->total : 0;
  }

  Owner pdc_;
  Caller admin_;
};

TEST_F(IdsTest, VoucherAndRequestIdsAreUuidV7OfTheirCreationTime) {
  const int64_t t0 = absl::ToUnixMillis(clock_.Now());
  auto first = Request({"SN-00", "SN-01"});
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Set(clock_.Now() + absl::Milliseconds(1));
  auto second = Request({"SN-02"});
  ASSERT_TRUE(second.ok()) << second.status();
  std::vector<std::string> ids = {first->req_id, first->serials[0].voucher_id,
                                  first->serials[1].voucher_id, second->req_id,
                                  second->serials[0].voucher_id};
  for (const std::string& id : ids) {
    SCOPED_TRACE(id);
    EXPECT_EQ(CanonicalUuid(id), id);
    EXPECT_EQ(UuidVersion(id), 7);
    EXPECT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos);  // variant 0b10
  }
  EXPECT_EQ(UuidV7Millis(first->req_id), t0);
  EXPECT_EQ(UuidV7Millis(first->serials[1].voucher_id), t0);
  EXPECT_EQ(UuidV7Millis(second->serials[0].voucher_id), t0 + 1);
  // Later ids sort after earlier ones, as keys in the store do.
  EXPECT_LT(first->serials[1].voucher_id, second->serials[0].voucher_id);
  EXPECT_LT(first->req_id, second->req_id);

  auto info = service_->GetVoucher(admin_, first->serials[0].voucher_id);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->voucher_id, first->serials[0].voucher_id);
  EXPECT_EQ(info->req_id, first->req_id);
  // A UUID in upper case names the same voucher.
  std::string upper = first->serials[0].voucher_id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(service_->GetVoucher(admin_, upper)->voucher_id, first->serials[0].voucher_id);
  EXPECT_EQ(service_->GetRequest(admin_, first->req_id)->req_id, first->req_id);
}

TEST_F(IdsTest, MalformedIdsAreNotFoundAndAFilterSaysWhy) {
  ASSERT_TRUE(Request({"SN-00"}).ok());
  for (std::string bad :
       {std::string("nope"), std::string("v-1"), std::string(""),
        std::string("3fa85f64-5717-4562-b3fc-2c963f66afa"), std::string("../../etc/passwd"),
        std::string(5000, 'x'), std::string("3fa85f64-5717-4562-b3fc-2c963f66afa6\n"),
        std::string("v-\0\x01\xff", 5)}) {
    SCOPED_TRACE(bad.substr(0, 40));
    auto v = service_->GetVoucher(admin_, bad);
    EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
    EXPECT_LT(v.status().message().size(), 200u);
    EXPECT_EQ(service_->DownloadVoucher(admin_, bad).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(service_->ArchiveVoucher(admin_, bad).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(Renew(bad).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(service_->InclusionProof(admin_, bad).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(service_->GetRequest(admin_, bad).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(service_->DownloadRequest(admin_, bad).status().code(), StatusCode::kNotFound);
  }
  // A well-formed id nobody has is not found either.
  EXPECT_EQ(service_->GetVoucher(admin_, "3fa85f64-5717-4562-b3fc-2c963f66afa6").status().code(),
            StatusCode::kNotFound);
  ListVouchersInput in;
  in.filter.req_id = "not-a-request";
  auto page = service_->ListVouchers(admin_, in);
  EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("req_id"), absl::string_view::npos) << page.status();
}

TEST_F(IdsTest, StatusesUseTheDocumentedVocabulary) {
  auto r = Request({"SN-00", "SN-01", "NOT-OURS"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StatusName(r->serials[0].status), "completed");
  EXPECT_EQ(StatusName(r->serials[2].status), "failed");
  auto info = service_->GetVoucher(admin_, r->serials[0].voucher_id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(StatusName(info->status), "completed");
  auto req = service_->GetRequest(admin_, r->req_id);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(StatusName(req->status), "partial");
  EXPECT_EQ(StatusName(req->serials[1].status), "completed");
  ASSERT_TRUE(service_->ArchiveVoucher(admin_, r->serials[1].voucher_id).ok());
  EXPECT_EQ(Listed([](VoucherFilter& f) { f.status = VoucherStatus::kCompleted; }), 1u);
  EXPECT_EQ(Listed([](VoucherFilter& f) { f.status = VoucherStatus::kArchived; }), 1u);
  // The old name of completed still filters (an old client's query).
  EXPECT_EQ(ParseStatus<VoucherStatus>("issued"), VoucherStatus::kCompleted);
  EXPECT_EQ(ParseStatus<VoucherStatus>("complete"), std::nullopt);
  auto short_lived = Request({"SN-02"}, clock_.Now() + absl::Hours(1));
  ASSERT_TRUE(short_lived.ok()) << short_lived.status();
  clock_.Set(clock_.Now() + absl::Hours(2));
  EXPECT_EQ(StatusName(service_->GetVoucher(admin_, short_lived->serials[0].voucher_id)->status),
            "expired");
  EXPECT_EQ(Listed([](VoucherFilter& f) { f.status = VoucherStatus::kExpired; }), 1u);
}

TEST_F(IdsTest, EveryStatusValueHasAName) {
  // A value added to an enum but not to its name table would show as "?".
  for (int i = 0; i <= static_cast<int>(VoucherStatus::kSuperseded); ++i) {
    EXPECT_NE(StatusName(static_cast<VoucherStatus>(i)), "?") << i;
  }
  EXPECT_EQ(StatusNames<VoucherStatus>(),
            (std::vector<std::string_view>{"completed", "expired", "archived", "superseded"}));
  EXPECT_EQ(StatusNames<SerialStatus>(), (std::vector<std::string_view>{"completed", "failed"}));
  EXPECT_EQ(StatusNames<RequestStatus>(),
            (std::vector<std::string_view>{"completed", "partial", "failed"}));
  for (std::string_view name : StatusNames<RequestStatus>()) {
    EXPECT_EQ(StatusName(*ParseStatus<RequestStatus>(name)), name);
  }
}

// A store written before ids were UUIDs: its vouchers and request re-keyed to "v-"/"req-"
// ids with the old status names and audit entries naming those ids, as masad wrote them,
// then marked schema 4. After the migration at open, the old and the new ids both find
// them, lists, downloads, renewal and the inclusion proof work, and the audit log verifies.
TEST_F(IdsTest, StoreWrittenWithOldIdsMigratesAndOldIdsKeepResolving) {
  auto r = Request({"SN-03", "SN-04", "SN-05"});
  ASSERT_TRUE(r.ok()) << r.status();
  const int64_t ms = absl::ToUnixMillis(clock_.Now());
  const std::string old_req = absl::StrFormat("req-%012x%016x", ms, 0x5eed5eed5eed5eedULL);
  std::map<std::string, std::string> old_ids;  // serial -> old voucher id
  std::map<std::string, std::string> cms;      // serial -> CMS
  const std::string actor = admin_.principal_id();
  store::WriteBatch rewrite;
  rewrite.Do([&](store::WriteTxn& txn) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(store::VoucherRequest req, txn.Get<store::VoucherRequest>(r->req_id));
    MASA_ASSIGN_OR_RETURN(auto vouchers, txn.VouchersByRequest(req.id));
    MASA_RETURN_IF_ERROR(txn.Delete<store::VoucherRequest>(req.id));
    req.id = old_req;
    req.status = "complete";
    MASA_RETURN_IF_ERROR(txn.Put(req));
    uint64_t random = 0xabcdef0123456789ULL;
    for (store::Voucher v : vouchers) {
      MASA_RETURN_IF_ERROR(txn.Delete<store::Voucher>(v.id));
      v.id = absl::StrFormat("v-%012x%016x", ms, random++);
      v.request_id = old_req;
      v.status = "issued";
      MASA_ASSIGN_OR_RETURN(v.audit_seq, txn.Append({actor, "voucher.issue", "org-acme/" + v.id,
                                                     "ok", Sha256(v.cms)}));
      MASA_RETURN_IF_ERROR(txn.Put(v));
      old_ids[v.serial_number] = v.id;
      cms[v.serial_number] = v.cms;
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(store_->Write(std::move(rewrite)).ok());
  ASSERT_EQ(old_ids.size(), 3u);
  Close();
  ASSERT_TRUE(store::testing::SetSchemaVersion(dir_, 4).ok());
  Open();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(*store_->Read()->SchemaVersion(), store::kSchemaVersion);

  const std::string new_req = *LegacyIdToUuid(old_req, "req-");
  for (const auto& [serial, old_id] : old_ids) {
    SCOPED_TRACE(old_id);
    const std::string new_id = *LegacyIdToUuid(old_id, "v-");
    auto by_old = service_->GetVoucher(admin_, old_id);
    ASSERT_TRUE(by_old.ok()) << by_old.status();
    EXPECT_EQ(by_old->voucher_id, new_id);
    EXPECT_EQ(UuidVersion(by_old->voucher_id), 7);
    EXPECT_EQ(UuidV7Millis(by_old->voucher_id), ms);
    EXPECT_EQ(by_old->req_id, new_req);
    EXPECT_EQ(StatusName(by_old->status), "completed");
    EXPECT_EQ(by_old->serial_number, serial);
    auto by_new = service_->GetVoucher(admin_, new_id);
    ASSERT_TRUE(by_new.ok()) << by_new.status();
    EXPECT_EQ(by_new->voucher_id, new_id);
    auto file = service_->DownloadVoucher(admin_, old_id);
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(file->cms, cms[serial]);
    EXPECT_EQ(file->voucher_id, new_id);
  }
  auto req = service_->GetRequest(admin_, old_req);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->req_id, new_req);
  EXPECT_EQ(StatusName(req->status), "completed");
  ASSERT_EQ(req->serials.size(), 3u);
  for (const SerialResult& s : req->serials) {
    EXPECT_EQ(s.voucher_id, *LegacyIdToUuid(old_ids[s.serial_number], "v-"));
    EXPECT_EQ(StatusName(s.status), "completed");
  }
  EXPECT_EQ(req->vouchers.size(), 3u);
  EXPECT_TRUE(service_->GetRequest(admin_, new_req).ok());
  auto files = service_->DownloadRequest(admin_, old_req);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].req_id, new_req);
  EXPECT_EQ(Listed([&](VoucherFilter& f) { f.req_id = old_req; }), 3u);
  EXPECT_EQ(Listed([&](VoucherFilter& f) { f.req_id = new_req; }), 3u);
  EXPECT_EQ(Listed([](VoucherFilter& f) { f.status = VoucherStatus::kCompleted; }), 3u);
  EXPECT_EQ(Listed([](VoucherFilter&) {}), 3u);

  // The inclusion proof of a migrated voucher is its old entry, which names the old id.
  ASSERT_TRUE(store_->WriteCheckpoint().ok());
  const std::string& old_id = old_ids["SN-03"];
  auto proof = service_->InclusionProof(admin_, old_id);
  ASSERT_TRUE(proof.ok()) << proof.status();
  auto cp = store::ParseCheckpointNote(proof->checkpoint);
  ASSERT_TRUE(cp.ok());
  EXPECT_TRUE(store::VerifyInclusion(store::LeafHash(proof->entry_bytes), proof->seq,
                                     proof->tree_size, proof->proof, cp->root_hash)
                  .ok());
  auto entry = store::DecodeAuditEntry(proof->entry_bytes);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->target, "org-acme/" + old_id);
  EXPECT_EQ(entry->object_hash, Sha256(cms["SN-03"]));

  // Renewal by the old id renews the migrated voucher; its new entry names the UUID.
  auto renewed = Renew(old_id);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->serials[0].voucher_id, *LegacyIdToUuid(old_id, "v-"));
  EXPECT_EQ(renewed->req_id, new_req);

  // Nothing in the audit log was rewritten: it still replays and verifies (masactl audit
  // verify runs this check).
  ASSERT_TRUE(store_->WriteCheckpoint().ok());
  auto snap = store_->Read();
  ASSERT_TRUE(snap.ok());
  auto report = store::VerifyAuditLog(*snap, nullptr);
  EXPECT_TRUE(report.ok()) << report.status();
}

}  // namespace
}  // namespace masa::service::testing
