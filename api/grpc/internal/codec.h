// Between the OVGS messages (ovgs.proto) and the service's structs: components, users,
// roles, TPM data and times. Decoders check what the handlers need and answer
// kInvalidArgument naming the request field.
#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/grpc/ovgs.pb.h"
#include "service/serials.h"
#include "service/types.h"

namespace masa::api::grpc_internal {

// A component with both fields set (ien and serial_number; else kInvalidArgument naming
// `field`.ien or `field`.serial_number). `present` is false when the message field was
// not sent at all ("<field> is required").
absl::StatusOr<service::SerialRef> DecodeComponent(std::string_view field, bool present,
                                                   const ovgs::v1::Component& component);
void EncodeComponent(const service::SerialRef& serial, ovgs::v1::Component* out);

// The user tuple of AddUserRole, RemoveUserRole and GetUserRole: username, user_type
// (USER or SERVICE_ACCOUNT) and org_id all required.
absl::StatusOr<service::UserRef> DecodeUser(const std::string& username,
                                            ovgs::v1::AccountType user_type,
                                            const std::string& org_id);

// USER_ROLE_SUPPORT, _ADMIN, _ASSIGNER, _REQUESTOR; UNSPECIFIED or unknown: kInvalidArgument
// naming `field`.
absl::StatusOr<service::Role> DecodeRole(std::string_view field, ovgs::v1::UserRole role);
// The OVGS role of a service role: requestor, assigner, admin, support as themselves; the
// roles OVGS has no name for (viewer, and the vendor's account-team and security-officer)
// as USER_ROLE_UNSPECIFIED.
ovgs::v1::UserRole EncodeRole(service::Role role);
ovgs::v1::AccountType EncodeKind(service::PrincipalKind kind);

// A Timestamp sent in `field` (`present` false: "<field> is required"); kInvalidArgument
// when it is not a valid Timestamp or outside the years 0001..9999.
absl::StatusOr<absl::Time> DecodeTime(std::string_view field, bool present,
                                      const google::protobuf::Timestamp& time);
void EncodeTime(absl::Time time, google::protobuf::Timestamp* out);

void EncodeTpm(const service::TpmInfo& tpm, ovgs::v1::TpmInfo* out);
// The deprecated public_key_der of both answers: the endorsement key (tpm_info has it too).
void SetDeprecatedPublicKey(const service::TpmInfo& tpm, ovgs::v1::GetSerialResponse* out);
void SetDeprecatedPublicKey(const service::TpmInfo& tpm,
                            ovgs::v1::GetOwnershipVoucherResponse* out);
// GetSerialResponse of one serial (public_key_der: the endorsement key, for old clients).
void EncodeSerial(const service::SerialDetails& serial, ovgs::v1::GetSerialResponse* out);

}  // namespace masa::api::grpc_internal
