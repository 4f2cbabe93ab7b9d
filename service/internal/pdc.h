// Parsing of pinned-domain certificates as the service needs them.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa::service::internal {

struct ParsedPdc {
  std::string der;
  std::string subject;       // RFC 2253
  std::string organization;  // subject O, "" when absent
  std::string common_name;   // subject CN, "" when absent
  absl::Time not_before;
  absl::Time not_after;
  std::string sha256;        // raw digest of der
};

// One X.509 certificate as PEM or DER. kInvalidArgument naming `what` when it is neither,
// holds more than one PEM certificate, or its validity cannot be read.
absl::StatusOr<ParsedPdc> ParsePdc(std::string_view pem_or_der, std::string_view what);

}  // namespace masa::service::internal
