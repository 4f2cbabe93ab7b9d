// --prefill N: fills a state's store with N vouchers written directly through the store
// library (store::Store, one writer, many vouchers per transaction), so that the load
// phases run against a store that already holds what years of service would leave: voucher
// records (the CMS of a real signed voucher reused), their serial, organization and request
// indexes, request records, components and audit entries, with serial numbers of their
// own (PF-000000000...) outside the load's pool. masad must not run meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace masa::bench {

struct PrefillOptions {
  std::string state_dir;
  uint64_t vouchers = 0;
  int vouchers_per_request = 20;  // one request record (and its audit entry) per this many
  int requests_per_batch = 50;    // one WriteBatch (nested transaction) per this many
  int batches_in_flight = 8;      // submitted ahead; the writer groups them into one commit
  // Called now and then from the calling thread with the vouchers written so far.
  std::function<void(uint64_t)> progress;
};

struct PrefillResult {
  uint64_t vouchers = 0;
  double seconds = 0;
  uint64_t data_bytes = 0;   // size of data.mdb afterwards (allocated blocks)
  uint64_t added_bytes = 0;  // what the prefill added to it
};

// The template is the first voucher in the store (so masad must have issued one: run a
// phase first), with its request record and component. Errors: kFailedPrecondition when
// the store holds no voucher yet; any store error as it came.
absl::StatusOr<PrefillResult> Prefill(const PrefillOptions& options);

}  // namespace masa::bench
