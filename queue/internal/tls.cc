#include "queue/internal/tls.h"

#include <openssl/err.h>

#include "absl/status/status.h"
#include "common/openssl.h"

namespace masa::queue::internal {

absl::StatusOr<SslCtxPtr> NewServerSslContext(const std::vector<X509*>& chain, EVP_PKEY* key,
                                              OSSL_LIB_CTX* libctx) {
  if (chain.empty() || chain.front() == nullptr) {
    return absl::InvalidArgumentError("TLS needs a server certificate (tls_chain is empty)");
  }
  if (key == nullptr) return absl::InvalidArgumentError("TLS needs a server key (tls_key)");
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new_ex(libctx, nullptr, TLS_server_method()));
  if (ctx == nullptr) return FromOpenSslErrors("creating the TLS context");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return FromOpenSslErrors("restricting TLS to versions 1.2 and 1.3");
  }
  // Renegotiation only costs the server; compression invites CRIME; a client's cipher
  // preference should not pick a weaker suite than ours.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate(ctx.get(), chain.front()) != 1) {
    return FromOpenSslErrors("using the TLS server certificate",
                             absl::StatusCode::kInvalidArgument);
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (chain[i] == nullptr || SSL_CTX_add1_chain_cert(ctx.get(), chain[i]) != 1) {
      return FromOpenSslErrors("adding a certificate to the TLS chain",
                               absl::StatusCode::kInvalidArgument);
    }
  }
  // Checks that the key belongs to the certificate (OpenSSL compares the public halves).
  if (SSL_CTX_use_PrivateKey(ctx.get(), key) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
    return FromOpenSslErrors("using the TLS server key (does it match the certificate?)",
                             absl::StatusCode::kInvalidArgument);
  }
  return ctx;
}

}  // namespace masa::queue::internal
