#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "common/openssl.h"

namespace masa {

std::string Sha256Parts(std::initializer_list<std::string_view> parts) {
  // Fetched once and a context per thread re-initialised: EVP_sha256() with a fresh context
  // repeats the implicit fetch and the provider context set-up on every call.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // never freed
  thread_local UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  bool ok =
      kSha256 != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), kSha256, nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) == 1;
  // SHA-256 of in-memory bytes cannot fail short of memory exhaustion.
  if (!ok || len != kSha256Size) std::abort();
  return out;
}

std::string Sha256(std::string_view data) { return Sha256Parts({data}); }

}  // namespace masa
