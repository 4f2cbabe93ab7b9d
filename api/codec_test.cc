// Decoding refuses every malformed body with kInvalidArgument naming the field; encoding
// uses the documented field names.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "api/internal/codec.h"
#include "api/internal/json_body.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace masa::api::internal {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n";

struct BadBody {
  const char* name;
  std::string body;
  const char* must_mention;  // the field (or problem) the message must name
};

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::vector<BadBody> BadVoucherRequests() {
  std::string ok_pdc = std::string("\"pdc\":\"") + kPem + "\"";
  std::string many = "[";
  for (int i = 0; i < 1001; ++i) many += (i ? ",\"s" : "\"s") + std::to_string(i) + "\"";
  many += "]";
  return {
      {"empty", "", "empty"},
      {"not json", "{serial_numbers: 1}", "not valid JSON"},
      {"truncated", "{\"serial_numbers\": [\"a\"", "not valid JSON"},
      {"trailing garbage", "{} {}", "not valid JSON"},
      {"array", "[1,2]", "must be a JSON object"},
      {"string", "\"x\"", "must be a JSON object"},
      {"invalid utf8", "{\"serial_numbers\":[\"\xff\xfe\"]," + ok_pdc + "}", "UTF-8"},
      {"overlong utf8", "{\"serial_numbers\":[\"\xc0\xaf\"]," + ok_pdc + "}", "UTF-8"},
      {"nesting bomb", "{\"a\":" + Nested(100000) + "}", "deeper"},
      {"missing serials", "{" + ok_pdc + "}", "serial_numbers"},
      {"serials not array", "{\"serial_numbers\":\"SN1\"," + ok_pdc + "}", "serial_numbers"},
      {"serials empty", "{\"serial_numbers\":[]," + ok_pdc + "}", "serial_numbers"},
      {"serial not string", "{\"serial_numbers\":[1]," + ok_pdc + "}", "serial_numbers[0]"},
      {"serial empty", "{\"serial_numbers\":[\"\"]," + ok_pdc + "}", "serial_numbers[0]"},
      {"serial with NUL", "{\"serial_numbers\":[\"a\\u0000b\"]," + ok_pdc + "}",
       "serial_numbers[0]"},
      {"too many serials", "{\"serial_numbers\":" + many + "," + ok_pdc + "}", "serial_numbers"},
      {"unknown field", "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"colour\":1}", "colour"},
      {"pdc not string", "{\"serial_numbers\":[\"a\"],\"pdc\":5}", "pdc"},
      {"no pdc and no cert_id", "{\"serial_numbers\":[\"a\"]}", "cert_id"},
      {"pdc and cert_id", "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"cert_id\":\"c\"}",
       "cert_id"},
      {"expires_at not a time",
       "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"expires_at\":\"tomorrow\"}", "expires_at"},
      {"expires_at number", "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"expires_at\":5}",
       "expires_at"},
      {"override string", "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"override\":\"yes\"}",
       "override"},
      {"os_type object", "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"os_type\":{}}", "os_type"},
      {"platform_cert array", "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"platform_cert\":[]}",
       "platform_cert"},
      {"security_profile bool",
       "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"security_profile\":true}", "security_profile"},
      {"ien number", "{\"serial_numbers\":[\"a\"]," + ok_pdc + ",\"ien\":9}", "ien"},
      {"huge pdc", "{\"serial_numbers\":[\"a\"],\"pdc\":\"" + std::string(70000, 'A') + "\"}",
       "pdc"},
  };
}

TEST(DecodeVoucherRequestTest, RefusesEachMalformedBodyNamingTheField) {
  for (const BadBody& bad : BadVoucherRequests()) {
    SCOPED_TRACE(bad.name);
    absl::StatusOr<service::VoucherRequestInput> in = DecodeVoucherRequest(bad.body);
    ASSERT_FALSE(in.ok());
    EXPECT_EQ(in.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(in.status().message()), HasSubstr(bad.must_mention));
  }
}

