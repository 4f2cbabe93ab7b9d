// The one write path (internal/operation.h): every change of the service runs here.
#include "service/internal/operation.h"

#include <cstdlib>

#include "common/log.h"
#include "common/status.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

namespace internal {

const AccessContext& Operation::access() const {
  if (access_ == nullptr) {
    // A body that needs a caller's access in an operation run without one: a broken
    // invariant of this file's callers, not an input error.
    Log(LogLevel::kError, "service: Operation::access() without a caller");
    std::abort();
  }
  return *access_;
}

absl::StatusOr<uint64_t> Operation::Audit(std::string action, std::string target,
                                          std::string outcome, std::string object_hash) {
  return txn_.Append(Event(actor_, std::move(action), std::move(target), std::move(outcome),
                           std::move(object_hash)));
}

}  // namespace internal

absl::Status ServiceImpl::Run(const Caller* caller,
                              absl::FunctionRef<absl::Status(internal::Operation&)> body) {
  store::WriteBatch batch;
  // Write waits for the batch, so the references the op holds outlive it.
  batch.Do([this, caller, &body](store::WriteTxn& txn) -> absl::Status {
    if (caller == nullptr) {
      internal::Operation op(txn, std::string(internal::kBootstrapActor), nullptr);
      return body(op);
    }
    MASA_ASSIGN_OR_RETURN(internal::AccessContext access, Access(*caller, txn));
    internal::Operation op(txn, caller->principal_id(), &access);
    return body(op);
  });
  return store_->Write(std::move(batch)).status();
}

void ServiceImpl::SubmitOperation(std::string actor,
                                  std::function<absl::Status(internal::Operation&)> body,
                                  std::function<void(absl::StatusOr<store::CommitResult>)> done) {
  store::WriteBatch batch;
  batch.Do([actor = std::move(actor), body = std::move(body)](store::WriteTxn& txn) {
    internal::Operation op(txn, actor, nullptr);
    return body(op);
  });
  store_->Submit(std::move(batch), std::move(done));
}

}  // namespace masa::service
