// The REST routes of what the domain gained for OVGS (issue 11), over the fakes: group
// details, delegated organizations, user roles by (username, kind, organization) tuple,
// serial details and placement removal, the new PDC and serial-assignment fields. Each test
// checks what a client sends reaches the service as it meant, and what the service answers
// reaches the client in the documented shape; errors through the one status table.
#include <set>
#include <string>

#include "api/rest_api.h"
#include "api/testing/test_util.h"
#include "common/base64.h"
#include "common/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace masa::api {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using testing::Call;
using testing::FakeServices;
using testing::MakeRequest;

class RestApiGroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RestApiOptions options;
    options.services = fakes_.services();
    options.handler_threads = 0;
    auto api = RestApi::Create(options);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }

  queue::HttpResponse Do(queue::HttpRequest r) { return Call(*api_, std::move(r)); }

  // The body of an answer with `status`.
  json Expect(const queue::HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // The problem detail of an error answer with `status`.
  std::string Problem(const queue::HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    json body = json::parse(r.body, nullptr, false);
    return body.is_object() ? body.value("detail", "") : "";
  }

  static std::set<std::string> Keys(const json& object) {
    std::set<std::string> keys;
    for (auto& [k, _] : object.items()) keys.insert(k);
    return keys;
  }

  FakeServices fakes_;
  std::unique_ptr<RestApi> api_;
};

TEST_F(RestApiGroupsTest, GroupDetailsShowCertsComponentsUsersChildrenAndDelegatedOrgs) {
  service::GroupDetails& d = fakes_.organizations.details;
  d.group.organization_id = "org-acme";
  d.group.parent_id = "org-acme";
  d.group.name = "lab east";
  d.cert_ids = {"pdc-1"};
  d.components = {{"9", "SN-1"}};
  d.users = {
      {{"srv-ztp", service::PrincipalKind::kServiceAccount, "org-beta"}, service::Role::kRequestor},
      {{"alice@acme.example", service::PrincipalKind::kUser, "org-acme"}, service::Role::kAdmin}};
  d.child_group_ids = {"org-acme.g-3"};
  d.delegated_orgs = {{"org-beta", {"org-acme.g-2"}}, {"*", {"org-acme"}}};

  json body = Expect(Do(MakeRequest("GET", "/groups/org-acme.g-2")), 200);
  const json& g = body["group"];
  EXPECT_EQ(Keys(g), (std::set<std::string>{"group_id", "organization_id", "parent_id", "name",
                                            "created_at", "cert_ids", "components", "users",
                                            "child_group_ids", "delegated_orgs"}));
  EXPECT_EQ(g["group_id"], "org-acme.g-2");
  EXPECT_EQ(g["name"], "lab east");
  EXPECT_EQ(g["cert_ids"], json::array({"pdc-1"}));
  EXPECT_EQ(g["components"], json::parse(R"([{"ien":"9","serial_number":"SN-1"}])"));
  EXPECT_EQ(g["users"], json::parse(R"([
      {"username":"srv-ztp","kind":"service-account","organization_id":"org-beta",
       "role":"requestor"},
      {"username":"alice@acme.example","kind":"user","organization_id":"org-acme",
       "role":"admin"}])"));
  EXPECT_EQ(g["child_group_ids"], json::array({"org-acme.g-3"}));
  EXPECT_EQ(g["delegated_orgs"], json::parse(R"({"*":["org-acme"],"org-beta":["org-acme.g-2"]})"));

  // An empty group has empty lists and an empty object, not nulls.
  fakes_.organizations.details = {};
  json empty = Expect(Do(MakeRequest("GET", "/groups/org-acme")), 200)["group"];
  EXPECT_EQ(empty["users"], json::array());
  EXPECT_EQ(empty["delegated_orgs"], json::object());

  fakes_.organizations.fail_with = absl::NotFoundError("group org-x not found");
  EXPECT_EQ(Problem(Do(MakeRequest("GET", "/groups/org-x")), 404), "group org-x not found");
  queue::HttpRequest query = MakeRequest("GET", "/groups/org-x");
  query.query = {{"verbose", "1"}};
  EXPECT_THAT(Problem(Do(query), 400), HasSubstr("verbose"));
}

// A group's name is what OVGS calls its description: 256 characters, of up to 4 bytes each,
// reach the service, which checks them.
TEST_F(RestApiGroupsTest, AGroupNameMayBeAsLongAsAnOvgsDescription) {
  std::string name;
  for (int i = 0; i < 256; ++i) name += "\xf0\x9f\x93\xa6";  // U+1F4E6, 4 bytes
  json body = {{"parent_id", "org-acme"}, {"name", name}};
  EXPECT_EQ(Do(MakeRequest("POST", "/groups", body.dump())).status, 201);
  body["name"] = name + "x";
  EXPECT_THAT(Problem(Do(MakeRequest("POST", "/groups", body.dump())), 400),
              HasSubstr("name: longer than 1024 bytes"));
}

