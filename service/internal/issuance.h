// The voucher pipeline's shared parts, used by RequestVouchers and RenewVoucher
// (voucher_requests.cc) and IssueComponentVouchers (component_vouchers.cc): the fan-out of
// signatures over the work queue and the ownership re-check a write transaction repeats.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "queue/work_queue.h"
#include "service/internal/authz.h"
#include "service/metrics.h"
#include "service/options.h"
#include "signer/voucher.h"
#include "store/records.h"
#include "store/store.h"

namespace masa::service::internal {

// Signs a set of vouchers on the work queue and calls `on_done` once, on the thread that
// finished the last one, with one result per voucher in order.
struct Fanout {
  std::shared_ptr<const SigningKeys> keys;
  std::vector<std::pair<signer::Voucher, signer::CmsContentType>> tasks;
  std::vector<absl::StatusOr<std::string>> results;
  std::atomic<size_t> remaining{0};
  Metrics* metrics = nullptr;
  std::function<void(std::vector<absl::StatusOr<std::string>>)> on_done;

  void Finish(size_t i, absl::StatusOr<std::string> r);
};

// Queues one signing job per task of `fan`, all or none (the queue's TryEnqueueAll: a full
// queue is kResourceExhausted and nothing runs).
absl::Status Enqueue(queue::WorkQueue& queue, const std::shared_ptr<Fanout>& fan);

// `t` without its sub-second part: vouchers carry whole seconds.
inline absl::Time WholeSeconds(absl::Time t) {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(t));
}

// A serial planned for signing.
struct Planned {
  size_t index;           // in the request's serial list
  std::string group_id;   // the serial's group when the caller was authorized on it
  store::Voucher record;  // everything but cms and audit_seq
};

// In the write transaction of a request: OK while p's serial is still assigned to the
// request's organization (else kNotFound) and, when it was placed in another group since the
// caller was authorized, the caller may request there (else Authorize's refusal). `access`
// is loaded from `txn` the first time it is needed.
absl::Status StillRequestable(const store::Reader& txn, const Planned& p,
                              const std::string& principal, const std::string& vendor_org,
                              std::optional<AccessContext>& access);

// In the write transaction that stores what key `key_id` signed: counts `signatures` more on
// its KeyRecord and sets its first (when unset) and last use to `at`. A key without a record
// (signing keys made before the key lifecycle adopted them, tests) counts nothing. One read
// and one write of a small record per request, in a transaction that writes the vouchers
// anyway.
absl::Status CountSignatures(store::WriteTxn& txn, const std::string& key_id, size_t signatures,
                             absl::Time at);

}  // namespace masa::service::internal
