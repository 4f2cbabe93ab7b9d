// load_bench's rotation mode (--rotate-at S): mid-run, a security officer generates a new
// voucher-signing key in the HSM, has the vendor CA (in the HSM) issue its certificate and
// activates it, through masad's REST API, while the load goes on; afterwards every sampled
// voucher is downloaded and verified against the chains GET /keys publishes (without the
// certificates inside the voucher), counted by the key whose chain verifies it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/internal/load_client.h"

namespace masa::bench {

// One blocking HTTPS request to masad on 127.0.0.1 (a connection of its own, closed after
// the answer). status 0: no answer (the error in body).
struct HttpsAnswer {
  int status = 0;
  std::string body;
};
HttpsAnswer HttpsCall(uint16_t port, const std::string& tls_ca, const std::string& token,
                      const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& content_type = "application/json");

struct RotationTarget {
  uint16_t port = 0;
  std::string tls_ca;
  std::string officer_token;  // a vendor principal with the security-officer role
  std::string admin_token;    // the organization's admin, to download vouchers
};

// What the officer did, in seconds since `t0_ns` (the load phase's start).
struct RotationResult {
  std::string old_key_id, new_key_id;
  double generate_at = 0, issued_at = 0, activated_at = 0;
  std::string failure;  // the first call that failed, with its answer; "" when none
};

// Waits until t0_ns + at_seconds, then POST /keys, POST /keys/{id}/issue and POST
// /keys/{id}/activate as the officer. Blocking; run it on a thread of its own.
RotationResult RotateSigningKey(const RotationTarget& target, int64_t t0_ns, double at_seconds);

struct VerifyReport {
  size_t published_keys = 0;               // voucher-signing keys in GET /keys
  std::map<std::string, uint64_t> before;  // key id -> sampled vouchers answered before
  std::map<std::string, uint64_t> after;   // ... and after the activation's answer
  uint64_t unverified = 0;                 // verified against no published chain
  uint64_t download_failures = 0;
  std::map<std::string, uint64_t> signatures;  // GET /keys/managed: vouchers per key
  std::string first_problem;
};

// Downloads every sample and verifies it against each published chain (its anchor the
// only trust, CMS_NOINTERN: the voucher's own certificates are not used).
VerifyReport VerifySamples(const RotationTarget& target, const std::vector<VoucherSample>& samples,
                           double activated_at);

}  // namespace masa::bench
