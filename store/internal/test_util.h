// Helpers for store tests: temporary state folders and software checkpoint keys.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <openssl/pem.h>

#include "absl/time/time.h"
#include "common/openssl.h"
#include "store/records.h"
#include "store/store.h"

namespace masa::store::testing {

// A fresh 0700 folder under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/masa-store-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
    chmod(path_.c_str(), 0700);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Options for a store in `dir`, every other option at its default.
inline StoreOptions TestOptions(const TempDir& dir) {
  StoreOptions o;
  o.state_dir = dir.path();
  return o;
}

// Voucher number `i` of organization org-a: id "v-<i>", request "req-<i/10>", serial
// "SN<i>", requested i seconds after 1700000000, and a CMS of `cms_bytes` bytes of one
// letter (8000 takes an overflow page of its own).
inline Voucher TestVoucher(int i, size_t cms_bytes) {
  Voucher v;
  v.id = "v-" + std::to_string(i);
  v.request_id = "req-" + std::to_string(i / 10);
  v.organization_id = "org-a";
  v.ien = "32473";
  v.serial_number = "SN" + std::to_string(i);
  v.status = "completed";
  v.requested_at = absl::FromUnixSeconds(1700000000 + i);
  v.cms = std::string(cms_bytes, static_cast<char>('a' + i % 26));
  return v;
}

// A new software key: "ED25519" or "EC" (P-256).
inline UniquePtr<EVP_PKEY> NewKey(const char* type) {
  if (std::string(type) == "EC")
    return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
}

// The PEM SubjectPublicKeyInfo of `key`.
inline std::string PublicPem(EVP_PKEY* key) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace masa::store::testing
