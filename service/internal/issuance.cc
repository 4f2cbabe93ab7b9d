#include "service/internal/issuance.h"

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"

namespace masa::service::internal {

namespace {

queue::WorkQueue::Job SignJob(const std::shared_ptr<Fanout>& fan, size_t i, int attempt);

// How an attempt ended, besides its result.
enum class Ending { kRan, kAbandoned, kCancelled };

// Attempt `attempt` of voucher i ended with `r`: claims the voucher for it and finishes it,
// or (first attempt, abandoned) hands it to a second attempt. Only an abandoned call is
// tried again here: an HSM error has been retried below already (the token on a fresh
// session, the token group on another token), and trying it again would multiply attempts. A loser does nothing,
// not even count: the request may be answered and the service (fan->metrics) gone. The
// winner may touch fan->metrics: voucher i is unfinished, so the request is in flight.
void Settle(const std::shared_ptr<Fanout>& fan, size_t i, int attempt,
            absl::StatusOr<std::string> r, Ending ending,
            absl::Duration took = absl::ZeroDuration()) {
  int expected = attempt;
  if (ending == Ending::kAbandoned && attempt == 0) {
    if (!fan->attempt[i].compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return;
    fan->metrics->signatures_abandoned.fetch_add(1, std::memory_order_relaxed);
    fan->metrics->sign_retries.fetch_add(1, std::memory_order_relaxed);
    std::vector<queue::WorkQueue::Job> retry;
    retry.push_back(SignJob(fan, i, 1));
    if (fan->queue->TryEnqueueAll(std::move(retry)).ok()) return;
    // No room for the retry (or shutting down): the first failure stands. The refused job
    // runs neither run nor cancel, so attempt 1 is still ours to settle.
    expected = 1;
  }
  if (!fan->attempt[i].compare_exchange_strong(expected, Fanout::kSettled,
                                               std::memory_order_acq_rel)) {
    return;
  }
  if (ending == Ending::kRan) fan->metrics->sign_latency.Observe(took);
  if (ending == Ending::kAbandoned && attempt == 1) {
    fan->metrics->signatures_abandoned.fetch_add(1, std::memory_order_relaxed);
  }
  if (!r.ok()) fan->metrics->sign_failures.fetch_add(1, std::memory_order_relaxed);
  fan->Finish(i, std::move(r));
}

queue::WorkQueue::Job SignJob(const std::shared_ptr<Fanout>& fan, size_t i, int attempt) {
  return {.run =
              [fan, i, attempt] {
                absl::Time start = absl::Now();
                const auto& [voucher, type] = fan->tasks[i];
                const signer::VoucherSigner* s = fan->keys->For(type);
                absl::StatusOr<std::string> cms =
                    s ? s->Sign(voucher)
                      : absl::FailedPreconditionError("no signer for the content type");
                Settle(fan, i, attempt, std::move(cms), Ending::kRan, absl::Now() - start);
              },
          .cancel =
              [fan, i, attempt] {
                Settle(fan, i, attempt, absl::UnavailableError("signing was cancelled"),
                       Ending::kCancelled);
              },
          .abandon =
              [fan, i, attempt] {
                Settle(fan, i, attempt,
                       absl::UnavailableError("the HSM did not answer in time (call abandoned)"),
                       Ending::kAbandoned);
              }};
}

}  // namespace

void Fanout::Finish(size_t i, absl::StatusOr<std::string> r) {
  results[i] = std::move(r);
  if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) on_done(std::move(results));
}

absl::Status Enqueue(queue::WorkQueue& queue, const std::shared_ptr<Fanout>& fan) {
  fan->results.assign(fan->tasks.size(), absl::UnknownError("not signed"));
  fan->attempt = std::make_unique<std::atomic<int>[]>(fan->tasks.size());
  for (size_t i = 0; i < fan->tasks.size(); ++i) fan->attempt[i].store(0);
  fan->remaining = fan->tasks.size();
  fan->queue = &queue;
  std::vector<queue::WorkQueue::Job> jobs;
  for (size_t i = 0; i < fan->tasks.size(); ++i) jobs.push_back(SignJob(fan, i, 0));
  return queue.TryEnqueueAll(std::move(jobs));
}

bool Retryable(const absl::Status& s) {
  return !s.ok() && !absl::IsInvalidArgument(s) && !absl::IsFailedPrecondition(s);
}

absl::Status SigningFailure(const std::vector<absl::StatusOr<std::string>>& cms) {
  for (const auto& c : cms) {
    if (c.ok()) continue;
    if (!Retryable(c.status())) {
      return absl::Status(c.status().code(), absl::StrCat("signing failed, no voucher issued: ",
                                                          c.status().message()));
    }
    return absl::UnavailableError(
        absl::StrCat("signing failed, no voucher issued: ", c.status().message(), "; retry later"));
  }
  return absl::OkStatus();
}

std::vector<std::string> CmsDigests(const std::vector<absl::StatusOr<std::string>>& cms) {
  std::vector<std::string> out;
  out.reserve(cms.size());
  for (const auto& c : cms) out.push_back(Sha256(*c));
  return out;
}

absl::Status StillRequestable(const store::Reader& txn, const Planned& p,
                              const std::string& principal, const std::string& vendor_org,
                              std::optional<AccessContext>& access) {
  const store::Voucher& v = p.record;
  auto c = txn.Get<store::Component>(store::ComponentKey(v.ien, v.serial_number));
  if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
  if (!c.ok() || c->organization_id != v.organization_id) {
    return absl::NotFoundError("serial " + v.serial_number + " not found");
  }
  if (c->group_id == p.group_id) return absl::OkStatus();
  if (!access) {
    MASA_ASSIGN_OR_RETURN(AccessContext loaded,
                          AccessContext::Load(txn, principal, v.organization_id, vendor_org));
    access.emplace(std::move(loaded));
  }
  return Authorize(*access, Permission::kRequest, c->group_id, "serial " + v.serial_number);
}

absl::Status CountSignatures(store::WriteTxn& txn, const std::string& key_id, size_t signatures,
                             absl::Time at) {
  if (signatures == 0) return absl::OkStatus();
  auto key = txn.Get<store::KeyRecord>(key_id);
  if (absl::IsNotFound(key.status())) return absl::OkStatus();
  MASA_RETURN_IF_ERROR(key.status());
  if (!key->first_used_at) key->first_used_at = at;
  if (!key->last_used_at || *key->last_used_at < at) key->last_used_at = at;
  key->signatures += signatures;
  return txn.Put(*key);
}

}  // namespace masa::service::internal
