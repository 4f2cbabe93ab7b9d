#include "signer/voucher_json.h"

#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/time.h"
#include "signer/internal/test_pki.h"

namespace masa::signer {
namespace {

using testing::TestNow;

Voucher FullVoucher() {
  Voucher v;
  v.created_on = TestNow();
  v.expires_on = TestNow() + absl::Hours(24) + absl::Milliseconds(250);
  v.assertion = Assertion::kAgentProximity;
  v.serial_number = "SN-\"quoted\"\\-\xc3\xa9";
  v.idevid_issuer = std::string("\x00\x01\xfe\xff", 4);
  v.pinned_domain_cert = std::string("\x30\x82\x01\x00 pretend DER", 16);
  v.domain_cert_revocation_checks = true;
  v.pinned_domain_pubk = "spki";
  v.pinned_domain_pubk_sha256 = std::string(32, '\x5a');
  v.last_renewal_date = TestNow() + absl::Hours(24 * 30);
  v.est_domain = "https://est.example.com/";
  v.additional_configuration = "https://config.example.com/x";
  v.platform_key_certificate = std::string("\x30\x82\x02\x00 pretend PK", 15);
  return v;
}

void ExpectRejected(const std::string& json, const std::string& member) {
  auto v = DecodeVoucherJson(json);
  ASSERT_FALSE(v.ok()) << json;
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(v.status().message()).find(member), std::string::npos)
      << "message \"" << v.status().message() << "\" does not name " << member;
}

std::string Wrap(const std::string& inner) { return "{\"ietf-voucher:voucher\":{" + inner + "}}"; }

TEST(VoucherJsonTest, EncodesCompactInFixedOrder) {
  Voucher v;
  v.assertion = Assertion::kVerified;  // set out of order on purpose
  v.serial_number = "SN1";
  v.nonce = "0123456789abcdef";
  v.created_on = ParseRfc3339("2021-04-13T17:43:24.589-04:00").value();
  v.pinned_domain_cert = "abc";
  auto json = EncodeVoucherJson(v);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            "{\"ietf-voucher:voucher\":{\"created-on\":\"2021-04-13T21:43:24.589Z\","
            "\"assertion\":\"verified\",\"serial-number\":\"SN1\","
            "\"pinned-domain-cert\":\"YWJj\",\"nonce\":\"MDEyMzQ1Njc4OWFiY2RlZg==\"}}");
}

TEST(VoucherJsonTest, EncodesEveryLeafAndRoundTrips) {
  Voucher v = FullVoucher();
  auto json = EncodeVoucherJson(v);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->find(' '), std::string::npos);
  // Order of the YANG module.
  const char* order[] = {"created-on",
                         "expires-on",
                         "assertion",
                         "serial-number",
                         "idevid-issuer",
                         "pinned-domain-cert",
                         "domain-cert-revocation-checks",
                         "pinned-domain-pubk\"",
                         "pinned-domain-pubk-sha256",
                         "last-renewal-date",
                         "est-domain",
                         "additional-configuration",
                         "masa-extended-voucher:platform-key-certificate"};
  size_t last = 0;
  for (const char* leaf : order) {
    size_t at = json->find(std::string("\"") + leaf);
    ASSERT_NE(at, std::string::npos) << leaf;
    EXPECT_GT(at, last) << leaf << " out of order in " << *json;
    last = at;
  }
  EXPECT_NE(json->find("\"domain-cert-revocation-checks\":true"), std::string::npos);
  EXPECT_NE(json->find("\"expires-on\":\"2030-01-02T00:00:00.25Z\""), std::string::npos);
  EXPECT_NE(json->find("\"idevid-issuer\":\"AAH+/w==\""), std::string::npos);
  auto back = DecodeVoucherJson(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v);
  // Canonical: encoding the decoded voucher gives the same bytes.
  EXPECT_EQ(EncodeVoucherJson(*back).value(), *json);
}

TEST(VoucherJsonTest, BinaryLeavesAreStandardBase64OfEveryLength) {
  for (size_t n = 8; n <= 12; ++n) {  // every remainder mod 3, with and without padding
    Voucher v;
    v.nonce = std::string(n, '\xfb');
    auto json = EncodeVoucherJson(v);
    ASSERT_TRUE(json.ok()) << json.status();
    EXPECT_NE(json->find("\"nonce\":\"" + Base64Encode(*v.nonce) + "\""), std::string::npos)
        << *json;
    auto back = DecodeVoucherJson(*json);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->nonce, v.nonce);
  }
}

