// Reading vouchers: listing with filters, sorting, grouping and pages, organizations a
// caller may not list, and inclusion proofs against the signed audit log.
#include <set>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "service/service.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

TEST_F(ServiceTest, ListFiltersSortsGroupsAndPages) {
  auto r1 = Request(admin_, Input({"SN-20", "SN-21", "SN-22"}));
  clock_.Set(clock_.Now() + absl::Minutes(1));
  Caller req = User(admin_, "req2@acme.example", Role::kRequestor);
  auto r2 = Request(req, Input({"SN-23", "SN-24"}, &acme_pdc2_));
  ASSERT_TRUE(r1.ok() && r2.ok());
  ASSERT_TRUE(service_->ArchiveVoucher(admin_, r1->serials[0].voucher_id).ok());

  ListVouchersInput in;
  in.sort_by = VoucherColumn::kSerialNumber;
  in.descending = false;
  in.page_size = 2;
  std::vector<std::string> seen;
  while (true) {
    auto page = service_->ListVouchers(admin_, in);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total, 5u);
    for (const auto& v : page->vouchers) seen.push_back(v.serial_number);
    if (page->next_page_token.empty()) break;
    in.page_token = page->next_page_token;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"SN-20", "SN-21", "SN-22", "SN-23", "SN-24"}));
  ListVouchersInput bad = in;
  bad.sort_by = VoucherColumn::kExpiresAt;
  EXPECT_EQ(service_->ListVouchers(admin_, bad).status().code(), StatusCode::kInvalidArgument);

  auto by = [&](const std::function<void(VoucherFilter&)>& set) {
    ListVouchersInput q;
    set(q.filter);
    return service_->ListVouchers(admin_, q)->total;
  };
  EXPECT_EQ(by([&](VoucherFilter& f) { f.serial_number = "SN-21"; }), 1u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.status = VoucherStatus::kArchived; }), 1u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.status = VoucherStatus::kCompleted; }), 4u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.assertion = "logged"; }), 5u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.assertion = "verified"; }), 0u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_by = "req2@acme.example"; }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_by = req.principal_id(); }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.pdc_organization = "Acme Labs"; }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.req_id = r1->req_id; }), 3u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_from = clock_.Now(); }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_to = clock_.Now(); }), 3u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.archived = false; }), 4u);

  ListVouchersInput grouped;
  grouped.group_by = VoucherColumn::kPdcOrganization;
  grouped.sort_by = VoucherColumn::kRequestedAt;
  grouped.descending = false;
  auto g = service_->ListVouchers(admin_, grouped);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->groups.size(), 2u);
  EXPECT_EQ(g->groups[0].value, "Acme Corp");
  EXPECT_EQ(g->groups[0].count, 3u);
  EXPECT_EQ(g->vouchers[3].pdc_organization, "Acme Labs");
  EXPECT_EQ(ParseVoucherColumn("pdc_organization"), VoucherColumn::kPdcOrganization);
  EXPECT_EQ(VoucherColumnName(VoucherColumn::kLastRenewalAt), "last_renewal_at");
}

TEST_F(ServiceTest, InclusionProofOfAVoucherVerifies) {
  std::string id = Issue("SN-26");
  EXPECT_EQ(service_->InclusionProof(admin_, id).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->WriteCheckpoint().ok());
  auto proof = service_->InclusionProof(admin_, id);
  ASSERT_TRUE(proof.ok()) << proof.status();
  auto cp = store::ParseCheckpointNote(proof->checkpoint);
  ASSERT_TRUE(cp.ok());
  EXPECT_TRUE(store::VerifyInclusion(store::LeafHash(proof->entry_bytes), proof->seq,
                                     proof->tree_size, proof->proof, cp->root_hash)
                  .ok());
  auto entry = store::DecodeAuditEntry(proof->entry_bytes);
  EXPECT_EQ(entry->action, "voucher.issue");
  EXPECT_EQ(entry->object_hash, Sha256(service_->DownloadVoucher(admin_, id)->cms));
}

TEST_F(ServiceTest, VoucherListOfAnOrganizationTheCallerCannotSeeIsNotFound) {
  Issue("SN-26");
  ListVouchersInput in;
  in.filter.organization_id = "org-other";
  auto foreign = service_->ListVouchers(admin_, in);
  EXPECT_EQ(foreign.status().code(), StatusCode::kNotFound) << foreign.status();
  in.filter.organization_id = "org-acme";
  auto own = service_->ListVouchers(admin_, in);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->total, 1u);
  // The account team sees every organization, but not one that does not exist.
  EXPECT_EQ(service_->ListVouchers(account_team_, in)->total, 1u);
  in.filter.organization_id = "org-nosuch";
  EXPECT_EQ(service_->ListVouchers(account_team_, in).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace masa::service::testing