TEST(DecodeVoucherRequestTest, AcceptsEveryDocumentedField) {
  std::string body = std::string("{\"serial_numbers\":[\"SN1\",\"SN2\"],\"ien\":\"9\",") +
                     "\"pdc\":\"" + kPem + "\",\"platform_cert\":\"" + kPem + "\"," +
                     "\"expires_at\":\"2030-01-02T03:04:05Z\",\"os_type\":\"ios-xe\"," +
                     "\"override\":true,\"security_profile\":\"revocation-checks\"}";
  absl::StatusOr<service::VoucherRequestInput> in = DecodeVoucherRequest(body);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->serial_numbers, (std::vector<std::string>{"SN1", "SN2"}));
  EXPECT_EQ(in->ien, "9");
  EXPECT_THAT(in->pdc_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(in->platform_certificate_pem, HasSubstr("BEGIN CERTIFICATE"));
  ASSERT_TRUE(in->expires_at.has_value());
  EXPECT_EQ(absl::ToUnixSeconds(*in->expires_at), 1893553445);
  EXPECT_EQ(in->os_type, "ios-xe");
  EXPECT_TRUE(in->override_conflicts);
  EXPECT_EQ(in->security_profile, "revocation-checks");

  absl::StatusOr<service::VoucherRequestInput> by_id =
      DecodeVoucherRequest(R"({"serial_numbers":["a"],"cert_id":"pdc-1","ien":null})");
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->pdc_cert_id, "pdc-1");
  EXPECT_TRUE(by_id->pdc_pem.empty());
}

TEST(DecodeOtherBodiesTest, RefuseMalformedInputNamingTheField) {
  struct Case {
    const char* name;
    std::function<absl::Status(std::string_view)> decode;
    std::string body;
    const char* must_mention;
  };
  auto st = [](auto f) {
    return [f](std::string_view b) -> absl::Status { return f(b).status(); };
  };
  std::vector<Case> cases = {
      {"renew bad time", st(DecodeRenew), R"({"expires_at":"2020-13-01T00:00:00Z"})", "expires_at"},
      {"renew unknown", st(DecodeRenew), R"({"expires":"x"})", "expires"},
      {"pdc missing certificate", st(DecodePdc), R"({"name":"x"})", "certificate"},
      {"pdc group number", st(DecodePdc), R"({"certificate":"x","group_id":3})", "group_id"},
      {"user missing", st(DecodeUsername), R"({})", "username"},
      {"user array", st(DecodeUsername), R"({"username":["a"]})", "username"},
      {"account missing", st(DecodeAccountName), R"({"username":"a"})", "name"},
      {"binding role", st(DecodeBinding), R"({"principal_id":"p","group_id":"g","role":"god"})",
       "role"},
      {"binding missing group", st(DecodeBinding), R"({"principal_id":"p","role":"admin"})",
       "group_id"},
      {"grant unknown", st(DecodeGrant), R"({"grant":"delete"})", "grant"},
      {"group missing parent", st(DecodeGroup), R"({"name":"n"})", "parent_id"},
      {"token days string", st(DecodeToken), R"({"validity_days":"30"})", "validity_days"},
      {"token days float", st(DecodeToken), R"({"validity_days":1.5})", "validity_days"},
      {"token days huge", st(DecodeToken), R"({"validity_days":18446744073709551615})",
       "validity_days"},
      {"token days negative", st(DecodeToken), R"({"validity_days":-1})", "validity_days"},
      {"token unknown", st(DecodeToken), R"({"secret":"x"})", "secret"},
      {"assign missing org", st(DecodeAssign), R"({"serials":[{"serial_number":"a"}]})",
       "organization_id"},
      {"assign serial not object", st(DecodeAssign),
       R"({"organization_id":"org-a","serials":["a"]})", "serials[0]"},
      {"assign serial missing number", st(DecodeAssign),
       R"({"organization_id":"org-a","serials":[{"serial_number":"a"},{"model":"m"}]})",
       "serials[1].serial_number"},
      {"assign serial unknown field", st(DecodeAssign),
       R"({"organization_id":"org-a","serials":[{"serial_number":"a","colour":1}]})",
       "serials[0].colour"},
      {"assign empty", st(DecodeAssign), R"({"organization_id":"org-a","serials":[]})", "serials"},
      {"place missing group", st(DecodePlace), R"({"serials":[{"serial_number":"a"}]})",
       "group_id"},
      {"pdc expiry number", st(DecodePdc), R"({"certificate":"x","expiry_time":5})", "expiry_time"},
      {"assign mac number", st(DecodeAssign),
       R"({"organization_id":"org-a","serials":[{"serial_number":"a","mac_addr":1}]})",
       "serials[0].mac_addr"},
      {"assign tpm padding", st(DecodeAssign),
       R"({"organization_id":"org-a","serials":[{"serial_number":"a",
           "tpm_info":{"platform_primary_key":"AA"}}]})",
       "serials[0].tpm_info.platform_primary_key"},
      {"delegated org missing", st(DecodeDelegatedOrg), R"({"org_id":"org-b"})", "organization_id"},
      {"user role kind", [](std::string_view b) { return DecodeUserRole(b, "org-a").status(); },
       R"({"username":"a","kind":"bot","role":"admin"})", "kind"},
      {"user role missing role",
       [](std::string_view b) { return DecodeUserRole(b, "org-a").status(); },
       R"({"username":"a"})", "role"},
      {"lookup serial not object", st(DecodeSerialLookup), R"({"serials":[1]})", "serials[0]"},
      {"lookup too many", st(DecodeSerialLookup),
       R"({"serials":[)" + absl::StrJoin(std::vector<std::string>(1001, "{}"), ",") + "]}",
       "serials: must hold 1 to 1000 items, not 1001"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::Status s = c.decode(c.body);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.must_mention));
  }
}

