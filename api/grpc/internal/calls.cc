#include "api/grpc/internal/calls.h"

#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/grpc/internal/credentials.h"
#include "api/grpc/internal/status.h"

namespace masa::api::grpc_internal {

std::string CallToken(const grpc::CallbackServerContext& context) {
  std::vector<std::string_view> authorization, cookie;
  for (const auto& [key, value] : context.client_metadata()) {
    std::string_view k(key.data(), key.size());
    if (k == "authorization") authorization.emplace_back(value.data(), value.size());
    if (k == "cookie") cookie.emplace_back(value.data(), value.size());
  }
  return TokenOf(authorization, cookie);
}

absl::Status Required(std::string_view field, std::string_view value) {
  if (!value.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), " is required"));
}

void Calls::Authenticated(const grpc::CallbackServerContext* context,
                          std::function<void(absl::StatusOr<service::Caller>)> job) {
  std::string token = CallToken(*context);
  if (token.empty()) {
    job(absl::UnauthenticatedError(
        "no token: send metadata \"authorization: Bearer <token>\" or \"cookie: "
        "access_token=<token>\""));
    return;
  }
  auto shared =
      std::make_shared<std::function<void(absl::StatusOr<service::Caller>)>>(std::move(job));
  queue::WorkQueue::Job work{
      .run = [this, shared,
              token = std::move(token)] { (*shared)(authenticator_->Authenticate(token)); },
      .cancel = [shared] { (*shared)(absl::UnavailableError("masad is shutting down")); }};
  absl::Status queued = workers_->TryEnqueueAll({std::move(work)});
  if (!queued.ok()) {
    (*shared)(absl::Status(
        queued.code(),
        absl::StrCat("masad is too busy to take the call; retry later (", queued.message(), ")")));
  }
}

grpc::ServerUnaryReactor* Calls::UnaryAsync(
    grpc::CallbackServerContext* context,
    std::function<void(const service::Caller&, Done done)> body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Done done = [reactor](const absl::Status& status) { reactor->Finish(ToGrpcStatus(status)); };
  Authenticated(context, [body = std::move(body), done](absl::StatusOr<service::Caller> caller) {
    if (!caller.ok()) {
      done(caller.status());
      return;
    }
    body(*caller, done);
  });
  return reactor;
}

grpc::ServerUnaryReactor* Calls::Unary(grpc::CallbackServerContext* context,
                                       std::function<absl::Status(const service::Caller&)> body) {
  return UnaryAsync(context, [body = std::move(body)](const service::Caller& caller, Done done) {
    done(body(caller));
  });
}

}  // namespace masa::api::grpc_internal
