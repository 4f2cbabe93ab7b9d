// The server's TLS context, built once per HttpServer.
#pragma once

#include <vector>

#include <openssl/ssl.h>

#include "absl/status/statusor.h"
#include "queue/internal/libevent.h"

namespace masa::queue::internal {

// Builds a server SSL_CTX in `libctx` (nullptr: the default library context) that speaks
// TLS 1.2 and 1.3 only, presents `chain` (leaf first) and signs with `key`, which may be an
// HSM key of a provider loaded in `libctx`. Borrows its arguments (up-references what it
// keeps). kInvalidArgument when the chain is empty, the key is missing or does not match
// the leaf; kInternal for other OpenSSL failures, with OpenSSL's reasons.
absl::StatusOr<SslCtxPtr> NewServerSslContext(const std::vector<X509*>& chain, EVP_PKEY* key,
                                              OSSL_LIB_CTX* libctx);

}  // namespace masa::queue::internal
