// The one table that maps absl::StatusCode to gRPC status codes for the OVGS API.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace masa::api::grpc_internal {

// How one absl::StatusCode is answered over gRPC.
struct GrpcErrorClass {
  grpc::StatusCode code;
  bool show_detail;  // the status message goes to the client (else a generic text, logged)
};

// THE table. The canonical codes carry the same meaning in both (kInvalidArgument
// INVALID_ARGUMENT, kNotFound NOT_FOUND, ...); the service's messages are written for the
// client and pass through, except those of kInternal, kUnknown and kDataLoss, which are
// logged and answered with a generic text, as the REST API does with its 500s.
const GrpcErrorClass& GrpcErrorClassFor(absl::StatusCode code);

// The gRPC status of a service answer; OK for OK. The message never holds more than the
// service's own message (which never holds a token).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace masa::api::grpc_internal
