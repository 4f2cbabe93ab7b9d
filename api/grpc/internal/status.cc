#include "api/grpc/internal/status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace masa::api::grpc_internal {

const GrpcErrorClass& GrpcErrorClassFor(absl::StatusCode code) {
  using C = absl::StatusCode;
  using G = grpc::StatusCode;
  static const GrpcErrorClass kOk{G::OK, true};
  static const GrpcErrorClass kCancelled{G::CANCELLED, true};
  static const GrpcErrorClass kUnknown{G::UNKNOWN, false};
  static const GrpcErrorClass kInvalidArgument{G::INVALID_ARGUMENT, true};
  static const GrpcErrorClass kDeadlineExceeded{G::DEADLINE_EXCEEDED, true};
  static const GrpcErrorClass kNotFound{G::NOT_FOUND, true};
  static const GrpcErrorClass kAlreadyExists{G::ALREADY_EXISTS, true};
  static const GrpcErrorClass kPermissionDenied{G::PERMISSION_DENIED, true};
  static const GrpcErrorClass kResourceExhausted{G::RESOURCE_EXHAUSTED, true};
  static const GrpcErrorClass kFailedPrecondition{G::FAILED_PRECONDITION, true};
  static const GrpcErrorClass kAborted{G::ABORTED, true};
  static const GrpcErrorClass kOutOfRange{G::OUT_OF_RANGE, true};
  static const GrpcErrorClass kUnimplemented{G::UNIMPLEMENTED, true};
  static const GrpcErrorClass kInternal{G::INTERNAL, false};
  static const GrpcErrorClass kUnavailable{G::UNAVAILABLE, true};
  static const GrpcErrorClass kDataLoss{G::DATA_LOSS, false};
  static const GrpcErrorClass kUnauthenticated{G::UNAUTHENTICATED, true};
  switch (code) {
    case C::kOk:
      return kOk;
    case C::kCancelled:
      return kCancelled;
    case C::kUnknown:
      return kUnknown;
    case C::kInvalidArgument:
      return kInvalidArgument;
    case C::kDeadlineExceeded:
      return kDeadlineExceeded;
    case C::kNotFound:
      return kNotFound;
    case C::kAlreadyExists:
      return kAlreadyExists;
    case C::kPermissionDenied:
      return kPermissionDenied;
    case C::kResourceExhausted:
      return kResourceExhausted;
    case C::kFailedPrecondition:
      return kFailedPrecondition;
    case C::kAborted:
      return kAborted;
    case C::kOutOfRange:
      return kOutOfRange;
    case C::kUnimplemented:
      return kUnimplemented;
    case C::kInternal:
      return kInternal;
    case C::kUnavailable:
      return kUnavailable;
    case C::kDataLoss:
      return kDataLoss;
    case C::kUnauthenticated:
      return kUnauthenticated;
    default:
      return kUnknown;  // a code absl may add later
  }
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const GrpcErrorClass& c = GrpcErrorClassFor(status.code());
  if (c.show_detail) return grpc::Status(c.code, std::string(status.message()));
  Log(LogLevel::kError, absl::StrCat("grpc: ", status.ToString()));
  return grpc::Status(c.code, "internal error; the operator's log has the details");
}

}  // namespace masa::api::grpc_internal
