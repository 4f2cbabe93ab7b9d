// What a stored voucher shows as its status (VoucherInfo.status), shared by the request
// pipeline (vouchers.cc) and the listing (voucher_list.cc).
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "store/records.h"

namespace masa::service::internal {

inline constexpr std::string_view kIssued = "issued";
inline constexpr std::string_view kExpired = "expired";
inline constexpr std::string_view kArchived = "archived";

inline bool IsArchived(const store::Voucher& v) { return v.archived_at || v.status == kArchived; }

// "archived", else "expired" once expires_at has passed at `now`, else "issued".
inline std::string StatusOf(const store::Voucher& v, absl::Time now) {
  if (IsArchived(v)) return std::string(kArchived);
  if (v.expires_at <= now) return std::string(kExpired);
  return std::string(kIssued);
}

}  // namespace masa::service::internal