TEST(DecodeOtherBodiesTest, OptionalBodiesMayBeEmpty) {
  EXPECT_TRUE(DecodeRenew("").ok());
  EXPECT_TRUE(DecodeToken("  \n").ok());
  absl::StatusOr<service::TokenInput> t =
      DecodeToken(R"({"validity_days":30,"description":"ztp"})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->validity, absl::Hours(24 * 30));
  absl::StatusOr<service::AssignInput> a = DecodeAssign(
      R"({"organization_id":"org-a","serials":[{"serial_number":"a","ien":"9","model":"X"}]})");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->serials.at(0).model, "X");
}

// Issue 10: a DOM parser keeps the last of duplicate members, so
// {"serial_numbers":["A"],"serial_numbers":["B"]} could mean B to one reader and A to
// another. Every body decoder refuses it, naming the key.
TEST(DecodeDuplicateMembersTest, EveryBodyDecoderRefusesADuplicateKeyNamingIt) {
  const std::string body = R"({"serial_numbers":["A"],"serial_numbers":["B"]})";
  auto st = [](auto f) {
    return [f](std::string_view b) -> absl::Status { return f(b).status(); };
  };
  std::vector<std::pair<const char*, std::function<absl::Status(std::string_view)>>> decoders = {
      {"voucher request", st(DecodeVoucherRequest)},
      {"renew", st(DecodeRenew)},
      {"pdc", st(DecodePdc)},
      {"username", st(DecodeUsername)},
      {"account name", st(DecodeAccountName)},
      {"binding", st(DecodeBinding)},
      {"grant", st(DecodeGrant)},
      {"group", st(DecodeGroup)},
      {"token", st(DecodeToken)},
      {"organization", st(DecodeOrganization)},
      {"assign", st(DecodeAssign)},
      {"place", st(DecodePlace)},
      {"delegated org", st(DecodeDelegatedOrg)},
      {"user role", [](std::string_view b) { return DecodeUserRole(b, "org-a").status(); }},
      {"serial lookup", st(DecodeSerialLookup)},
      {"json object", [](std::string_view b) { return ParseJsonObject(b, true).status(); }},
  };
  for (const auto& [name, decode] : decoders) {
    SCOPED_TRACE(name);
    absl::Status s = decode(body);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("\"serial_numbers\" twice"));
  }
  // Also one level down, and when the two values are equal.
  absl::Status nested =
      DecodeAssign(
          R"({"organization_id":"org-a","serials":[{"serial_number":"a","serial_number":"a"}]})")
          .status();
  EXPECT_EQ(nested.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nested.message()), HasSubstr("\"serial_number\" twice"));
}

// Found by api_json_body_fuzz in its 10-minute run ({"bers":["A"],"":["A"],"":["B"]}): the
// empty key doubled as "no duplicate yet", so a body with "" twice was accepted and kept the
// last value, which another JSON reader could read as the first.
TEST(DecodeDuplicateMembersTest, TheEmptyKeyTwiceIsADuplicateToo) {
  absl::Status s = ParseJsonObject(R"({"bers":["A"],"":["A"],"":["B"]})", false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("the key \"\" twice"));
  EXPECT_FALSE(ParseJsonObject(R"({"a":{"":1,"":1}})", false).ok());
  EXPECT_TRUE(ParseJsonObject(R"({"":1,"a":{"":2}})", false).ok());  // one per object
}

