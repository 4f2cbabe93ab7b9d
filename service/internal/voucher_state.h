// What a stored voucher shows as its status (VoucherInfo.status), shared by the request
// pipeline (vouchers.cc), the listing (voucher_list.cc) and serial reassignment (serials.cc).
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "store/records.h"

namespace masa::service::internal {

inline constexpr std::string_view kIssued = "issued";
inline constexpr std::string_view kExpired = "expired";
inline constexpr std::string_view kArchived = "archived";
// Its serial was reassigned to another organization: it no longer counts as live, cannot be
// renewed, and stays viewable and downloadable by its organization as history.
inline constexpr std::string_view kSuperseded = "superseded";

inline bool IsArchived(const store::Voucher& v) { return v.archived_at || v.status == kArchived; }
inline bool IsSuperseded(const store::Voucher& v) {
  return v.superseded_at || v.status == kSuperseded;
}

// "archived", else "superseded", else "expired" once expires_at has passed at `now`, else
// "issued".
inline std::string StatusOf(const store::Voucher& v, absl::Time now) {
  if (IsArchived(v)) return std::string(kArchived);
  if (IsSuperseded(v)) return std::string(kSuperseded);
  if (v.expires_at <= now) return std::string(kExpired);
  return std::string(kIssued);
}

// True while the voucher counts for the conflict check: neither archived nor superseded,
// and not expired at `now`.
inline bool CountsAsLive(const store::VoucherSummary& v, absl::Time now) {
  return !v.archived_at && v.status != kArchived && !v.superseded_at &&
         v.status != kSuperseded && v.expires_at > now;
}

}  // namespace masa::service::internal
