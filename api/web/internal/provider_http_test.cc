// The provider's URLs and answers read on their own, for what api_web_id_token_fuzz found
// (each case here is also in its seeds); the whole sign-in is tested in oidc_test.cc.
#include "api/web/internal/provider_http.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace masa::api::web::internal {
namespace {

// Found by the fuzz target: libcurl mends "https:/host" and "https:///host" into
// "https://host" and takes raw bytes beyond ASCII as a host name, so these passed as https
// URLs, where RFC 3986 reads the first two as URLs without a host.
TEST(CheckProviderUrl, RefusesWhatLibcurlWouldMend) {
  for (const std::string& url : std::vector<std::string>{
           "https:/idp.example/x", "https:///idp.example/x", "http:/127.0.0.1:8080/x",
           "https://\xc6/idp.example", "https://idp.example/\xc3\xa4", "https://idp.example/\x7f",
           "https://idp.example/a\tb", "https:idp.example", "https:"}) {
    SCOPED_TRACE(url);
    absl::Status status = CheckProviderUrl(url, "the OIDC issuer");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(status.message(), "the OIDC issuer \"")) << status;
  }
  for (const std::string& url :
       std::vector<std::string>{"https://idp.example", "HTTPS://IDP.example/realms/masa?x=%C3%A4",
                                "http://127.0.0.1:8080/x", "http://[::1]/", "http://localhost"}) {
    EXPECT_TRUE(CheckProviderUrl(url, "the OIDC issuer").ok()) << url;
  }
}

}  // namespace
}  // namespace masa::api::web::internal
