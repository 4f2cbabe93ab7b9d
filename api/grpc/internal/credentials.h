// The API token of a gRPC call, from its metadata: "authorization: Bearer <token>" (as the
// REST API takes it) or the "access_token" cookie of a "cookie" entry (as every OVGS example
// sends it). Pure functions over the metadata values; the token itself is the service's to
// check.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace masa::api::grpc_internal {

// The value of the first non-empty cookie named exactly "access_token" in one cookie value
// ("a=1; access_token=t; b=2", RFC 6265 section 4.2.1; spaces and tabs around each pair are
// ignored, and one pair of double quotes around the value is removed). "" when there is
// none.
std::string AccessTokenCookieOf(std::string_view cookie);

// The token a call presents: the first bearer token among `authorization` values (read as
// the REST API reads its Authorization header, queue/bearer.h), else the
// first access_token cookie among `cookie` values (a call may carry several cookie
// entries), else "". Linear in the total length of the values.
std::string TokenOf(const std::vector<std::string_view>& authorization,
                    const std::vector<std::string_view>& cookie);

}  // namespace masa::api::grpc_internal
