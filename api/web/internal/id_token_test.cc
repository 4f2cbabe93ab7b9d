// The ID token's pieces on their own, for what api_web_id_token_fuzz found (each case here
// is also in its seeds); the whole sign-in is tested in oidc_test.cc.
#include "api/web/internal/id_token.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace masa::api::web::internal {
namespace {

using nlohmann::json;

// Found by the fuzz target: only NUL, CR, LF, tab and space were refused, so an address
// with an escape sequence (ESC [ 3 1 m), a vertical tab, DEL, a C1 control or Unicode white
// space came through as the identity's e-mail address.
TEST(ReadEmail, RefusesEveryWhiteSpaceAndControlCharacter) {
  for (const std::string& bad : std::vector<std::string>{
           "ana@example.com\x1b[31m", "ana@exam\x0bple.com", "ana@example.com\x0c",
           "ana\x7f@example.com", "ana@example.com\xc2\x85", "ana\xc2\xa0@example.com",
           "ana@example.com\xe2\x80\xa8", "ana@exa\xe2\x80\x89mple.com",
           "ana@example.com\xe3\x80\x80", "ana\xe1\x9a\x80@example.com",
           "ana@example.com\xe2\x81\x9f", std::string("ana@example.com\0x", 17)}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<std::string> email = ReadEmail(json{{"email", bad}}, "the UserInfo answer");
    ASSERT_FALSE(email.ok());
    EXPECT_EQ(email.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_TRUE(absl::StrContains(email.status().message(), "carries an invalid e-mail address"))
        << email.status();
  }
  // Letters beyond ASCII are no white space (U+00A1 is the first after NO-BREAK SPACE).
  for (const std::string& good : std::vector<std::string>{
           "ana@example.com", "j\xc3\xbcrgen@ex\xc3\xa4mple.de", "\xc2\xa1@x"}) {
    absl::StatusOr<std::string> email = ReadEmail(json{{"email", good}}, "the UserInfo answer");
    ASSERT_TRUE(email.ok()) << email.status();
    EXPECT_EQ(*email, good);
  }
}

}  // namespace
}  // namespace masa::api::web::internal
