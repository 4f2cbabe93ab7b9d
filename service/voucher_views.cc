// What callers see of vouchers and requests: get and download (the listing:
// voucher_list.cc), and the record -> view conversion and authorization the request
// pipeline (voucher_requests.cc) shares.
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"
#include "service/internal/voucher_state.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Permission;
using internal::RequestStatusOf;
using internal::IsArchived;
using internal::SerialNotFoundReason;
using internal::StatusOf;

VoucherInfo ServiceImpl::ToInfo(const store::Voucher& v) const {
  VoucherInfo i;
  i.voucher_id = v.id;
  i.req_id = v.request_id;
  i.organization_id = v.organization_id;
  i.ien = v.ien;
  i.serial_number = v.serial_number;
  i.requested_at = v.requested_at;
  i.created_at = v.created_at;
  i.expires_at = v.expires_at;
  i.last_renewal_at = v.last_renewal_at;
  // The store keeps the name (signer::AssertionName) this service wrote.
  i.assertion = signer::ParseAssertion(v.assertion).value_or(options_.default_assertion);
  i.status = StatusOf(v, Now());
  i.pdc_organization = v.pdc_organization;
  i.pdc_id = v.pdc_id;
  i.requested_by = v.requested_by_name;
  i.requested_by_id = v.requested_by;
  i.os_type = v.os_type;
  i.security_profile = v.security_profile;
  i.content_type_oid = v.content_type_oid;
  return i;
}

std::string ServiceImpl::GroupOfSerial(const store::Reader& reader, const std::string& org,
                                       const std::string& ien, const std::string& serial) const {
  auto c = reader.Get<store::Component>(store::ComponentKey(ien, serial));
  return c.ok() && c->organization_id == org ? c->group_id : org;
}

absl::StatusOr<store::Voucher> ServiceImpl::AuthorizedVoucher(const AccessContext& access,
                                                              Permission p,
                                                              std::string_view voucher_id) const {
  MASA_ASSIGN_OR_RETURN(std::string key, internal::VoucherKey(voucher_id));
  std::string what = "voucher " + key;
  auto v = access.reader().Get<store::Voucher>(key);
  if (absl::IsNotFound(v.status())) return absl::NotFoundError(what + " not found");
  if (!v.ok()) return v.status();
  MASA_RETURN_IF_ERROR(Authorize(
      access, p, GroupOfSerial(access.reader(), v->organization_id, v->ien, v->serial_number),
      what));
  return v;
}
absl::StatusOr<VoucherInfo> ServiceImpl::GetVoucher(const Caller& caller,
                                                    std::string_view voucher_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::Voucher v, AuthorizedVoucher(access, Permission::kView, voucher_id));
  return ToInfo(v);
}

absl::StatusOr<VoucherFile> ServiceImpl::DownloadVoucher(const Caller& caller,
                                                         std::string_view voucher_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::Voucher v,
                        AuthorizedVoucher(access, Permission::kDownload, voucher_id));
  return VoucherFile{v.id, v.request_id, v.ien, v.serial_number, v.cms};
}

namespace {

// The request `req_id` names (any form the methods take); kNotFound naming it when absent.
absl::StatusOr<store::VoucherRequest> LoadRequest(const store::Reader& snap,
                                                  std::string_view req_id) {
  MASA_ASSIGN_OR_RETURN(std::string key, internal::RequestKey(req_id));
  auto req = snap.Get<store::VoucherRequest>(key);
  if (absl::IsNotFound(req.status())) return absl::NotFoundError("request " + key + " not found");
  return req;
}

}  // namespace

absl::StatusOr<RequestInfo> ServiceImpl::GetRequest(const Caller& caller,
                                                    std::string_view req_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::VoucherRequest req, LoadRequest(snap, req_id));
  const std::string what = "request " + req.id;
  MASA_ASSIGN_OR_RETURN(auto vouchers, snap.VouchersByRequest(req.id));
  RequestInfo info;
  for (const auto& v : vouchers) {
    if (AuthorizedVoucher(access, Permission::kView, v.id).ok()) info.vouchers.push_back(ToInfo(v));
  }
  // Visible to its requester, to whoever may view one of its vouchers, and to viewers of
  // the organization's root group (a request whose serials all failed has no voucher).
  bool visible = req.requested_by == caller.principal_id() || !info.vouchers.empty() ||
                 Authorize(access, Permission::kView, req.organization_id, what).ok();
  if (!visible) return absl::NotFoundError(what + " not found");
  info.req_id = req.id;
  info.organization_id = req.organization_id;
  info.requested_by_id = req.requested_by;
  auto p = snap.Get<store::Principal>(req.requested_by);
  info.requested_by = p.ok() ? p->name : req.requested_by;
  info.requested_at = req.requested_at;
  info.ien = req.ien;
  info.status = RequestStatusOf(req.serial_numbers.size() - req.failed_serials.size(),
                                req.failed_serials.size());
  info.os_type = req.os_type;
  info.security_profile = req.security_profile;
  info.pdc_organization = req.pdc_organization;
  info.override_conflicts = req.override_conflicts;
  // Only the serials the caller may view now (their current group, or the organization's
  // root for one no longer in it), plus, for the requester, the serials it was answered
  // "not found" for: those it typed itself, and the answer says nothing about them.
  const bool requester = req.requested_by == caller.principal_id();
  for (const auto& serial : req.serial_numbers) {
    SerialResult r{serial, "", SerialStatus::kCompleted, "", absl::StatusCode::kOk};
    for (size_t i = 0; i < req.failed_serials.size(); ++i) {
      if (req.failed_serials[i] != serial) continue;
      r.status = SerialStatus::kFailed;
      r.code = i < req.failure_codes.size() ? req.failure_codes[i] : absl::StatusCode::kUnknown;
      r.reason = i < req.failure_reasons.size() ? req.failure_reasons[i] : "";
    }
    // One wording for every "not found", also in requests stored before it was one.
    if (r.code == absl::StatusCode::kNotFound) r.reason = SerialNotFoundReason(serial);
    bool visible = Authorize(access, Permission::kView,
                             GroupOfSerial(snap, req.organization_id, req.ien, serial), what)
                       .ok();
    if (!visible && !(requester && r.code == absl::StatusCode::kNotFound)) continue;
    for (const auto& v : vouchers) {
      if (v.serial_number == serial) r.voucher_id = v.id;
    }
    info.serials.push_back(std::move(r));
  }
  return info;
}

absl::StatusOr<std::vector<VoucherFile>> ServiceImpl::DownloadRequest(
    const Caller& caller, std::string_view req_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::VoucherRequest req, LoadRequest(snap, req_id));
  const std::string what = "request " + req.id;
  MASA_ASSIGN_OR_RETURN(auto vouchers, snap.VouchersByRequest(req.id));
  std::vector<VoucherFile> files;
  bool any_visible = false;
  for (const auto& serial : req.serial_numbers) {
    for (const auto& v : vouchers) {
      if (v.serial_number != serial) continue;
      auto ok = AuthorizedVoucher(access, Permission::kDownload, v.id);
      if (ok.ok()) {
        files.push_back({v.id, v.request_id, v.ien, v.serial_number, v.cms});
        any_visible = true;
      } else if (absl::IsPermissionDenied(ok.status())) {
        any_visible = true;
      }
    }
  }
  if (!any_visible) return absl::NotFoundError(what + " not found");
  if (files.empty()) {
    return absl::PermissionDeniedError(what +
                                       ": your roles do not include the download permission");
  }
  return files;
}

}  // namespace masa::service
