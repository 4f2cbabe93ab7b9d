#include "common/secret.h"

#include <sys/stat.h>

#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base64.h"
#include "common/file.h"

namespace masa {

Secret::Secret(Secret&& other) noexcept : value_(other.value_) { other.Wipe(); }

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = other.value_;
    other.Wipe();
  }
  return *this;
}

Secret::~Secret() { Wipe(); }

bool SecretsEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Secret::Wipe() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

absl::StatusOr<Secret> Secret::RandomHex(size_t n) {
  std::string raw(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) != 1) {
    return absl::UnavailableError("the random generator failed");
  }
  std::string hex = HexEncode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return Secret(std::move(hex));
}

absl::StatusOr<Secret> ReadSecretFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("secret file ", path, " does not exist"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "secret file %s is accessible by other users (mode %04o); run chmod 600 on it", path,
        st.st_mode & 07777));
  }
  auto content = ReadFile(path);
  if (!content.ok()) return content.status();
  Secret secret(std::move(*content));
  std::string_view v = secret.view();
  size_t len = v.size();
  if (len > 0 && v[len - 1] == '\n') --len;
  if (len > 0 && v[len - 1] == '\r') --len;
  if (len == 0) return absl::InvalidArgumentError(absl::StrCat("secret file ", path, " is empty"));
  if (len != v.size()) return Secret(std::string(v.substr(0, len)));
  return secret;
}

absl::StatusOr<Secret> ReadSecretEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return absl::NotFoundError(absl::StrCat("environment variable ", name, " is not set"));
  }
  return Secret(std::string(value));
}

}  // namespace masa
