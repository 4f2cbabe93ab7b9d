#include "api/grpc/internal/status.h"

#include "gtest/gtest.h"

namespace masa::api::grpc_internal {
namespace {

TEST(GrpcStatus, EveryCanonicalCodeKeepsItsMeaningAndMessage) {
  struct Case {
    absl::Status in;
    grpc::StatusCode out;
  };
  const Case cases[] = {
      {absl::InvalidArgumentError("component.serial_number is required"),
       grpc::StatusCode::INVALID_ARGUMENT},
      {absl::UnauthenticatedError("token revoked"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::PermissionDeniedError("needs admin"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::NotFoundError("no group g"), grpc::StatusCode::NOT_FOUND},
      {absl::AlreadyExistsError("already a member"), grpc::StatusCode::ALREADY_EXISTS},
      {absl::FailedPreconditionError("has children"), grpc::StatusCode::FAILED_PRECONDITION},
      {absl::ResourceExhaustedError("queue full"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::UnavailableError("retry"), grpc::StatusCode::UNAVAILABLE},
      {absl::UnimplementedError("not yet"), grpc::StatusCode::UNIMPLEMENTED},
      {absl::DeadlineExceededError("late"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::CancelledError("gone"), grpc::StatusCode::CANCELLED},
      {absl::AbortedError("conflict"), grpc::StatusCode::ABORTED},
      {absl::OutOfRangeError("range"), grpc::StatusCode::OUT_OF_RANGE},
  };
  for (const Case& c : cases) {
    grpc::Status s = ToGrpcStatus(c.in);
    EXPECT_EQ(s.error_code(), c.out) << c.in;
    EXPECT_EQ(s.error_message(), c.in.message()) << c.in;
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatus, InternalMessagesStayInTheLog) {
  for (absl::Status in : {absl::InternalError("lmdb: MDB_CORRUPTED at /var/lib/masa"),
                          absl::UnknownError("secret detail"), absl::DataLossError("chain")}) {
    grpc::Status s = ToGrpcStatus(in);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.error_message().find(std::string(in.message())), std::string::npos) << in;
  }
  EXPECT_EQ(ToGrpcStatus(absl::InternalError("x")).error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(ToGrpcStatus(absl::DataLossError("x")).error_code(), grpc::StatusCode::DATA_LOSS);
}

}  // namespace
}  // namespace masa::api::grpc_internal
