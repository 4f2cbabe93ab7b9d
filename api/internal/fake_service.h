// Test support: a service::Service that answers from canned data, or fails every call with
// one chosen status, so the REST layer can be tested without a store or an HSM.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "service/service.h"

namespace masa::api::testing {

class FakeService final : public service::Service {
 public:
  // The token Authenticate() accepts.
  static constexpr std::string_view kToken = "masa_test-token";

  // When not OK, every method (but Authenticate) returns it.
  absl::Status fail_with = absl::OkStatus();
  service::VoucherInfo voucher = DefaultVoucher();
  std::string cms = std::string("\x30\x82\x00\x01\xff", 5);
  // The last input RequestVouchers saw.
  service::VoucherRequestInput last_request;
  std::vector<service::VoucherFile> request_files;
  // Runs at the start of GetVoucher (e.g. to hold a handler thread).
  std::function<void()> on_get_voucher;

  static service::VoucherInfo DefaultVoucher() {
    service::VoucherInfo v;
    v.voucher_id = "v-1";
    v.req_id = "r-1";
    v.organization_id = "org-acme";
    v.serial_number = "SN-1";
    v.requested_at = absl::FromUnixSeconds(1800000000);
    v.created_at = absl::FromUnixSeconds(1800000001);
    v.expires_at = absl::FromUnixSeconds(1900000000);
    v.assertion = "logged";
    v.status = service::VoucherStatus::kCompleted;
    v.pdc_organization = "Acme";
    v.pdc_id = "pdc-1";
    v.requested_by = "alice@acme.example";
    v.requested_by_id = "p-1";
    v.os_type = "ios-xr";
    v.content_type_oid = "1.2.840.113549.1.9.16.1.40";
    return v;
  }

