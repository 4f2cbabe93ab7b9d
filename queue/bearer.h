// The bearer token of an Authorization header (RFC 6750 section 2.1), before the service
// checks the token itself: one reading for every front end (the REST API's header, the
// gRPC API's authorization metadata).
#pragma once

#include <string>
#include <string_view>

namespace masa::queue {

// The token of the Authorization header value `authorization` when it is "Bearer <token>":
// the scheme matched without regard to case, one space, then the token with the spaces and
// tabs around it removed. "" when the value is not a bearer credential or holds no token.
// The token's own format is the service's to check. Linear in the length of the value.
std::string BearerTokenOf(std::string_view authorization);

}  // namespace masa::queue
