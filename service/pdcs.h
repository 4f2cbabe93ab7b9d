// Pinned-domain certificates: the customer's domain certificates, uploaded once and named
// by id in voucher requests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/types.h"

namespace masa::service {

struct PdcInput {
  std::string name;         // a label for people; default: the subject CN
  std::string certificate;  // PEM or DER, one certificate
  std::string group_id;     // "" = the organization's root group
  // Whether vouchers pinned to it ask the device to check the domain certificate's
  // revocation (the voucher's domain-cert-revocation-checks leaf).
  bool revocation_checks = false;
  // When the uploaded certificate stops being usable for new vouchers (OVGS expiry_time);
  // must be in the future. nullopt: the certificate's notAfter.
  std::optional<absl::Time> expiry_time;
};

struct PdcInfo {
  std::string cert_id;
  std::string organization_id;
  std::string group_id;
  std::string name;
  std::string subject;           // RFC 2253
  std::string pdc_organization;  // subject O
  absl::Time not_before;
  absl::Time not_after;
  std::string sha256_hex;  // of the DER
  std::string certificate_der;
  absl::Time created_at;
  bool revocation_checks = false;
  std::optional<absl::Time> expiry_time;  // as uploaded; nullopt: not_after applies
};

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
// View to list/get, assigner to upload/delete.
class Pdcs {
 public:
  virtual ~Pdcs() = default;

  // kInvalidArgument for a malformed certificate (internal/pdc.h ParsePdc), one past its
  // notAfter, or an expiry_time not in the future; kAlreadyExists when the group already
  // has the same certificate with the same revocation_checks and expiry_time (checked for
  // uploads with an expiry_time only: those without one, the REST API's, may repeat it).
  // A voucher pinned to it may not expire after its expiry_time.
  virtual absl::StatusOr<PdcInfo> UploadPdc(const Caller& caller, PdcInput input) = 0;
  virtual absl::StatusOr<std::vector<PdcInfo>> ListPdcs(const Caller& caller) const = 0;
  virtual absl::StatusOr<PdcInfo> GetPdc(const Caller& caller, std::string_view cert_id) const = 0;
  // Vouchers already issued with it are unaffected (their CMS holds the certificate).
  virtual absl::Status DeletePdc(const Caller& caller, std::string_view cert_id) = 0;
};

}  // namespace masa::service
