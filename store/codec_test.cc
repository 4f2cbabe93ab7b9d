// The record encoding of fields whose layout changed: old records are still read, and are
// written back in the current layout.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "store/internal/codec.h"
#include "store/internal/record_fields.h"
#include "store/records.h"

namespace masa::store {
namespace {

void Field(std::string* out, uint32_t tag, std::string_view value) {
  internal::PutVarint(out, tag);
  internal::PutVarint(out, value.size());
  out->append(value);
}

// Whether `bytes` (a whole record) has a field with `tag`.
bool HasTag(std::string_view bytes, uint32_t tag) {
  bool found = false;
  EXPECT_TRUE(internal::ForEachField(bytes, [&](uint32_t t, std::string_view, std::string_view) {
                found = found || t == tag;
              }).ok());
  return found;
}

// A request record as builds before integer failure codes wrote it: each serial's
// absl::StatusCode as decimal text under tag 16.
std::string OldRequestRecord() {
  std::string bytes(1, static_cast<char>(internal::kEncodingVersion));
  Field(&bytes, 1, "019acc3c-4c7b-7012-8d15-9e26af37bc00");
  Field(&bytes, 6, "SN-1");
  Field(&bytes, 6, "SN-2");
  Field(&bytes, 6, "SN-3");
  Field(&bytes, 8, "failed");
  Field(&bytes, 15, "SN-1");
  Field(&bytes, 16, "5");  // kNotFound
  Field(&bytes, 17, "not a serial number of your organization");
  Field(&bytes, 15, "SN-3");
  Field(&bytes, 16, "13");  // kInternal
  Field(&bytes, 17, "signing failed");
  return bytes;
}

TEST(CodecTest, OldDecimalFailureCodesAreReadAndRewrittenAsIntegers) {
  VoucherRequest old;
  ASSERT_TRUE(internal::Decode(OldRequestRecord(), &old).ok());
  EXPECT_EQ(old.failed_serials, (std::vector<std::string>{"SN-1", "SN-3"}));
  EXPECT_EQ(old.failure_codes, (std::vector<absl::StatusCode>{absl::StatusCode::kNotFound,
                                                              absl::StatusCode::kInternal}));
  EXPECT_EQ(old.failure_reasons[1], "signing failed");
  EXPECT_EQ(old.unknown_fields, "") << "the old field was kept as unknown";

  std::string rewritten = internal::Encode(old);
  EXPECT_FALSE(HasTag(rewritten, 16)) << "decimal text written again";
  EXPECT_TRUE(HasTag(rewritten, 18));
  VoucherRequest again;
  ASSERT_TRUE(internal::Decode(rewritten, &again).ok());
  EXPECT_EQ(again.failure_codes, old.failure_codes);
  EXPECT_EQ(again.failed_serials, old.failed_serials);
}

TEST(CodecTest, IntegerFailureCodesRoundTripInOrder) {
  VoucherRequest r;
  r.id = "r";
  r.failed_serials = {"A", "B", "C"};
  r.failure_codes = {absl::StatusCode::kAlreadyExists, absl::StatusCode::kPermissionDenied,
                     absl::StatusCode::kInvalidArgument};
  r.failure_reasons = {"a", "b", "c"};
  VoucherRequest decoded;
  ASSERT_TRUE(internal::Decode(internal::Encode(r), &decoded).ok());
  EXPECT_EQ(decoded.failure_codes, r.failure_codes);
}

TEST(CodecTest, AnOldFailureCodeThatIsNotDecimalIsDataLoss) {
  std::string bytes(1, static_cast<char>(internal::kEncodingVersion));
  Field(&bytes, 1, "r");
  Field(&bytes, 16, "5x");
  VoucherRequest r;
  EXPECT_TRUE(absl::IsDataLoss(internal::Decode(bytes, &r)));
}

// A key record as builds before the key lifecycle wrote it (tags 1..8 only).
TEST(CodecTest, AnOldKeyRecordDecodesWithUnusedCountersAndNoChain) {
  KeyRecord was;
  was.id = "key-0123456789abcdef";
  was.uri = "pkcs11:token=masa;object=masa-signing;type=private";
  was.purpose = "voucher-signing";
  was.state = KeyState::kActive;
  was.certificate_der = "leaf";
  was.activated_at = absl::FromUnixSeconds(9);
  std::string bytes = internal::Encode(was);
  for (uint32_t tag = 9; tag <= 16; ++tag) EXPECT_FALSE(HasTag(bytes, tag)) << tag;
  KeyRecord old;
  ASSERT_TRUE(internal::Decode(bytes, &old).ok());
  EXPECT_EQ(old.state, KeyState::kActive);
  EXPECT_EQ(old.signatures, 0u);
  EXPECT_FALSE(old.first_used_at.has_value());
  EXPECT_TRUE(old.chain_der.empty());
  EXPECT_EQ(old.unknown_fields, "");
}

TEST(CodecTest, KeyRecordAndApprovalRoundTrip) {
  KeyRecord k;
  k.id = "key-1";
  k.algorithm = "ed25519";
  k.chain_der = {"leaf", "ca"};
  k.public_key_der = std::string("\x30\x00", 2);
  k.created_by = "org-vendor.p-1";
  k.label = "masa-voucher-signing-key-1";
  k.first_used_at = absl::FromUnixSeconds(10);
  k.last_used_at = absl::FromUnixSeconds(20);
  k.signatures = 12345678901ull;
  KeyRecord kd;
  ASSERT_TRUE(internal::Decode(internal::Encode(k), &kd).ok());
  EXPECT_EQ(kd.algorithm, k.algorithm);
  EXPECT_EQ(kd.chain_der, k.chain_der);
  EXPECT_EQ(kd.public_key_der, k.public_key_der);
  EXPECT_EQ(kd.created_by, k.created_by);
  EXPECT_EQ(kd.label, k.label);
  EXPECT_EQ(kd.first_used_at, k.first_used_at);
  EXPECT_EQ(kd.last_used_at, k.last_used_at);
  EXPECT_EQ(kd.signatures, k.signatures);

  KeyApprovalRecord a;
  a.id = "apr-1";
  a.key_id = "key-1";
  a.action = "activate";
  a.approved_by = {"org-vendor.p-1", "org-vendor.p-2"};
  a.required = 3;
  a.created_at = absl::FromUnixSeconds(100);
  a.expires_at = absl::FromUnixSeconds(200);
  KeyApprovalRecord ad;
  ASSERT_TRUE(internal::Decode(internal::Encode(a), &ad).ok());
  EXPECT_EQ(ad.key_id, a.key_id);
  EXPECT_EQ(ad.action, a.action);
  EXPECT_EQ(ad.approved_by, a.approved_by);
  EXPECT_EQ(ad.required, 3u);
  EXPECT_EQ(ad.created_at, a.created_at);
  EXPECT_EQ(ad.expires_at, a.expires_at);
}

}  // namespace
}  // namespace masa::store
