// Fuzzes the device side of ownership vouchers, VerifyOnboarding: CMS parsing, the voucher
// signature and chain, the voucher JSON and its rules, the owner certificate bag and chain,
// and the signed conveyed information. The device is fixed, built once from the RFC 8995
// vectors (../shared/vectors/rfc8995): it trusts vendor.crt, is "00-D0-E5-F2-00-02", sent the
// nonce of the RFC's voucher, and its clock reads 2021-06-01T00:00:00Z, when every vector
// certificate is valid.
//
// The input is [voucher][owner certificate][conveyed information][owner length][voucher
// length]: FuzzedDataProvider takes the two lengths (two bytes each, little-endian, the
// voucher's last) from the end, clamped to what is left, then the three artefacts from the
// front in order. A plain voucher DER works as an input on its own. Seeds are made by
// make_verifier_seeds.sh (RFC 8995's own voucher, and vouchers signed with the vector keys).
//
// Beyond not crashing or leaking, it asserts what a device's caller relies on:
//  - success exactly when failed_step is kNone; on success the voucher signer and the pinned
//    certificate are there, and the owner certificate when a bag was given;
//  - a failure's message starts with "<step>: " and is printable (valid UTF-8 without
//    control characters: it ends up in a device log or on a console);
//  - OpenSSL's error queue is empty afterwards (a stale error would be reported as part of
//    the next, unrelated failure on the thread), and verifying the same artefacts again
//    gives the same verdict.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <openssl/err.h>

#include "common/base64.h"
#include "common/file.h"
#include "common/openssl.h"
#include "common/time.h"
#include "common/utf8.h"
#include "signer/verifier.h"

namespace {

using masa::signer::DeviceProfile;
using masa::signer::VerificationResult;
using masa::signer::VerifyStep;

struct Device {
  masa::UniquePtr<X509> vendor;
  masa::FixedClock clock{masa::ParseRfc3339("2021-06-01T00:00:00Z").value()};
  DeviceProfile profile;
};

const Device& TheDevice() {
  static const Device* device = [] {
    auto* d = new Device();
    auto pem = masa::ReadFile(std::string(MASA_VECTORS_DIR) + "/rfc8995/vendor.crt");
    if (!pem.ok()) abort();
    auto vendor = masa::ParseCertificate(*pem);
    if (!vendor.ok()) abort();
    d->vendor = *std::move(vendor);
    d->profile.vendor_trust_anchors = {d->vendor.get()};
    d->profile.serial_number = "00-D0-E5-F2-00-02";
    d->profile.expected_nonce = masa::Base64UrlDecode("-_XE9zK9q8Ll1qylMtLKeg").value();
    d->profile.clock = &d->clock;
    return d;
  }();
  return *device;
}

bool Printable(std::string_view s) {
  if (!masa::IsValidUtf8(s)) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void Check(const VerificationResult& r, bool with_owner) {
  if (r.ok() != (r.failed_step == VerifyStep::kNone)) abort();
  if (r.ok()) {
    if (r.voucher_signer == nullptr || r.pinned_domain_cert == nullptr) abort();
    if (with_owner && r.owner_certificate == nullptr) abort();
    return;
  }
  std::string prefix = std::string(masa::signer::VerifyStepName(r.failed_step)) + ": ";
  std::string message(r.status.message());
  if (message.compare(0, prefix.size(), prefix) != 0) abort();
  if (!Printable(message)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Device& device = TheDevice();
  FuzzedDataProvider provider(data, size);
  size_t voucher_size = provider.ConsumeIntegral<uint16_t>();
  size_t owner_size = provider.ConsumeIntegral<uint16_t>();
  std::string voucher = provider.ConsumeBytesAsString(voucher_size);
  std::string owner = provider.ConsumeBytesAsString(owner_size);
  std::string conveyed = provider.ConsumeRemainingBytesAsString();
  masa::signer::OnboardingArtifacts artifacts{voucher, owner, conveyed};
  VerificationResult first = masa::signer::VerifyOnboarding(device.profile, artifacts);
  Check(first, !owner.empty());
  if (ERR_peek_error() != 0) abort();  // a stale error would end up in the next message
  VerificationResult second = masa::signer::VerifyOnboarding(device.profile, artifacts);
  if (second.failed_step != first.failed_step || second.status != first.status) abort();
  return 0;
}