  absl::Status SetSigningKeys(std::shared_ptr<const service::SigningKeys>) override {
    return fail_with;
  }
  absl::StatusOr<service::Caller> Authenticate(std::string_view bearer) const override {
    if (bearer != kToken) return absl::UnauthenticatedError("unknown or expired token");
    return service::Caller();
  }
  absl::Status RequestVouchers(const service::Caller&, service::VoucherRequestInput input,
                               service::RequestCallback done) override {
    if (!fail_with.ok()) return fail_with;
    last_request = input;
    service::RequestResult result;
    result.req_id = "r-1";
    for (size_t i = 0; i < input.serial_numbers.size(); ++i) {
      service::SerialResult s;
      s.serial_number = input.serial_numbers[i];
      if (i == 0) {
        s.voucher_id = "v-1";
        s.status = service::SerialStatus::kCompleted;
      } else {
        s.status = service::SerialStatus::kFailed;
        s.reason = "not a serial number of your organization";
        s.code = absl::StatusCode::kNotFound;
      }
      result.serials.push_back(std::move(s));
    }
    done(std::move(result));
    return absl::OkStatus();
  }
  absl::StatusOr<service::VoucherInfo> GetVoucher(const service::Caller&,
                                                  std::string_view id) const override {
    if (on_get_voucher) on_get_voucher();
    if (!fail_with.ok()) return fail_with;
    if (id != voucher.voucher_id) return absl::NotFoundError("no voucher with this id");
    return voucher;
  }
  absl::StatusOr<service::VoucherFile> DownloadVoucher(const service::Caller&,
                                                       std::string_view id) const override {
    if (!fail_with.ok()) return fail_with;
    if (id != voucher.voucher_id) return absl::NotFoundError("no voucher with this id");
    return service::VoucherFile{voucher.voucher_id, voucher.req_id, "9", voucher.serial_number,
                                cms};
  }
  absl::StatusOr<service::RequestInfo> GetRequest(const service::Caller&,
                                                  std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    service::RequestInfo r;
    r.req_id = "r-1";
    r.vouchers.push_back(voucher);
    return r;
  }
  absl::StatusOr<std::vector<service::VoucherFile>> DownloadRequest(
      const service::Caller&, std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return request_files;
  }
  absl::Status RenewVoucher(const service::Caller&, std::string_view, service::RenewInput,
                            service::RequestCallback done) override {
    if (!fail_with.ok()) return fail_with;
    done(service::RequestResult{
        "r-2", {{"SN-1", "v-1", service::SerialStatus::kCompleted, "", absl::StatusCode::kOk}}});
    return absl::OkStatus();
  }
  absl::StatusOr<service::VoucherInfo> ArchiveVoucher(const service::Caller&,
                                                      std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return voucher;
  }
  absl::StatusOr<service::VoucherPage> ListVouchers(
      const service::Caller&, const service::ListVouchersInput&) const override {
    if (!fail_with.ok()) return fail_with;
    service::VoucherPage page;
    page.vouchers.push_back(voucher);
    page.total = 1;
    return page;
  }
  absl::StatusOr<service::PdcInfo> UploadPdc(const service::Caller&,
                                             service::PdcInput) override {
    if (!fail_with.ok()) return fail_with;
    return service::PdcInfo{};
  }
  absl::StatusOr<std::vector<service::PdcInfo>> ListPdcs(const service::Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<service::PdcInfo>{};
  }
  absl::StatusOr<service::PdcInfo> GetPdc(const service::Caller&,
                                          std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return service::PdcInfo{};
  }
  absl::Status DeletePdc(const service::Caller&, std::string_view) override { return fail_with; }
  absl::StatusOr<service::PrincipalInfo> InviteUser(const service::Caller&,
                                                    std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return service::PrincipalInfo{};
  }
  absl::StatusOr<service::PrincipalInfo> CreateServiceAccount(const service::Caller&,
                                                              std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return service::PrincipalInfo{};
  }
  absl::StatusOr<std::vector<service::PrincipalInfo>> ListPrincipals(
      const service::Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<service::PrincipalInfo>{};
  }
  absl::Status DisablePrincipal(const service::Caller&, std::string_view) override {
    return fail_with;
  }
  absl::StatusOr<service::BindingInfo> BindRole(const service::Caller&, std::string_view,
                                                std::string_view, std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return service::BindingInfo{};
  }
  absl::Status DeleteBinding(const service::Caller&, std::string_view) override {
    return fail_with;
  }
  absl::StatusOr<service::BindingInfo> GrantPermission(const service::Caller&, std::string_view,
                                                       std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return service::BindingInfo{};
  }
  absl::StatusOr<service::BindingInfo> RevokePermission(const service::Caller&,
                                                        std::string_view,
                                                        std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return service::BindingInfo{};
  }
  absl::StatusOr<std::vector<service::BindingInfo>> ListBindings(
      const service::Caller&, std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<service::BindingInfo>{};
  }
  absl::StatusOr<service::GroupInfo> CreateGroup(const service::Caller&, std::string_view,
                                                 std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return service::GroupInfo{};
  }
  absl::StatusOr<std::vector<service::GroupInfo>> ListGroups(
      const service::Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<service::GroupInfo>{};
  }
  absl::Status DeleteGroup(const service::Caller&, std::string_view) override {
    return fail_with;
  }
  absl::StatusOr<service::AssignResult> AssignSerials(const service::Caller&,
                                                      service::AssignInput input) override {
    if (!fail_with.ok()) return fail_with;
    return service::AssignResult{input.serials.size(), 0};
  }
  absl::StatusOr<service::AssignResult> PlaceSerials(
      const service::Caller&, std::string_view,
      const std::vector<service::SerialRef>& serials) override {
    if (!fail_with.ok()) return fail_with;
    return service::AssignResult{serials.size(), 0};
  }
  absl::StatusOr<service::NewToken> CreateToken(const service::Caller&,
                                                service::TokenInput) override {
    if (!fail_with.ok()) return fail_with;
    service::NewToken t;
    t.info.token_id = "tok-1";
    t.secret = Secret("masa_secret");
    return t;
  }
  absl::StatusOr<std::vector<service::TokenInfo>> ListTokens(const service::Caller&,
                                                             std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<service::TokenInfo>{};
  }
  absl::Status RevokeToken(const service::Caller&, std::string_view) override {
    return fail_with;
  }
  absl::StatusOr<service::AuditPage> ListAudit(const service::Caller&,
                                               const service::AuditQuery&) const override {
    if (!fail_with.ok()) return fail_with;
    return service::AuditPage{};
  }
  absl::StatusOr<service::VoucherInclusionProof> InclusionProof(
      const service::Caller&, std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    service::VoucherInclusionProof p;
    p.seq = 3;
    p.tree_size = 8;
    p.proof = {std::string(32, 'a'), std::string(32, 'b')};
    p.checkpoint = "masa/audit\n8\nroot\n";
    return p;
  }
  absl::StatusOr<service::BootstrapResult> CreateOrganization(
      const service::Caller&, std::string_view name, std::string_view admin) override {
    if (!fail_with.ok()) return fail_with;
    service::BootstrapResult r;
    r.organization_id = "org-" + std::string(name);
    r.principal.principal_id = r.organization_id + ".p-1";
    r.principal.organization_id = r.organization_id;
    r.principal.name = std::string(admin);
    r.token.info.token_id = "tok-2";
    r.token.secret = Secret("masa_first-secret");
    return r;
  }
  absl::StatusOr<std::vector<service::OrganizationInfo>> ListOrganizations(
      const service::Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<service::OrganizationInfo>{{"org-acme", "acme", absl::UnixEpoch()}};
  }
  absl::StatusOr<service::BootstrapResult> CreateOrganization(std::string_view,
                                                              std::string_view) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<service::BootstrapResult> CreateVendorPrincipal(std::string_view,
                                                                 std::string_view) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<service::NewToken> IssueTokenOffline(std::string_view, std::string_view,
                                                      std::optional<absl::Duration>) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<service::AssignResult> AssignSerialsOffline(service::AssignInput) override {
    return absl::UnimplementedError("fake");
  }
  const service::Metrics& metrics() const override { return metrics_; }
  size_t queue_depth() const override { return 7; }

  service::Metrics metrics_;
};

}  // namespace masa::api::testing
