// The OVGS gRPC API (api/grpc/ovgs.proto: package ovgs.v1, service OwnershipVoucherService)
// on a TLS listener of its own, with server reflection. Handlers decode, authenticate the
// call's token through the service, call the service, and encode; every permission decision
// stays in service/. This header names neither gRPC nor protobuf, so that only this folder
// depends on them.
//
//   MASA_ASSIGN_OR_RETURN(auto grpc, api::GrpcServer::Start(
//       {.address = "127.0.0.1", .port = 0, .tls_chain_pem = chain, .tls_key_pem = key},
//       api::GrpcServices::Of(*service)));
//   printf("port %d\n", grpc->port());
//   ...
//   grpc->Shutdown(absl::Seconds(20));
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "service/authentication.h"
#include "service/organizations.h"
#include "service/pdcs.h"
#include "service/principals.h"
#include "service/serials.h"
#include "service/voucher_requests.h"

namespace masa::service {
class Service;
}  // namespace masa::service

namespace masa::api {

// The service interfaces the gRPC API calls: every one is required, none is owned, and each
// must outlive the GrpcServer. In the daemon one service::Service implements them all (Of()).
struct GrpcServices {
  const service::Authenticator* authenticator = nullptr;
  service::Organizations* organizations = nullptr;
  service::Principals* principals = nullptr;
  service::Pdcs* pdcs = nullptr;
  service::Serials* serials = nullptr;
  service::VoucherRequests* voucher_requests = nullptr;

  // Every interface of `service`, which must outlive the GrpcServer.
  static GrpcServices Of(service::Service& service);
};

struct GrpcServerOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal, or a host name
  uint16_t port = 0;                  // 0: any free port (see port())
  std::string tls_chain_pem;          // the server certificate first, then its chain
  Secret tls_key_pem;                 // its private key, PEM (wiped once gRPC has it)
  // The largest request message taken (larger: RESOURCE_EXHAUSTED), and the largest answer
  // (GetOwnershipVouchers of many components).
  size_t max_receive_message_bytes = 4 * 1024 * 1024;
  size_t max_send_message_bytes = 64 * 1024 * 1024;
  // Threads that run the handlers (service calls may wait for a durable store commit,
  // which must not hold gRPC's own threads), and how many calls may wait for one; beyond
  // that a call is answered RESOURCE_EXHAUSTED.
  size_t handler_threads = 4;
  size_t handler_queue_capacity = 1024;
};

class GrpcServer {
 public:
  // Listens and serves until Shutdown(). kInvalidArgument for a missing service, TLS
  // identity or thread count; kUnavailable when the address cannot be listened on (in use,
  // not local); kInvalidArgument naming the PEM when gRPC refuses the TLS identity.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(GrpcServerOptions options,
                                                           GrpcServices services);

  // Shuts down (waiting for nothing more) if Shutdown() was not called.
  virtual ~GrpcServer() = default;

  // The port listened on (the one picked when options.port was 0).
  virtual uint16_t port() const = 0;

  // Stops taking calls, lets calls in flight finish for up to `drain` (a voucher call then
  // still answers once its voucher is durable), cancels what is left, and returns once
  // every call has been answered. Idempotent. Not from a handler thread.
  virtual void Shutdown(absl::Duration drain) = 0;
};

}  // namespace masa::api
