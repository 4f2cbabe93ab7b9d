#include "service/internal/issuance.h"

#include "common/status.h"

namespace masa::service::internal {

void Fanout::Finish(size_t i, absl::StatusOr<std::string> r) {
  results[i] = std::move(r);
  if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) on_done(std::move(results));
}

absl::Status Enqueue(queue::WorkQueue& queue, const std::shared_ptr<Fanout>& fan) {
  fan->results.assign(fan->tasks.size(), absl::UnknownError("not signed"));
  fan->remaining = fan->tasks.size();
  std::vector<queue::WorkQueue::Job> jobs;
  for (size_t i = 0; i < fan->tasks.size(); ++i) {
    jobs.push_back({[fan, i] {
                      absl::Time start = absl::Now();
                      const auto& [voucher, type] = fan->tasks[i];
                      const signer::VoucherSigner* s = fan->keys->For(type);
                      absl::StatusOr<std::string> cms =
                          s ? s->Sign(voucher)
                            : absl::FailedPreconditionError("no signer for the content type");
                      fan->metrics->sign_latency.Observe(absl::Now() - start);
                      fan->Finish(i, std::move(cms));
                    },
                    [fan, i] { fan->Finish(i, absl::UnavailableError("signing was cancelled")); }});
  }
  return queue.TryEnqueueAll(std::move(jobs));
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