// Found by api_json_body_fuzz: messages quoted a client's key or value as it came, so a
// key holding a newline (or a 100 KB key) went into the problem detail unchanged. The
// messages now show at most 64 bytes of it, as printable ASCII.
TEST(DecodeMessagesTest, QuoteOnlyAShortPrintablePrefixOfTheInput) {
  auto printable_and_short = [](absl::Status s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_LT(s.message().size(), 400u) << s.message();
    for (char c : s.message()) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << s.message();
    }
  };
  std::string long_key(100000, 'k');
  absl::Status dup = ParseJsonObject(R"({"a\nb":1,"a\nb":2})", false).status();
  printable_and_short(dup);
  EXPECT_THAT(std::string(dup.message()), HasSubstr("a\\x0Ab"));
  printable_and_short(
      ParseJsonObject("{\"" + long_key + "\":1,\"" + long_key + "\":2}", false).status());
  absl::Status unknown = DecodeRenew(R"({"x\u0007\ty":1})").status();
  printable_and_short(unknown);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("x\\x07\\x09y: unknown field"));
  printable_and_short(DecodeRenew("{\"" + long_key + "\":1}").status());
  absl::Status time = DecodeRenew(R"({"expires_at":"2027-01-31\n00:00:00Z"})").status();
  printable_and_short(time);
  EXPECT_THAT(std::string(time.message()), HasSubstr("expires_at"));
  absl::Status query = DecodeNoQuery({{"evil\r\nSet-Cookie: x", "1"}});
  printable_and_short(query);
  EXPECT_THAT(std::string(query.message()), HasSubstr("evil\\x0D\\x0ASet-Cookie: x"));
}

TEST(DecodeQueryTest, ListVouchers) {
  Query good = {{"serial_number", "SN1"},         {"status", "issued"},
                {"sort", "expires_at"},           {"order", "asc"},
                {"group_by", "status"},           {"page_size", "10"},
                {"from", "2026-01-01T00:00:00Z"}, {"archived", "false"}};
  absl::StatusOr<service::ListVouchersInput> in = DecodeListVouchers(good);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->sort_by, service::VoucherColumn::kExpiresAt);
  EXPECT_FALSE(in->descending);
  EXPECT_EQ(in->group_by, service::VoucherColumn::kStatus);
  EXPECT_EQ(in->page_size, 10u);
  EXPECT_EQ(in->filter.archived, false);

  struct Case {
    Query query;
    const char* must_mention;
  };
  std::vector<Case> bad = {
      {{{"colour", "red"}}, "colour"},
      {{{"sort", "password"}}, "sort"},
      {{{"order", "up"}}, "order"},
      {{{"page_size", "0"}}, "page_size"},
      {{{"page_size", "10x"}}, "page_size"},
      {{{"page_size", "99999999999999999999999"}}, "page_size"},
      {{{"from", "yesterday"}}, "from"},
      {{{"archived", "1"}}, "archived"},
      {{{"status", "lost"}}, "status"},
      {{{"serial_number", "a"}, {"serial_number", "b"}}, "serial_number"},
      {{{"requested_by", "\xff"}}, "requested_by"},
  };
  for (const Case& c : bad) {
    absl::Status s = DecodeListVouchers(c.query).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.must_mention;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.must_mention));
  }
  EXPECT_FALSE(DecodeAuditQuery({{"limit", "0"}}).ok());
  EXPECT_FALSE(DecodeAuditQuery({{"from", "-1"}}).ok());
  EXPECT_TRUE(DecodeAuditQuery({{"from", "5"}, {"limit", "1000"}}).ok());
}

TEST(DecodeQueryTest, UserAndSerialNamedInThePath) {
  absl::StatusOr<service::UserRef> user =
      DecodeUserQuery("srv-ztp", {{"kind", "service-account"}}, "org-a");
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->username, "srv-ztp");
  EXPECT_EQ(user->kind, service::PrincipalKind::kServiceAccount);
  EXPECT_EQ(user->organization_id, "org-a");  // the caller's, by default
  EXPECT_EQ(DecodeUserQuery("a", {{"organization_id", "org-b"}}, "org-a")->organization_id,
            "org-b");
  EXPECT_EQ(DecodeUserQuery(std::string("a\0b", 3), {}, "org-a").status().message(),
            "username (path): must be 1 to 256 bytes of UTF-8 text without NUL characters");
  EXPECT_FALSE(DecodeUserQuery("\xff", {}, "org-a").ok());
  EXPECT_FALSE(DecodeUserQuery("a", {{"kind", "x"}}, "org-a").ok());
  EXPECT_FALSE(DecodeUserQuery("a", {{"kind", "user"}, {"kind", "user"}}, "org-a").ok());

  absl::StatusOr<service::SerialRef> serial = DecodeSerialQuery("SN-1", {{"ien", "9"}});
  ASSERT_TRUE(serial.ok()) << serial.status();
  EXPECT_EQ(serial->ien, "9");
  EXPECT_EQ(DecodeSerialQuery("SN-1", {})->ien, "");
  EXPECT_FALSE(DecodeSerialQuery(std::string(129, 'S'), {}).ok());
  EXPECT_FALSE(DecodeSerialQuery("SN-1", {{"serial", "x"}}).ok());
}

