// The OwnershipVoucherService handlers, one file per concept:
//   groups_handlers.cc        groups, delegated organizations, user roles
//   serials_handlers.cc       serials and components (GetComponents streams)
//   domain_certs_handlers.cc  domain certificates
//   vouchers_handlers.cc      ownership vouchers (asynchronous: the signing pipeline)
// Each handler checks the fields it needs (INVALID_ARGUMENT naming the field), calls the
// service as the authenticated caller, and encodes the answer.
#pragma once

#include "api/grpc/grpc_server.h"
#include "api/grpc/internal/calls.h"
#include "api/grpc/ovgs.grpc.pb.h"

namespace masa::api::grpc_internal {

class OvgsService final : public ovgs::v1::OwnershipVoucherService::CallbackService {
 public:
  // Nothing is owned; all outlive the service.
  OvgsService(const GrpcServices& services, queue::WorkQueue* workers)
      : services_(services), calls_(services.authenticator, workers) {}

 private:
  GrpcServices services_;
  Calls calls_;
};

}  // namespace masa::api::grpc_internal