TEST(VoucherJsonTest, EncodeRejectsInvalidUtf8) {
  Voucher v;
  v.serial_number = "bad\xff";
  auto json = EncodeVoucherJson(v);
  ASSERT_FALSE(json.ok());
  EXPECT_NE(std::string(json.status().message()).find("serial-number"), std::string::npos);
}

TEST(VoucherJsonTest, EmptyVoucherEncodesEmptyObject) {
  EXPECT_EQ(EncodeVoucherJson(Voucher{}).value(), "{\"ietf-voucher:voucher\":{}}");
}

TEST(VoucherJsonTest, AcceptsRfc8995ExampleForms) {
  // Offsets and fractions in times; a base64url nonce without padding.
  auto v = DecodeVoucherJson(
      Wrap("\"assertion\":\"logged\",\"created-on\":\"2021-04-13T17:43:24.589-04:00\","
           "\"serial-number\":\"00-D0-E5-F2-00-02\",\"nonce\":\"-_XE9zK9q8Ll1qylMtLKeg\""));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->created_on, absl::FromUnixMillis(1618350204589));
  ASSERT_TRUE(v->nonce.has_value());
  EXPECT_EQ(v->nonce->size(), 16u);
  EXPECT_EQ(static_cast<unsigned char>((*v->nonce)[0]), 0xfb);
  // The same nonce in standard base64 decodes to the same bytes; and base64url with padding.
  auto std_form = DecodeVoucherJson(Wrap("\"nonce\":\"+/XE9zK9q8Ll1qylMtLKeg==\""));
  ASSERT_TRUE(std_form.ok()) << std_form.status();
  EXPECT_EQ(std_form->nonce, v->nonce);
  auto padded_url = DecodeVoucherJson(Wrap("\"nonce\":\"-_XE9zK9q8Ll1qylMtLKeg==\""));
  ASSERT_TRUE(padded_url.ok()) << padded_url.status();
  EXPECT_EQ(padded_url->nonce, v->nonce);
}

TEST(VoucherJsonTest, BinaryLeavesOtherThanNonceAreStrictBase64) {
  ExpectRejected(Wrap("\"pinned-domain-cert\":\"-_XE9zK9q8Ll1qylMtLKeg\""), "pinned-domain-cert");
  ExpectRejected(Wrap("\"idevid-issuer\":\"AAH+/w\""), "idevid-issuer");
  ExpectRejected(Wrap("\"pinned-domain-pubk\":\"a b=\""), "pinned-domain-pubk");
  ExpectRejected(Wrap("\"nonce\":\"*notbase64*\""), "nonce");
  ExpectRejected(Wrap("\"nonce\":\"+_mixed-alphabets/\""), "nonce");
}

TEST(VoucherJsonTest, RejectsUnknownMembers) {
  ExpectRejected(Wrap("\"colour\":\"blue\""), "colour");
  ExpectRejected(Wrap("\"ietf-voucher:created-on\":\"2021-04-13T17:43:24Z\""),
                 "ietf-voucher:created-on");
  ExpectRejected("{\"ietf-voucher:voucher\":{},\"extra\":1}", "extra");
  ExpectRejected("{\"extra\":1,\"ietf-voucher:voucher\":{}}", "extra");
  ExpectRejected("{\"ietf-voucher-request:voucher\":{}}", "ietf-voucher-request:voucher");
  ExpectRejected("{}", "ietf-voucher:voucher");
}

// The extended ownership voucher: our augmentation is a namespace-qualified member of the
// voucher object (RFC 7951 section 4), base64 DER like pinned-domain-cert, and round-trips.
TEST(VoucherJsonTest, PlatformKeyCertificateIsAQualifiedMemberAndRoundTrips) {
  Voucher v;
  v.serial_number = "SN1";
  v.pinned_domain_cert = "abc";
  v.platform_key_certificate = "pk-der";
  auto json = EncodeVoucherJson(v);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            "{\"ietf-voucher:voucher\":{\"serial-number\":\"SN1\",\"pinned-domain-cert\":\"YWJj\","
            "\"masa-extended-voucher:platform-key-certificate\":\"cGstZGVy\"}}");
  auto back = DecodeVoucherJson(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->platform_key_certificate, "pk-der");
  EXPECT_EQ(*back, v);
  // Only under its module's name, strict base64, at most once, and nowhere else.
  ExpectRejected(Wrap("\"platform-key-certificate\":\"cGstZGVy\""), "platform-key-certificate");
  ExpectRejected(Wrap("\"other-module:platform-key-certificate\":\"cGstZGVy\""),
                 "other-module:platform-key-certificate");
  ExpectRejected(Wrap("\"masa-extended-voucher:platform-key-certificate\":\"-_x\""),
                 "masa-extended-voucher:platform-key-certificate");
  ExpectRejected(Wrap("\"masa-extended-voucher:platform-key-certificate\":\"YWJj\","
                      "\"masa-extended-voucher:platform-key-certificate\":\"YWJj\""),
                 "masa-extended-voucher:platform-key-certificate");
  ExpectRejected(
      "{\"ietf-voucher:voucher\":{},"
      "\"masa-extended-voucher:platform-key-certificate\":\"YWJj\"}",
      "masa-extended-voucher:platform-key-certificate");
}

