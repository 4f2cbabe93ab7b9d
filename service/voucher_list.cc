// Voucher listing: filter, sort, group and page the vouchers a caller may view.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/sha256.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/voucher_state.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::IsArchived;
using internal::Permission;

namespace {

constexpr size_t kMaxPageSize = 1000;

std::string ColumnText(const VoucherInfo& v, VoucherColumn c) {
  switch (c) {
    case VoucherColumn::kRequestedAt:
      return FormatRfc3339(v.requested_at);
    case VoucherColumn::kCreatedAt:
      return FormatRfc3339(v.created_at);
    case VoucherColumn::kExpiresAt:
      return FormatRfc3339(v.expires_at);
    case VoucherColumn::kLastRenewalAt:
      return v.last_renewal_at ? FormatRfc3339(*v.last_renewal_at) : "";
    case VoucherColumn::kSerialNumber:
      return v.serial_number;
    case VoucherColumn::kStatus:
      return std::string(StatusName(v.status));
    case VoucherColumn::kAssertion:
      return std::string(signer::AssertionName(v.assertion));
    case VoucherColumn::kRequestedBy:
      return v.requested_by;
    case VoucherColumn::kPdcOrganization:
      return v.pdc_organization;
    case VoucherColumn::kVoucherId:
      return v.voucher_id;
    case VoucherColumn::kReqId:
      return v.req_id;
  }
  return "";
}

// <0, 0, >0 like strcmp; times compare as times, absent last_renewal_at first.
int Compare(const VoucherInfo& a, const VoucherInfo& b, VoucherColumn c) {
  auto cmp_time = [](absl::Time x, absl::Time y) { return x < y ? -1 : y < x ? 1 : 0; };
  switch (c) {
    case VoucherColumn::kRequestedAt:
      return cmp_time(a.requested_at, b.requested_at);
    case VoucherColumn::kCreatedAt:
      return cmp_time(a.created_at, b.created_at);
    case VoucherColumn::kExpiresAt:
      return cmp_time(a.expires_at, b.expires_at);
    case VoucherColumn::kLastRenewalAt:
      return cmp_time(a.last_renewal_at.value_or(absl::InfinitePast()),
                      b.last_renewal_at.value_or(absl::InfinitePast()));
    default:
      return ColumnText(a, c).compare(ColumnText(b, c));
  }
}

constexpr std::pair<VoucherColumn, std::string_view> kColumnNames[] = {
    {VoucherColumn::kRequestedAt, "requested_at"},
    {VoucherColumn::kCreatedAt, "created_at"},
    {VoucherColumn::kExpiresAt, "expires_at"},
    {VoucherColumn::kLastRenewalAt, "last_renewal_at"},
    {VoucherColumn::kSerialNumber, "serial_number"},
    {VoucherColumn::kStatus, "status"},
    {VoucherColumn::kAssertion, "assertion"},
    {VoucherColumn::kRequestedBy, "requested_by"},
    {VoucherColumn::kPdcOrganization, "pdc_organization"},
    {VoucherColumn::kVoucherId, "voucher_id"},
    {VoucherColumn::kReqId, "req_id"}};

// Binds a page token to the query it came from.
std::string QueryFingerprint(const ListVouchersInput& in) {
  const VoucherFilter& f = in.filter;
  std::string key = absl::StrCat(
      f.organization_id, "\x1f", f.serial_number, "\x1f", Sv(f.status ? StatusName(*f.status) : ""),
      "\x1f", f.assertion, "\x1f", f.requested_by, "\x1f", f.pdc_organization, "\x1f", f.req_id,
      "\x1f", absl::FormatTime(f.requested_from), "\x1f", absl::FormatTime(f.requested_to), "\x1f",
      f.archived ? (*f.archived ? "1" : "0") : "-", "\x1f", static_cast<int>(in.sort_by),
      in.descending ? "d" : "a", in.group_by ? static_cast<int>(*in.group_by) : -1, "\x1f",
      in.page_size);
  return HexEncode(Sha256(key)).substr(0, 16);
}

}  // namespace

std::string_view VoucherColumnName(VoucherColumn column) {
  for (const auto& [c, name] : kColumnNames) {
    if (c == column) return name;
  }
  return "?";
}