TEST_F(RestApiGroupsTest, DelegatedOrgsAreAddedByBodyAndRemovedByPath) {
  queue::HttpResponse added = Do(MakeRequest("POST", "/groups/org-acme.g-2/delegated-orgs",
                                             R"({"organization_id":"org-beta"})"));
  EXPECT_EQ(Expect(added, 201), json::parse(R"({"ok":true,"delegation":{"group_id":"org-acme.g-2",
                            "organization_id":"org-beta"}})"));
  EXPECT_EQ(fakes_.organizations.last_delegation,
            std::make_pair(std::string("org-acme.g-2"), std::string("org-beta")));

  EXPECT_EQ(Expect(Do(MakeRequest("DELETE", "/groups/org-acme.g-2/delegated-orgs/*")), 200),
            json::parse(R"({"ok":true})"));
  EXPECT_EQ(fakes_.organizations.last_delegation,
            std::make_pair(std::string("org-acme.g-2"), std::string("*")));

  fakes_.organizations.last_delegation = {};
  EXPECT_THAT(
      Problem(Do(MakeRequest("POST", "/groups/g/delegated-orgs", R"({"org_id":"x"})")), 400),
      HasSubstr("organization_id"));
  EXPECT_THAT(
      Problem(Do(MakeRequest("POST", "/groups/g/delegated-orgs", R"({"organization_id":""})")),
              400),
      HasSubstr("organization_id"));
  EXPECT_TRUE(fakes_.organizations.last_delegation.first.empty()) << "the service was called";

  fakes_.organizations.fail_with = absl::FailedPreconditionError("users of org-beta remain");
  EXPECT_EQ(Problem(Do(MakeRequest("DELETE", "/groups/g/delegated-orgs/org-beta")), 409),
            "users of org-beta remain");
  fakes_.organizations.fail_with = absl::AlreadyExistsError("already delegated");
  Problem(Do(MakeRequest("POST", "/groups/g/delegated-orgs", R"({"organization_id":"org-b"})")),
          409);
}

TEST_F(RestApiGroupsTest, UserRolesByTupleWithTheCallersOrganizationAsDefault) {
  json bound = Expect(Do(MakeRequest("POST", "/groups/org-acme.g-2/users",
                                     R"({"username":"srv-ztp","kind":"service-account",
                                         "organization_id":"org-beta","role":"requestor"})")),
                      201);
  EXPECT_EQ(bound["binding"]["group_id"], "org-acme.g-2");
  EXPECT_EQ(bound["binding"]["role"], "requestor");
  ASSERT_TRUE(fakes_.principals.last_user);
  EXPECT_EQ(fakes_.principals.last_user->username, "srv-ztp");
  EXPECT_EQ(fakes_.principals.last_user->kind, service::PrincipalKind::kServiceAccount);
  EXPECT_EQ(fakes_.principals.last_user->organization_id, "org-beta");
  EXPECT_EQ(fakes_.principals.last_role, service::Role::kRequestor);

  // kind defaults to user, organization_id to the caller's (the fake caller has none; the
  // integration test shows a real one).
  fakes_.principals.last_user->organization_id = "unchanged";
  Expect(Do(MakeRequest("POST", "/groups/g/users", R"({"username":"admin","role":"admin"})")), 201);
  EXPECT_EQ(fakes_.principals.last_user->kind, service::PrincipalKind::kUser);
  EXPECT_EQ(fakes_.principals.last_user->organization_id, "");

  fakes_.principals.last_user.reset();
  EXPECT_EQ(Problem(Do(MakeRequest("POST", "/groups/g/users",
                                   R"({"username":"a","kind":"robot","role":"admin"})")),
                    400),
            "kind: must be one of user, service-account");
  EXPECT_THAT(
      Problem(Do(MakeRequest("POST", "/groups/g/users", R"({"username":"a","role":"owner"})")),
              400),
      HasSubstr("role: must be one of"));
  EXPECT_THAT(Problem(Do(MakeRequest("POST", "/groups/g/users", R"({"role":"admin"})")), 400),
              HasSubstr("username"));
  EXPECT_FALSE(fakes_.principals.last_user) << "the service was called";

  Expect(Do(MakeRequest("DELETE", "/groups/org-acme.g-2/users/bob@beta.example")), 200);
  EXPECT_EQ(fakes_.principals.last_user->username, "bob@beta.example");
  queue::HttpRequest remove = MakeRequest("DELETE", "/groups/g/users/srv-ztp");
  remove.query = {{"kind", "service-account"}, {"organization_id", "org-beta"}};
  Expect(Do(remove), 200);
  EXPECT_EQ(fakes_.principals.last_user->kind, service::PrincipalKind::kServiceAccount);
  EXPECT_EQ(fakes_.principals.last_user->organization_id, "org-beta");
  queue::HttpRequest bad = MakeRequest("DELETE", "/groups/g/users/srv-ztp");
  bad.query = {{"type", "user"}};
  EXPECT_THAT(Problem(Do(bad), 400), HasSubstr("type"));

  fakes_.principals.user_roles = {{"org-acme", service::Role::kAdmin},
                                  {"org-acme.g-2", service::Role::kRequestor}};
  queue::HttpRequest get = MakeRequest("GET", "/users/srv-ztp/roles");
  get.query = {{"kind", "service-account"}, {"organization_id", "org-beta"}};
  EXPECT_EQ(Expect(Do(get), 200), json::parse(R"({"ok":true,
      "user":{"username":"srv-ztp","kind":"service-account","organization_id":"org-beta"},
      "roles":[{"group_id":"org-acme","role":"admin"},
               {"group_id":"org-acme.g-2","role":"requestor"}]})"));

  fakes_.principals.fail_with = absl::AlreadyExistsError("srv-ztp already has a role here");
  Problem(Do(MakeRequest("POST", "/groups/g/users", R"({"username":"a","role":"admin"})")), 409);
  fakes_.principals.fail_with = absl::NotFoundError("no such user");
  Problem(Do(MakeRequest("DELETE", "/groups/g/users/a")), 404);
  Problem(Do(MakeRequest("GET", "/users/a/roles")), 404);
}

