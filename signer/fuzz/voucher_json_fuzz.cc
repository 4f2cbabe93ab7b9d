// Fuzzes DecodeVoucherJson, which reads the voucher inside every CMS a device, a registrar or
// a customer hands us, and its inverse EncodeVoucherJson, which writes what we sign. The
// input is JSON text. Beyond not crashing, it asserts the round trip the signer relies on
// when it re-encodes a decoded voucher (renewal, masactl):
//  - a rejection is kInvalidArgument with a message;
//  - an accepted voucher encodes (EncodeVoucherJson's only documented failures, a string leaf
//    that is not UTF-8 or a time RFC 3339 cannot write, cannot come out of the decoder);
//  - that encoding decodes to an equal voucher, and encodes again to identical bytes;
//  - Validate() answers (OK or kInvalidArgument) on whatever the decoder accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signer/voucher.h"
#include "signer/voucher_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using masa::signer::DecodeVoucherJson;
  using masa::signer::EncodeVoucherJson;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto voucher = DecodeVoucherJson(json);
  if (!voucher.ok()) {
    if (voucher.status().code() != absl::StatusCode::kInvalidArgument) abort();
    if (voucher.status().message().empty()) abort();
    return 0;
  }
  auto encoded = EncodeVoucherJson(*voucher);
  if (!encoded.ok()) abort();  // the decoder gave something the encoder cannot write
  auto again = DecodeVoucherJson(*encoded);
  if (!again.ok()) abort();  // the decoder refuses what the encoder wrote
  if (!(*again == *voucher)) abort();
  auto twice = EncodeVoucherJson(*again);
  if (!twice.ok() || *twice != *encoded) abort();  // encoding is not stable
  absl::Status valid = masa::signer::Validate(*voucher);
  if (!valid.ok() && valid.code() != absl::StatusCode::kInvalidArgument) abort();
  return 0;
}
