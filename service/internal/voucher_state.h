// What a stored voucher shows as its status (VoucherInfo.status), shared by the request
// pipeline (voucher_requests.cc), the views (voucher_views.cc), the listing
// (voucher_list.cc) and serial reassignment (serials.cc).
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "service/types.h"
#include "store/records.h"

namespace masa::service::internal {

// store::Voucher::status holds the name (service.h StatusName) of the status the voucher
// was given when written: completed, then archived or superseded. Expired is computed from
// expires_at, never stored. Records written before store schema 5 said "issued"; the
// migration renamed them.
inline std::string StoredStatus(VoucherStatus status) { return std::string(StatusName(status)); }

// Archived: archived_at is the one source of truth, here, in the store's pin index
// (store/internal/indexes.cc) and in CountsAsLive below. ArchiveVoucher still writes
// status "archived" too, for earlier builds reading the same store, but nothing reads it.
// Every record ever archived has archived_at: the field came with the voucher record
// itself, and the one write that archives sets both in the same Put.
inline bool IsArchived(const store::Voucher& v) { return v.archived_at.has_value(); }
// Its serial was reassigned to another organization: it no longer counts as live, cannot be
// renewed, and stays viewable and downloadable by its organization as history.
inline bool IsSuperseded(const store::Voucher& v) {
  return v.superseded_at || v.status == StatusName(VoucherStatus::kSuperseded);
}

// Archived, else superseded, else expired once expires_at has passed at `now`, else
// completed.
inline VoucherStatus StatusOf(const store::Voucher& v, absl::Time now) {
  if (IsArchived(v)) return VoucherStatus::kArchived;
  if (IsSuperseded(v)) return VoucherStatus::kSuperseded;
  if (v.expires_at <= now) return VoucherStatus::kExpired;
  return VoucherStatus::kCompleted;
}

// True while the voucher counts for the conflict check: neither archived nor superseded,
// and not expired at `now`.
inline bool CountsAsLive(const store::VoucherSummary& v, absl::Time now) {
  return !v.archived_at && !v.superseded_at && v.status != StatusName(VoucherStatus::kSuperseded) &&
         v.expires_at > now;
}

// A request's status from how many of its serials got a voucher and how many did not.
inline RequestStatus RequestStatusOf(size_t completed, size_t failed) {
  return failed == 0      ? RequestStatus::kCompleted
         : completed == 0 ? RequestStatus::kFailed
                          : RequestStatus::kPartial;
}

}  // namespace masa::service::internal
