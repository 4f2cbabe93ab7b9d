// Reading vouchers and requests: get, download (CMS files) and list with filters, sorting,
// grouping and paging.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "service/types.h"
#include "service/voucher_types.h"

namespace masa::service {

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
class VoucherViews {
 public:
  virtual ~VoucherViews() = default;

  // kNotFound unless the caller may view the voucher.
  virtual absl::StatusOr<VoucherInfo> GetVoucher(const Caller& caller,
                                                 std::string_view voucher_id) const = 0;
  // Needs download. Archived vouchers can still be downloaded.
  virtual absl::StatusOr<VoucherFile> DownloadVoucher(const Caller& caller,
                                                      std::string_view voucher_id) const = 0;
  // The request and those of its vouchers the caller may view; kNotFound when none.
  virtual absl::StatusOr<RequestInfo> GetRequest(const Caller& caller,
                                                 std::string_view req_id) const = 0;
  // Every voucher of the request the caller may download, in request order; kNotFound when
  // the caller may view none, kPermissionDenied when it may view but download none.
  virtual absl::StatusOr<std::vector<VoucherFile>> DownloadRequest(
      const Caller& caller, std::string_view req_id) const = 0;
  // The vouchers the caller may view, filtered, sorted (ties by voucher_id), grouped and
  // paged. Page tokens are opaque and bound to the filter and sort; one from another query
  // is kInvalidArgument, and so is a req_id filter that is not a request id. Pages are
  // offsets into the current result: a voucher issued between two calls may shift the
  // pages by one.
  virtual absl::StatusOr<VoucherPage> ListVouchers(const Caller& caller,
                                                   const ListVouchersInput& input) const = 0;
};

}  // namespace masa::service
