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
//
// Each voucher completes exactly once although its job's run and abandon (WorkQueue::Job)
// may race: every attempt's outcome first claims the voucher with a compare-and-swap on
// attempt[i] (the attempt that may still complete it, or kSettled); the loser drops its
// result. A signature whose call was abandoned after the queue's run_timeout is tried once
// more, as a new job at the back of the queue (the token group has taken the hung token out
// by then, so it goes to another); its result is final. An HSM error is not retried here:
// the token (a fresh session) and the token group (another token) retried it already.
// Cancellation (shutdown) is final at once.
struct Fanout {
  static constexpr int kSettled = -1;

  std::shared_ptr<const SigningKeys> keys;
  std::vector<std::pair<signer::Voucher, signer::CmsContentType>> tasks;
  std::vector<absl::StatusOr<std::string>> results;
  std::unique_ptr<std::atomic<int>[]> attempt;  // per task: 0, 1 or kSettled
  std::atomic<size_t> remaining{0};
  Metrics* metrics = nullptr;
  queue::WorkQueue* queue = nullptr;  // set by Enqueue, for the retry
  std::function<void(std::vector<absl::StatusOr<std::string>>)> on_done;

  void Finish(size_t i, absl::StatusOr<std::string> r);
};

// Queues one signing job per task of `fan`, all or none (the queue's TryEnqueueAll: a full
// queue is kResourceExhausted and nothing runs).
absl::Status Enqueue(queue::WorkQueue& queue, const std::shared_ptr<Fanout>& fan);

// Whether a failed signature may succeed later: anything but kInvalidArgument (the voucher
// breaks a rule) and kFailedPrecondition (no signer configured), which would fail the same
// way again. The HSM's own errors reach us as kUnavailable from the token or as kInternal
// through the OpenSSL provider; both answer "retry later".
bool Retryable(const absl::Status& s);

// What a request whose signatures are `cms` answers when one of them failed (after its
// retry): nothing is committed and the caller hears kUnavailable ("retry later"), or the
// failure's own code when it is not retryable. OK when every signature succeeded.
absl::Status SigningFailure(const std::vector<absl::StatusOr<std::string>>& cms);

// The SHA-256 of each signed CMS (all of them signed: SigningFailure was OK), for the
// voucher.issue audit entries. Computed on the signing thread that completes the request,
// so the store's one writer thread, which every request waits for, does not hash them.
std::vector<std::string> CmsDigests(const std::vector<absl::StatusOr<std::string>>& cms);

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