TEST(EncodeTest, VoucherHasExactlyTheDocumentedMembers) {
  service::VoucherInfo v;
  v.voucher_id = "v-1";
  v.req_id = "r-1";
  v.serial_number = "SN1";
  v.requested_at = absl::FromUnixSeconds(1800000000);
  v.created_at = absl::FromUnixSeconds(1800000001);
  v.expires_at = absl::FromUnixSeconds(1900000000);
  v.assertion = signer::Assertion::kVerified;
  v.status = service::VoucherStatus::kExpired;
  v.organization_id = "org-secret";  // not shown
  v.pdc_id = "pdc-hidden";           // not shown
  json j = VoucherJson(v);
  std::set<std::string> keys;
  for (auto& [k, _] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"req_id", "voucher_id", "requested_at", "created_at",
                                         "expires_at", "last_renewal_at", "assertion", "status",
                                         "serial_number", "pdc_organization", "requested_by"}));
  EXPECT_TRUE(j["last_renewal_at"].is_null());
  EXPECT_EQ(j["requested_at"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(j["assertion"], "verified");
  v.last_renewal_at = absl::FromUnixSeconds(1800000100);
  EXPECT_EQ(VoucherJson(v)["last_renewal_at"], "2027-01-15T08:01:40Z");
}

TEST(EncodeTest, RequestResultBodyIsTheDumpOfItsJson) {
  service::RequestResult r;
  r.req_id = "0192f0c4-7c1e-7a3b-9d2e-4f5a6b7c8d9e";
  r.serials.push_back({"SN-1", "0192f0c4-7c1e-7a3b-9d2e-000000000001",
                       service::SerialStatus::kCompleted, "", absl::StatusCode::kOk});
  r.serials.push_back({"SN-2", "", service::SerialStatus::kFailed, "serial SN-2 not found",
                       absl::StatusCode::kNotFound});
  EXPECT_EQ(RequestResultBody(r), Dump(RequestResultJson(r)));
  EXPECT_EQ(RequestResultBody(r),
            "{\"ok\":true,\"req_id\":\"0192f0c4-7c1e-7a3b-9d2e-4f5a6b7c8d9e\",\"vouchers\":["
            "{\"serial_number\":\"SN-1\",\"status\":\"completed\","
            "\"voucher_id\":\"0192f0c4-7c1e-7a3b-9d2e-000000000001\"},"
            "{\"reason\":\"serial SN-2 not found\",\"serial_number\":\"SN-2\","
            "\"status\":\"failed\",\"voucher_id\":null}]}");
  // Quotes, escapes and bytes beyond ASCII go through the JSON library's own writer.
  r.serials[1].reason = "serial \"SN\\2\"\n is \xc3\xa9 \xff";
  EXPECT_EQ(RequestResultBody(r), Dump(RequestResultJson(r)));
  r.serials.clear();
  EXPECT_EQ(RequestResultBody(r), Dump(RequestResultJson(r)));
}

TEST(EncodeTest, DumpRepairsInvalidUtf8InsteadOfThrowing) {
  json j = {{"pdc_organization", std::string("Ac\xffme")}};
  std::string text = Dump(j);
  EXPECT_THAT(text, HasSubstr("Ac\xef\xbf\xbdme"));
}

TEST(EncodeTest, CertificatePemWrapsAt64Columns) {
  std::string pem = CertificatePem(std::string(100, '\x01'));
  EXPECT_THAT(pem, HasSubstr("-----BEGIN CERTIFICATE-----\n"));
  EXPECT_THAT(pem, HasSubstr("\n-----END CERTIFICATE-----\n"));
  size_t first_line_end = pem.find('\n', 28);
  EXPECT_EQ(first_line_end - 28, 64u);
}

TEST(Utf8Test, Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
}

}  // namespace
}  // namespace masa::api::internal