TEST(VoucherJsonTest, RejectsDuplicateMembers) {
  ExpectRejected(Wrap("\"serial-number\":\"a\",\"serial-number\":\"b\""), "serial-number");
  ExpectRejected("{\"ietf-voucher:voucher\":{},\"ietf-voucher:voucher\":{}}",
                 "ietf-voucher:voucher");
}

TEST(VoucherJsonTest, RejectsWrongJsonTypes) {
  ExpectRejected(Wrap("\"serial-number\":42"), "serial-number");
  ExpectRejected(Wrap("\"created-on\":null"), "created-on");
  ExpectRejected(Wrap("\"domain-cert-revocation-checks\":\"true\""),
                 "domain-cert-revocation-checks");
  ExpectRejected(Wrap("\"assertion\":true"), "assertion");
  ExpectRejected(Wrap("\"nonce\":[\"AAAAAAAAAAA=\"]"), "nonce");
  ExpectRejected(Wrap("\"est-domain\":{\"uri\":\"https://x\"}"), "est-domain");
  ExpectRejected("{\"ietf-voucher:voucher\":[]}", "ietf-voucher:voucher");
  ExpectRejected("{\"ietf-voucher:voucher\":\"x\"}", "ietf-voucher:voucher");
  ExpectRejected("[]", "object");
}

TEST(VoucherJsonTest, RejectsBadValues) {
  ExpectRejected(Wrap("\"assertion\":\"trusted\""), "assertion");
  ExpectRejected(Wrap("\"created-on\":\"yesterday\""), "created-on");
  ExpectRejected(Wrap("\"expires-on\":\"2021-13-01T00:00:00Z\""), "expires-on");
  ExpectRejected(Wrap("\"last-renewal-date\":\"2021-01-01\""), "last-renewal-date");
}

TEST(VoucherJsonTest, RejectsMalformedJsonAndTrailingGarbage) {
  ExpectRejected(Wrap("\"serial-number\":\"a\"") + "x", "malformed");
  ExpectRejected(Wrap("\"serial-number\":\"a\"") + "{}", "malformed");
  ExpectRejected("{\"ietf-voucher:voucher\":{\"serial-number\":\"a\"}", "malformed");
  ExpectRejected("", "malformed");
  ExpectRejected(Wrap("\"serial-number\":\"a\","), "malformed");
}

TEST(VoucherJsonTest, AcceptsInsignificantWhitespaceOnInput) {
  auto v = DecodeVoucherJson(" { \"ietf-voucher:voucher\" : { \"serial-number\" : \"a\" } }\n");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->serial_number, "a");
}

// Fuzzing finding: a decoded year "0221" was encoded as "221-..." and then refused.
TEST(VoucherJsonTest, EarlyYearsRoundTripWithFourDigits) {
  std::string json = Wrap("\"created-on\":\"0221-01-02T03:04:05Z\"");
  auto v = DecodeVoucherJson(json);
  ASSERT_TRUE(v.ok()) << v.status();
  auto encoded = EncodeVoucherJson(*v);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, json);
  auto again = DecodeVoucherJson(*encoded);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *v);
  ExpectRejected(Wrap("\"created-on\":\"0000-01-02T03:04:05Z\""), "created-on");
}

TEST(VoucherJsonTest, EncodingRefusesTimesRfc3339CannotWrite) {
  Voucher v;
  v.created_on = TestNow();
  v.expires_on = MaxRfc3339Time() + absl::Seconds(1);
  auto json = EncodeVoucherJson(v);
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(json.status().message()).find("expires-on"), std::string::npos)
      << json.status();
}

}  // namespace
}  // namespace masa::signer
