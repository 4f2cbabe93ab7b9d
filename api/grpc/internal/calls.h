// How every OVGS handler runs: take the token from the call's metadata, move to a worker
// thread of the gRPC layer (service calls may wait for a durable commit, which must not hold
// gRPC's own threads), authenticate, run the handler's body, and answer with the status the
// body gives, mapped by the one table (internal/status.h).
#pragma once

#include <functional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "queue/work_queue.h"
#include "service/authentication.h"

namespace masa::api::grpc_internal {

// Answers a call exactly once with an absl::Status (OK: the response message already
// written). Copyable; any thread.
using Done = std::function<void(const absl::Status&)>;

class Calls {
 public:
  // Neither is owned; both outlive every call.
  Calls(const service::Authenticator* authenticator, queue::WorkQueue* workers)
      : authenticator_(authenticator), workers_(workers) {}

  // A unary call whose body answers synchronously: the call finishes with what `body`
  // returns (OK: the response message is filled in). Runs on a worker thread.
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  std::function<absl::Status(const service::Caller&)> body);

  // A unary call whose body answers through `done`, possibly later on another thread (the
  // voucher pipeline's callback): `body` calls `done` exactly once.
  grpc::ServerUnaryReactor* UnaryAsync(grpc::CallbackServerContext* context,
                                       std::function<void(const service::Caller&, Done done)> body);

  // The lower half of both, for streams: on a worker thread, `job` gets the authenticated
  // caller or the status to answer with (UNAUTHENTICATED, or RESOURCE_EXHAUSTED /
  // UNAVAILABLE when no worker can take the call: then `job` runs on this thread).
  void Authenticated(const grpc::CallbackServerContext* context,
                     std::function<void(absl::StatusOr<service::Caller>)> job);

 private:
  const service::Authenticator* authenticator_;
  queue::WorkQueue* workers_;
};

// The token of the call's "authorization" (Bearer) or "cookie" (access_token) metadata;
// "" when neither holds one.
std::string CallToken(const grpc::CallbackServerContext& context);

// kInvalidArgument "<field> is required" when `value` is empty.
absl::Status Required(std::string_view field, std::string_view value);

}  // namespace masa::api::grpc_internal