TEST_F(RestApiGroupsTest, SerialDetailsCarryGroupsModelMacAndTpmInBase64) {
  service::SerialDetails& d = fakes_.serials.details;
  d.organization_id = "org-acme";
  d.group_ids = {"org-acme.g-2", "org-acme"};
  d.model = "ASR-9001";
  d.mac_addr = "00:1c:73:aa:bb:cc";
  d.tpm.ek_certificate = std::string("\x30\x82\x01\x00", 4);
  d.tpm.platform_primary_key = "ppk";

  queue::HttpRequest one = MakeRequest("GET", "/serial/SN-1");
  one.query = {{"ien", "9"}};
  json serial = Expect(Do(one), 200)["serial"];
  EXPECT_EQ(serial, json::parse(R"({"ien":"9","serial_number":"SN-1",
      "organization_id":"org-acme","group_ids":["org-acme.g-2","org-acme"],
      "model":"ASR-9001","mac_addr":"00:1c:73:aa:bb:cc",
      "tpm_info":{"endorsement_key":null,"ek_certificate":"MIIBAA==",
                  "platform_primary_key":"cHBr"}})"));
  // Without ?ien= the service is given "" (the vendor's IEN).
  EXPECT_EQ(Expect(Do(MakeRequest("GET", "/serial/SN-1")), 200)["serial"]["ien"], "");

  json many = Expect(Do(MakeRequest("POST", "/serials/lookup",
                                    R"({"serials":[{"serial_number":"B"},
                                                   {"ien":"9","serial_number":"A"}]})")),
                     200);
  ASSERT_EQ(many["serials"].size(), 2u);
  EXPECT_EQ(many["serials"][0]["serial_number"], "B");  // in the order asked
  EXPECT_EQ(many["serials"][1]["ien"], "9");
  EXPECT_THAT(Problem(Do(MakeRequest("POST", "/serials/lookup", R"({"serials":[]})")), 400),
              HasSubstr("serials"));
  EXPECT_THAT(
      Problem(Do(MakeRequest("POST", "/serials/lookup", R"({"serials":[{"serial_number":""}]})")),
              400),
      HasSubstr("serials[0].serial_number"));

  fakes_.serials.components = {d};
  json listed = Expect(Do(MakeRequest("GET", "/groups/org-acme.g-2/components")), 200);
  ASSERT_EQ(listed["components"].size(), 1u);
  EXPECT_EQ(listed["components"][0]["mac_addr"], "00:1c:73:aa:bb:cc");

  queue::HttpRequest remove = MakeRequest("DELETE", "/groups/org-acme.g-2/components/SN-1");
  remove.query = {{"ien", "9"}};
  EXPECT_EQ(Expect(Do(remove), 200), json::parse(R"({"ok":true})"));
  EXPECT_EQ(fakes_.serials.last_removed.first.ien, "9");
  EXPECT_EQ(fakes_.serials.last_removed.first.serial_number, "SN-1");
  EXPECT_EQ(fakes_.serials.last_removed.second, "org-acme.g-2");

  fakes_.serials.fail_with = absl::NotFoundError("serial SN-9 not found");
  EXPECT_EQ(Problem(Do(MakeRequest("GET", "/serial/SN-9")), 404), "serial SN-9 not found");
  fakes_.serials.fail_with = absl::InvalidArgumentError("the root group");
  Problem(Do(MakeRequest("DELETE", "/groups/org-acme/components/SN-1")), 400);
}

