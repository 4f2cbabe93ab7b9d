#include "api/web/oidc.h"

#include "absl/status/status.h"

namespace masa::api::web {

absl::StatusOr<std::unique_ptr<OidcClient>> OidcClient::Create(OidcOptions options) {
  (void)options;
  return absl::UnimplementedError("OpenID Connect sign-in is not implemented yet");
}

}  // namespace masa::api::web
