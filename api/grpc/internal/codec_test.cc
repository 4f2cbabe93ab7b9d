#include "api/grpc/internal/codec.h"

#include "gtest/gtest.h"

namespace masa::api::grpc_internal {
namespace {

TEST(GrpcCodec, ComponentFieldsAreRequiredAndNamed) {
  ovgs::v1::Component c;
  EXPECT_EQ(DecodeComponent("component", false, c).status().message(), "component is required");
  c.set_serial_number("SN-1");
  EXPECT_EQ(DecodeComponent("component[2]", true, c).status().message(),
            "component[2].ien is required");
  c.set_ien("9");
  auto ok = DecodeComponent("component", true, c);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->ien, "9");
  EXPECT_EQ(ok->serial_number, "SN-1");
}

TEST(GrpcCodec, RolesBothWaysAndTheOnesOvgsCannotName) {
  for (auto [wire, role] : {std::pair{ovgs::v1::USER_ROLE_SUPPORT, service::Role::kSupport},
                            std::pair{ovgs::v1::USER_ROLE_ADMIN, service::Role::kAdmin},
                            std::pair{ovgs::v1::USER_ROLE_ASSIGNER, service::Role::kAssigner},
                            std::pair{ovgs::v1::USER_ROLE_REQUESTOR, service::Role::kRequestor}}) {
    EXPECT_EQ(*DecodeRole("user_role", wire), role);
    EXPECT_EQ(EncodeRole(role), wire);
  }
  EXPECT_EQ(DecodeRole("user_role", ovgs::v1::USER_ROLE_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeRole("user_role", static_cast<ovgs::v1::UserRole>(17)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeRole(service::Role::kViewer), ovgs::v1::USER_ROLE_UNSPECIFIED);
  EXPECT_EQ(EncodeRole(service::Role::kAccountTeam), ovgs::v1::USER_ROLE_UNSPECIFIED);
}

TEST(GrpcCodec, UserTupleNeedsEveryField) {
  EXPECT_EQ(DecodeUser("", ovgs::v1::ACCOUNT_TYPE_USER, "org-a").status().message(),
            "username is required");
  EXPECT_EQ(DecodeUser("admin", ovgs::v1::ACCOUNT_TYPE_USER, "").status().message(),
            "org_id is required");
  EXPECT_EQ(DecodeUser("admin", ovgs::v1::ACCOUNT_TYPE_UNSPECIFIED, "org-a").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto sa = DecodeUser("srv-ztp", ovgs::v1::ACCOUNT_TYPE_SERVICE_ACCOUNT, "org-a");
  ASSERT_TRUE(sa.ok());
  EXPECT_EQ(sa->kind, service::PrincipalKind::kServiceAccount);
  EXPECT_EQ(EncodeKind(sa->kind), ovgs::v1::ACCOUNT_TYPE_SERVICE_ACCOUNT);
}

TEST(GrpcCodec, TimestampsRoundTripAndBadOnesAreRefused) {
  google::protobuf::Timestamp t;
  EXPECT_EQ(DecodeTime("lifetime", false, t).status().message(), "lifetime is required");
  for (absl::Time when :
       {absl::FromUnixSeconds(1700000000) + absl::Nanoseconds(5),
        absl::FromUnixSeconds(-86400) + absl::Milliseconds(250), absl::UnixEpoch()}) {
    EncodeTime(when, &t);
    EXPECT_GE(t.nanos(), 0);
    auto back = DecodeTime("lifetime", true, t);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, when);
  }
  t.set_nanos(-1);
  EXPECT_EQ(DecodeTime("lifetime", true, t).status().code(), absl::StatusCode::kInvalidArgument);
  t.set_nanos(0);
  t.set_seconds(int64_t{400000} * 365 * 86400);  // year ~402000
  EXPECT_EQ(DecodeTime("lifetime", true, t).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GrpcCodec, TpmInfoSetsOneKindOfEndorsementData) {
  ovgs::v1::GetSerialResponse out;
  service::SerialDetails serial;
  serial.tpm.ek_certificate = "cert";
  serial.tpm.platform_primary_key = "ppk";
  serial.group_ids = {"org-a.g-1", "org-a"};
  EncodeSerial(serial, &out);
  EXPECT_EQ(out.tpm_info().ek_data_case(), ovgs::v1::TpmInfo::kEkCertificate);
  EXPECT_EQ(out.tpm_info().platform_primary_key(), "ppk");
  ASSERT_EQ(out.group_ids_size(), 2);
  EXPECT_EQ(out.group_ids(1), "org-a");
  serial.tpm.endorsement_key = "ek";
  out.Clear();
  EncodeSerial(serial, &out);
  EXPECT_EQ(out.tpm_info().endorsement_key(), "ek");
  EXPECT_EQ(out.tpm_info().ek_data_case(), ovgs::v1::TpmInfo::kEndorsementKey);
}

}  // namespace
}  // namespace masa::api::grpc_internal
