// Serial numbers: the vendor's account team assigns them to organizations, an
// organization's assigners place them in its groups.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "service/types.h"

namespace masa::service {

struct SerialAssignment {
  std::string ien;  // "" = vendor IEN
  std::string serial_number;
  std::string model;
  std::string mac_addr;  // e.g. "00:1c:73:aa:bb:cc"; "" when unknown
  TpmInfo tpm;
};
// AssignSerials checks each assignment's device data (kInvalidArgument naming the serial):
// mac_addr is "" or six hex octets separated by ':' or '-' (stored lower-case with ':');
// the TPM values are DER (endorsement_key and platform_primary_key SubjectPublicKeyInfo,
// ek_certificate X.509), at most 16 KiB each, endorsement_key and ek_certificate not both.
// An empty model, mac_addr or TpmInfo (all three empty) keeps what is stored; a non-empty
// TpmInfo replaces the stored one whole. Re-assigning with the same data is `unchanged`.

// What OVGS GetSerial shows of one serial.
struct SerialDetails {
  SerialRef serial;  // ien always set
  std::string organization_id;
  // The group below the root it is placed in (if any), then the organization id (its root
  // group, where every serial of the organization is).
  std::vector<std::string> group_ids;
  std::string model;
  std::string mac_addr;
  TpmInfo tpm;
};

struct AssignInput {
  std::string organization_id;
  std::string group_id;  // "" = the organization's root group
  std::vector<SerialAssignment> serials;
  // A serial that already belongs to ANOTHER organization is refused (nothing is written)
  // unless this is set; then it moves, and in the same transaction the old organization's
  // unarchived vouchers of it become "superseded". Audited on both sides without naming the
  // other: "serial.transfer-out" and one "voucher.supersede" per voucher under the old
  // organization, "serial.reassign" under the new one.
  bool reassign = false;
};

struct AssignResult {
  size_t assigned = 0;   // new or moved
  size_t unchanged = 0;  // already in that organization and group
};

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
class Serials {
 public:
  virtual ~Serials() = default;

  // Vendor account team only (others: kPermissionDenied). Writes in store transactions of
  // assign_batch_size; a failure after the first transaction leaves the earlier ones
  // written (each audited), and the error says how many were assigned.
  virtual absl::StatusOr<AssignResult> AssignSerials(const Caller& caller, AssignInput input) = 0;
  // Moves serials of the caller's organization into `group_id`; needs assigner on the
  // serial's current group and on the target group. kNotFound for a serial not visible;
  // kInvalidArgument for an IEN this MASA does not serve. A serial already in `group_id`
  // counts as `unchanged` (OVGS AddSerial answers that kAlreadyExists); `group_id` the
  // root group takes serials out of their group (as RemoveSerial).
  virtual absl::StatusOr<AssignResult> PlaceSerials(const Caller& caller, std::string_view group_id,
                                                    const std::vector<SerialRef>& serials) = 0;
  // Takes the serial out of `group_id` (back to its organization's root group only); needs
  // assigner on that group. kNotFound when it is not in that group; kInvalidArgument for
  // the root group (a serial leaves its organization only by reassignment) and for an IEN
  // this MASA does not serve.
  virtual absl::Status RemoveSerial(const Caller& caller, const SerialRef& serial,
                                    std::string_view group_id) = 0;
  // The serials' details, in the order asked, all or nothing: kNotFound naming the first
  // serial the caller cannot view; kInvalidArgument for an IEN this MASA does not serve.
  virtual absl::StatusOr<std::vector<SerialDetails>> GetSerials(
      const Caller& caller, const std::vector<SerialRef>& serials) const = 0;
  // The serials in `group_id` (root group: every serial of the organization), in (ien,
  // serial) order; needs view on the group.
  virtual absl::StatusOr<std::vector<SerialDetails>> ListComponents(
      const Caller& caller, std::string_view group_id) const = 0;
};

}  // namespace masa::service