std::optional<VoucherColumn> ParseVoucherColumn(std::string_view name) {
  for (const auto& [c, n] : kColumnNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

absl::StatusOr<VoucherPage> ServiceImpl::ListVouchers(const Caller& caller,
                                                      const ListVouchersInput& input) const {
  size_t page_size = input.page_size == 0 ? 50 : input.page_size;
  if (page_size > kMaxPageSize) return absl::InvalidArgumentError("page_size: expected 1..1000");
  const VoucherFilter& f = input.filter;
  std::string req_key;
  if (!f.req_id.empty()) {
    auto key = internal::RequestKey(f.req_id);
    if (!key.ok()) {
      return absl::InvalidArgumentError("req_id: " + std::string(key.status().message()));
    }
    req_key = *std::move(key);
  }
  if (f.requested_to < f.requested_from) {
    return absl::InvalidArgumentError("time range: the end is before the start");
  }
  const std::string fingerprint = QueryFingerprint(input);
  size_t offset = 0;
  if (!input.page_token.empty()) {
    size_t dot = input.page_token.find('.');
    if (dot == std::string::npos || input.page_token.substr(dot + 1) != fingerprint ||
        !absl::SimpleAtoi(absl::string_view(input.page_token.data(), dot), &offset)) {
      return absl::InvalidArgumentError("page_token: not from this query");
    }
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));

  std::vector<std::string> orgs;
  // An organization_id the caller cannot see is an unknown object (kNotFound), not a
  // filter to drop silently.
  const std::string unknown_org =
      "organization_id: organization " + f.organization_id + " not found";
  if (internal::Has(access.cross_organization(), Permission::kView)) {
    if (!f.organization_id.empty()) {
      auto org = snap.Get<store::Organization>(f.organization_id);
      if (absl::IsNotFound(org.status())) return absl::NotFoundError(unknown_org);
      MASA_RETURN_IF_ERROR(org.status());
      orgs.push_back(f.organization_id);
    } else {
      MASA_ASSIGN_OR_RETURN(auto all, snap.List<store::Organization>());
      for (const auto& o : all) orgs.push_back(o.id);
    }
  } else {
    if (!f.organization_id.empty() && f.organization_id != caller.organization_id()) {
      return absl::NotFoundError(unknown_org);
    }
    orgs.push_back(caller.organization_id());
  }
  std::vector<VoucherInfo> rows;
  for (const auto& org : orgs) {
    bool whole_org = Authorize(access, Permission::kView, org, org).ok();
    MASA_ASSIGN_OR_RETURN(auto vouchers,
                          snap.VouchersByOrganization(org, f.requested_from, f.requested_to));
    for (const auto& v : vouchers) {
      if (!f.serial_number.empty() && v.serial_number != f.serial_number) continue;
      if (!req_key.empty() && v.request_id != req_key) continue;
      if (!f.assertion.empty() && v.assertion != f.assertion) continue;
      if (!f.pdc_organization.empty() && v.pdc_organization != f.pdc_organization) continue;
      if (!f.requested_by.empty() && v.requested_by != f.requested_by &&
          v.requested_by_name != f.requested_by) {
        continue;
      }
      bool archived = IsArchived(v);
      if (f.archived && *f.archived != archived) continue;
      VoucherInfo info = ToInfo(v);
      if (f.status && info.status != *f.status) continue;
      if (!whole_org && !AuthorizedVoucher(access, Permission::kView, v.id).ok()) continue;
      rows.push_back(std::move(info));
    }
  }
  auto less = [&](const VoucherInfo& a, const VoucherInfo& b) {
    if (input.group_by) {
      int g = Compare(a, b, *input.group_by);
      if (g != 0) return input.descending ? g > 0 : g < 0;
    }
    int c = Compare(a, b, input.sort_by);
    if (c == 0) c = a.voucher_id.compare(b.voucher_id);
    return input.descending ? c > 0 : c < 0;
  };
  std::sort(rows.begin(), rows.end(), less);

  VoucherPage page;
  page.total = rows.size();
  if (input.group_by) {
    for (const auto& r : rows) {
      std::string value = ColumnText(r, *input.group_by);
      if (page.groups.empty() || page.groups.back().value != value) {
        page.groups.push_back({value, 0});
      }
      ++page.groups.back().count;
    }
  }
  for (size_t i = offset; i < rows.size() && page.vouchers.size() < page_size; ++i) {
    page.vouchers.push_back(std::move(rows[i]));
  }
  if (offset + page_size < rows.size()) {
    page.next_page_token = absl::StrCat(offset + page_size, ".", fingerprint);
  }
  return page;
}

}  // namespace masa::service