TEST_F(RestApiGroupsTest, PdcUploadTakesRevocationChecksAndExpiryTimeAndShowsThem) {
  fakes_.pdcs.pdc.cert_id = "pdc-1";
  json shown = Expect(Do(MakeRequest("POST", "/pdc", R"({"certificate":"PEM"})")), 201)["pdc"];
  EXPECT_EQ(shown["revocation_checks"], false);
  EXPECT_EQ(shown["expiry_time"], nullptr);  // not_after applies
  EXPECT_FALSE(fakes_.pdcs.last_upload.revocation_checks);
  EXPECT_FALSE(fakes_.pdcs.last_upload.expiry_time);

  absl::Time expiry = absl::FromUnixSeconds(1893456000);  // 2030-01-01T00:00:00Z
  fakes_.pdcs.pdc.revocation_checks = true;
  fakes_.pdcs.pdc.expiry_time = expiry;
  shown = Expect(Do(MakeRequest("POST", "/pdc",
                                R"({"certificate":"PEM","revocation_checks":true,
                                    "expiry_time":"2030-01-01T00:00:00Z"})")),
                 201)["pdc"];
  EXPECT_TRUE(fakes_.pdcs.last_upload.revocation_checks);
  EXPECT_EQ(fakes_.pdcs.last_upload.expiry_time, expiry);
  EXPECT_EQ(shown["revocation_checks"], true);
  EXPECT_EQ(shown["expiry_time"], "2030-01-01T00:00:00Z");
  EXPECT_EQ(Expect(Do(MakeRequest("GET", "/pdc/pdc-1")), 200)["pdc"]["expiry_time"],
            "2030-01-01T00:00:00Z");

  EXPECT_THAT(
      Problem(Do(MakeRequest("POST", "/pdc", R"({"certificate":"PEM","expiry_time":"tomorrow"})")),
              400),
      HasSubstr("expiry_time"));
  EXPECT_THAT(
      Problem(Do(MakeRequest("POST", "/pdc", R"({"certificate":"PEM","revocation_checks":"yes"})")),
              400),
      HasSubstr("revocation_checks"));
}

TEST_F(RestApiGroupsTest, SerialAssignmentCarriesMacAddressAndTpmData) {
  std::string ek = "\x30\x59\x30\x13";
  std::string body = R"({"organization_id":"org-acme","serials":[
      {"serial_number":"SN-1","mac_addr":"00:1c:73:aa:bb:cc",
       "tpm_info":{"endorsement_key":")" +
                     Base64Encode(ek) + R"(","platform_primary_key":"cHBr"}},
      {"serial_number":"SN-2"}]})";
  Expect(Do(MakeRequest("POST", "/serials/assign", body)), 200);
  const std::vector<service::SerialAssignment>& got = fakes_.serials.last_assign.serials;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].mac_addr, "00:1c:73:aa:bb:cc");
  EXPECT_EQ(got[0].tpm.endorsement_key, ek);
  EXPECT_EQ(got[0].tpm.ek_certificate, "");
  EXPECT_EQ(got[0].tpm.platform_primary_key, "ppk");
  EXPECT_EQ(got[1].mac_addr, "");
  EXPECT_EQ(got[1].tpm.endorsement_key, "");

  EXPECT_EQ(Problem(Do(MakeRequest("POST", "/serials/assign",
                                   R"({"organization_id":"org-acme","serials":[
                                       {"serial_number":"SN-1",
                                        "tpm_info":{"endorsement_key":"not base64!"}}]})")),
                    400),
            "serials[0].tpm_info.endorsement_key: must be standard base64 (RFC 4648, padded) "
            "of at most 16384 bytes");
  EXPECT_EQ(Problem(Do(MakeRequest("POST", "/serials/assign",
                                   R"({"organization_id":"org-acme","serials":[
                                       {"serial_number":"SN-1","tpm_info":{
                                        "endorsement_key":"AA==","ek_certificate":"AA=="}}]})")),
                    400),
            "serials[0].tpm_info.endorsement_key, ek_certificate: give at most one of the two");
  EXPECT_THAT(Problem(Do(MakeRequest("POST", "/serials/assign",
                                     R"({"organization_id":"org-acme","serials":[
                                         {"serial_number":"SN-1","tpm_info":{"ek":"AA=="}}]})")),
                      400),
              HasSubstr("serials[0].tpm_info.ek: unknown field"));
  EXPECT_THAT(Problem(Do(MakeRequest("POST", "/serials/assign",
                                     R"({"organization_id":"org-acme","serials":[
                                         {"serial_number":"SN-1","tpm_info":"AA=="}]})")),
                      400),
              HasSubstr("serials[0].tpm_info: must be a JSON object"));
}

}  // namespace
}  // namespace masa::api
