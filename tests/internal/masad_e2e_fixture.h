// What the masad_e2e_test files share: serial numbers, offline provisioning with masactl,
// the masad under test on a state, and MasadE2eTest, whose tests share one provisioned
// state and running daemon per process. Needs MASAD, MASACTL and LIBFAKETIME (the
// masad_e2e_test target defines them).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"

namespace masa::e2e {

inline constexpr char kAlpha[] = "org-alpha";
inline constexpr char kBeta[] = "org-beta";

// Lower-case 8-4-4-4-12 hex with version 7 and variant 0b10, checked by hand (std::regex
// trips GCC 12's -Wmaybe-uninitialized under ASan).
bool IsUuidV7(const std::string& id);

// "A-0001" style serial numbers, one or `from`..`to`.
std::string Serial(const std::string& prefix, int n);
std::vector<std::string> Serials(const std::string& prefix, int from, int to);

// Starts the masad under test on `state` (tests/internal/masad.h) into *out; a fatal test
// failure when it cannot, so the caller checks HasFatalFailure(). `days_ahead` > 0 runs it
// with its clock that many days in the future (libfaketime), as if it were restarted then.
void StartMasadOn(const std::string& state, std::unique_ptr<Daemon>* out, int days_ahead = 0);

// `masactl org create`, the admin's token secret read back from its 0600 file.
std::string CreateOrganization(const std::string& state, const std::string& name,
                               const std::string& admin, const std::string& token_file);

void AssignSerials(const std::string& state, const std::string& org,
                   const std::vector<std::string>& serials);

nlohmann::json RequestBody(const std::vector<std::string>& serials, const std::string& pdc_pem,
                           bool override_conflicts = false);

// `openssl cms -verify` of a DER voucher file against the vendor trust anchor, as a device
// vendor's tooling would; the signed content goes to `content_out` when given.
ProcessResult OpensslVerify(const std::string& file, const std::string& trust_anchor,
                            const std::string& content_out = "/dev/null");

// One provisioned state and its running daemon, shared by the tests of this process:
// org-alpha (serials A-0001..A-0200, admin "admin"), org-beta (B-0001..B-0005, "b-admin"),
// the vendor's "account-team", and two customer CAs as pinned-domain certificates.
struct World {
  TempFolder root;
  std::string state;
  DevState dev;
  std::unique_ptr<Daemon> masad;
  std::unique_ptr<HttpsClient> client;
  std::string pdc_x;  // PEM of two customer CAs, the pinned-domain certificates
  std::string pdc_y;
  std::map<std::string, std::string> auth;  // principal -> curl auth file
};

class MasadE2eTest : public ::testing::Test {
 protected:
  // Provisions the World and starts masad; on TearDownTestSuite masad must drain with exit
  // code 0 and `masactl audit verify` must pass.
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  void SetUp() override {
    ASSERT_NE(world_, nullptr);
    ASSERT_NE(world_->client, nullptr) << "the suite set-up failed";
  }

  World& w() { return *world_; }
  const HttpsClient& http() { return *world_->client; }
  const std::string& Auth(const std::string& who) { return world_->auth.at(who); }

  HttpAnswer Get(const std::string& path, const std::string& who) {
    return http().Call("GET", path, who.empty() ? "" : Auth(who));
  }
  HttpAnswer Post(const std::string& path, const std::string& who, const nlohmann::json& body) {
    return http().Call("POST", path, who.empty() ? "" : Auth(who), body);
  }

  // Requests vouchers as `who`; expects 200 and every serial issued; the voucher ids.
  std::vector<std::string> Issue(const std::string& who, const std::vector<std::string>& serials,
                                 const std::string& pdc, std::string* req_id = nullptr);

  // GET /vouchers total for `who` (with an optional query).
  int64_t VoucherTotal(const std::string& who, const std::string& query = "");

  // Makes a user of org-alpha with `role` (and grants) through the API as its admin, and a
  // token for it; registers the token's auth file as `who`.
  void AddPrincipal(const std::string& who, const std::string& role,
                    const std::vector<std::string>& grants);

  static inline World* world_ = nullptr;
};

}  // namespace masa::e2e
