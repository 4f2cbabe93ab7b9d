#include "api/grpc/grpc_server.h"

#include <chrono>
#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "api/grpc/internal/ovgs_service.h"
#include "common/status.h"
#include "common/utf8.h"
#include "queue/work_queue.h"
#include "service/service.h"

namespace masa::api {
namespace {

// Answers a method nobody serves with UNIMPLEMENTED that names it and says what is served
// (gRPC's own answer has no message).
class UnknownMethods final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(const std::string& method) {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            absl::StrCat("no method ", ShowUntrusted(method, 128),
                                         " here; masad serves ovgs.v1.OwnershipVoucherService "
                                         "(server reflection lists its methods)")));
      }
      void OnDone() override { delete this; }
    };
    return new Reactor(context->method());
  }
};

class GrpcServerImpl final : public GrpcServer {
 public:
  GrpcServerImpl(std::unique_ptr<queue::WorkQueue> workers,
                 std::unique_ptr<grpc_internal::OvgsService> service)
      : workers_(std::move(workers)), service_(std::move(service)) {}

  ~GrpcServerImpl() override { Shutdown(absl::ZeroDuration()); }

  absl::Status Listen(GrpcServerOptions& options) {
    grpc::SslServerCredentialsOptions tls(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    tls.pem_key_cert_pairs.push_back(
        {std::string(options.tls_key_pem.view()), options.tls_chain_pem});
    // Once, before the first builder: every server lists its services to reflection clients.
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    const std::string target = options.address.find(':') != std::string::npos
                                   ? absl::StrCat("[", options.address, "]:", options.port)
                                   : absl::StrCat(options.address, ":", options.port);
    builder.AddListeningPort(target, grpc::SslServerCredentials(tls), &port_);
    OPENSSL_cleanse(tls.pem_key_cert_pairs[0].private_key.data(),
                    tls.pem_key_cert_pairs[0].private_key.size());
    options.tls_key_pem = Secret();
    builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_receive_message_bytes));
    builder.SetMaxSendMessageSize(static_cast<int>(options.max_send_message_bytes));
    builder.RegisterService(service_.get());
    builder.RegisterCallbackGenericService(&unknown_methods_);
    // Calls in flight on one connection; the worker queue bounds them across connections.
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 256);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      server_.reset();
      return absl::UnavailableError(absl::StrCat(
          "gRPC cannot listen on ", target,
          " (address in use or not local, or the TLS certificate and key do not match)"));
    }
    return absl::OkStatus();
  }

  uint16_t port() const override { return static_cast<uint16_t>(port_); }

  void Shutdown(absl::Duration drain) override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(drain));
      server_->Wait();
      server_.reset();
    }
    // Every call is answered; wait for the workers to return from the last ones.
    workers_->Shutdown();
  }

 private:
  std::unique_ptr<queue::WorkQueue> workers_;
  std::unique_ptr<grpc_internal::OvgsService> service_;
  UnknownMethods unknown_methods_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace

GrpcServices GrpcServices::Of(service::Service& service) {
  return {.authenticator = &service,
          .organizations = &service,
          .principals = &service,
          .pdcs = &service,
          .serials = &service,
          .voucher_requests = &service};
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(GrpcServerOptions options,
                                                              GrpcServices services) {
  const GrpcServices& s = services;
  if (!s.authenticator || !s.organizations || !s.principals || !s.pdcs || !s.serials ||
      !s.voucher_requests) {
    return absl::InvalidArgumentError("GrpcServer: every one of the services is required");
  }
  if (options.tls_chain_pem.empty() || options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError("GrpcServer: a TLS certificate chain and key are required");
  }
  if (options.handler_threads == 0 || options.handler_queue_capacity == 0) {
    return absl::InvalidArgumentError("GrpcServer: handler threads and queue must be positive");
  }
  MASA_ASSIGN_OR_RETURN(auto workers,
                        queue::WorkQueue::Create({.workers = options.handler_threads,
                                                  .capacity = options.handler_queue_capacity,
                                                  .max_batch = 1,
                                                  .name = "masa-grpc"}));
  auto service = std::make_unique<grpc_internal::OvgsService>(services, workers.get());
  auto server = std::make_unique<GrpcServerImpl>(std::move(workers), std::move(service));
  MASA_RETURN_IF_ERROR(server->Listen(options));
  return server;
}

}  // namespace masa::api
