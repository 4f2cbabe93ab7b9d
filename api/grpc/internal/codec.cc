#include "api/grpc/internal/codec.h"

#include "absl/strings/str_cat.h"
#include "common/time.h"

namespace masa::api::grpc_internal {
namespace {

absl::Status Missing(std::string_view field) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), " is required"));
}

}  // namespace

absl::StatusOr<service::SerialRef> DecodeComponent(std::string_view field, bool present,
                                                   const ovgs::v1::Component& component) {
  if (!present) return Missing(field);
  if (component.ien().empty()) return Missing(absl::StrCat(std::string(field), ".ien"));
  if (component.serial_number().empty()) {
    return Missing(absl::StrCat(std::string(field), ".serial_number"));
  }
  return service::SerialRef{.ien = component.ien(), .serial_number = component.serial_number()};
}

void EncodeComponent(const service::SerialRef& serial, ovgs::v1::Component* out) {
  out->set_ien(serial.ien);
  out->set_serial_number(serial.serial_number);
}

absl::StatusOr<service::UserRef> DecodeUser(const std::string& username,
                                            ovgs::v1::AccountType user_type,
                                            const std::string& org_id) {
  if (username.empty()) return Missing("username");
  if (org_id.empty()) return Missing("org_id");
  service::UserRef user{.username = username, .organization_id = org_id};
  switch (user_type) {
    case ovgs::v1::ACCOUNT_TYPE_USER:
      user.kind = service::PrincipalKind::kUser;
      return user;
    case ovgs::v1::ACCOUNT_TYPE_SERVICE_ACCOUNT:
      user.kind = service::PrincipalKind::kServiceAccount;
      return user;
    default:
      return absl::InvalidArgumentError(
          "user_type is required: ACCOUNT_TYPE_USER or ACCOUNT_TYPE_SERVICE_ACCOUNT");
  }
}

absl::StatusOr<service::Role> DecodeRole(std::string_view field, ovgs::v1::UserRole role) {
  switch (role) {
    case ovgs::v1::USER_ROLE_SUPPORT:
      return service::Role::kSupport;
    case ovgs::v1::USER_ROLE_ADMIN:
      return service::Role::kAdmin;
    case ovgs::v1::USER_ROLE_ASSIGNER:
      return service::Role::kAssigner;
    case ovgs::v1::USER_ROLE_REQUESTOR:
      return service::Role::kRequestor;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(field),
                       " is required: USER_ROLE_ADMIN, USER_ROLE_ASSIGNER, USER_ROLE_REQUESTOR or "
                       "USER_ROLE_SUPPORT"));
  }
}

ovgs::v1::UserRole EncodeRole(service::Role role) {
  switch (role) {
    case service::Role::kSupport:
      return ovgs::v1::USER_ROLE_SUPPORT;
    case service::Role::kAdmin:
      return ovgs::v1::USER_ROLE_ADMIN;
    case service::Role::kAssigner:
      return ovgs::v1::USER_ROLE_ASSIGNER;
    case service::Role::kRequestor:
      return ovgs::v1::USER_ROLE_REQUESTOR;
    default:
      return ovgs::v1::USER_ROLE_UNSPECIFIED;
  }
}

ovgs::v1::AccountType EncodeKind(service::PrincipalKind kind) {
  return kind == service::PrincipalKind::kServiceAccount ? ovgs::v1::ACCOUNT_TYPE_SERVICE_ACCOUNT
                                                         : ovgs::v1::ACCOUNT_TYPE_USER;
}

absl::StatusOr<absl::Time> DecodeTime(std::string_view field, bool present,
                                      const google::protobuf::Timestamp& time) {
  if (!present) return Missing(field);
  if (time.nanos() < 0 || time.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ".nanos must be 0 to 999999999"));
  }
  absl::Time t = absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
  if (!InRfc3339Range(t)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), " must lie in the years 0001 to 9999"));
  }
  return t;
}

void EncodeTime(absl::Time time, google::protobuf::Timestamp* out) {
  const absl::Duration since = time - absl::UnixEpoch();
  int64_t seconds = absl::ToInt64Seconds(since);
  int64_t nanos = absl::ToInt64Nanoseconds(since - absl::Seconds(seconds));
  if (nanos < 0) {  // before 1970: the fraction counts forward from the second before
    seconds -= 1;
    nanos += 1000000000;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

void EncodeTpm(const service::TpmInfo& tpm, ovgs::v1::TpmInfo* out) {
  if (!tpm.endorsement_key.empty()) {
    out->set_endorsement_key(tpm.endorsement_key);
  } else if (!tpm.ek_certificate.empty()) {
    out->set_ek_certificate(tpm.ek_certificate);
  }
  out->set_platform_primary_key(tpm.platform_primary_key);
}

// OVGS deprecates public_key_der for tpm_info; old clients still read it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void SetDeprecatedPublicKey(const service::TpmInfo& tpm, ovgs::v1::GetSerialResponse* out) {
  out->set_public_key_der(tpm.endorsement_key);
}
void SetDeprecatedPublicKey(const service::TpmInfo& tpm,
                            ovgs::v1::GetOwnershipVoucherResponse* out) {
  out->set_public_key_der(tpm.endorsement_key);
}
#pragma GCC diagnostic pop

void EncodeSerial(const service::SerialDetails& serial, ovgs::v1::GetSerialResponse* out) {
  SetDeprecatedPublicKey(serial.tpm, out);
  for (const std::string& id : serial.group_ids) out->add_group_ids(id);
  out->set_mac_addr(serial.mac_addr);
  out->set_model(serial.model);
  EncodeTpm(serial.tpm, out->mutable_tpm_info());
}

}  // namespace masa::api::grpc_internal
