// Secrets (PINs, token secrets) that are wiped from memory when dropped.
// A secret is read from a file or an environment variable, never from argv.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace masa {

// Owns secret bytes and overwrites them (OPENSSL_cleanse) on destruction and on move-from.
// Never logs or prints its value. Move-only.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  std::string_view view() const { return value_; }
  bool empty() const { return value_.empty(); }

  // `n` random bytes rendered as lower-case hex (2n characters), from the OpenSSL DRBG.
  static absl::StatusOr<Secret> RandomHex(size_t n);

 private:
  void Wipe();
  std::string value_;
};

// Compares two secrets (or values derived from one: a MAC, a nonce) in time that depends only
// on their lengths, so a mismatch's position leaks nothing.
bool SecretsEqual(std::string_view a, std::string_view b);

// Reads a secret from `path`, dropping one trailing newline. Refuses a file that other
// users may read (kFailedPrecondition, naming the mode) and an empty one.
absl::StatusOr<Secret> ReadSecretFile(const std::string& path);

// Reads a secret from the environment variable `name`; kNotFound when unset or empty.
absl::StatusOr<Secret> ReadSecretEnv(const std::string& name);

}  // namespace masa
