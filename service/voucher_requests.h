// The voucher pipeline: request vouchers for serials, renew one, archive one. Requests and
// renewals are asynchronous (signing runs on the work queue, the result is durable first).
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/types.h"
#include "service/voucher_types.h"

namespace masa::service {

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
class VoucherRequests {
 public:
  virtual ~VoucherRequests() = default;

  // Validates the whole input synchronously: kInvalidArgument for 0 or too many serials
  // (naming the count), duplicates, a bad or expired PDC, bad platform certificate, expiry
  // in the past or beyond max_validity, an unknown os_type or security_profile;
  // kNotFound for a pdc_cert_id the caller cannot see; kPermissionDenied when the caller
  // may request in no group. Then decides per serial (see SerialResult), enqueues one sign
  // job per signable serial (all or nothing: kResourceExhausted and nothing written when
  // the queue is full), and returns OK; `done` then runs exactly once. On any non-OK
  // return `done` never runs. A request whose serials all fail still gets a req_id, is
  // stored and audited, and `done` reports the per-serial failures. Signing is different:
  // each signature that fails (or whose HSM call is abandoned after the work queue's
  // run_timeout) is tried once more; if one still fails, `done` gets kUnavailable (retry
  // later) and NOTHING is stored or audited for the request, so no voucher is acknowledged
  // without its audit entry nor audited without being returned. Same for renewals and
  // IssueComponentVouchers.
  // Vouchers: created-on = now (whole seconds), expires-on as above, assertion
  // ServiceOptions::default_assertion ("logged" unless configured), serial-number,
  // pinned-domain-cert, the security profile's leaves, and the platform certificate when
  // given.
  virtual absl::Status RequestVouchers(const Caller& caller, VoucherRequestInput input,
                                       RequestCallback done) = 0;
  // Re-signs the voucher with a fresh validity (same serial, PDC, content type and
  // leaves, among them the assertion and the platform key certificate it was signed with), sets last_renewal_at, audits "voucher.renew". Needs request on the serial's
  // group. Async like RequestVouchers; the result has one SerialResult. kFailedPrecondition
  // for an archived voucher, and for a superseded one or one whose serial is no longer
  // assigned to the voucher's organization (checked again when the renewal commits).
  virtual absl::Status RenewVoucher(const Caller& caller, std::string_view voucher_id,
                                    RenewInput input, RequestCallback done) = 0;
  // Marks the voucher archived (no longer counted as live for conflicts); needs archive.
  // kFailedPrecondition when already archived. Audited "voucher.archive".
  virtual absl::StatusOr<VoucherInfo> ArchiveVoucher(const Caller& caller,
                                                     std::string_view voucher_id) = 0;
  // OVGS GetOwnershipVoucher(s): a new voucher for every component, all or nothing, through
  // the same batched pipeline as RequestVouchers (one request record, audited with the
  // caller). kInvalidArgument for no components or too many, an empty field, expires_at in
  // the past or after the PDC's expiry_time (or notAfter), an IEN this MASA does not serve,
  // or a PDC and component of different organizations; kFailedPrecondition for an unknown
  // component or cert_id, which includes one the caller may not view (existence is not
  // revealed); kPermissionDenied for a component the caller may view but not request for.
  // Every component must name its IEN (no default here). No conflict check against earlier
  // pins: every call issues new vouchers (OVGS). The certificate's revocation_checks is the
  // vouchers' domain-cert-revocation-checks; the request record's security_profile says
  // which ("revocation-checks" / "no-revocation-checks"). Any failure after the input
  // checks (signing, a component moved or reassigned meanwhile) reaches `done` as an error
  // and nothing is stored. On a non-OK return `done` never runs; otherwise it runs exactly
  // once, on the store writer or a worker thread.
  virtual absl::Status IssueComponentVouchers(const Caller& caller, ComponentVoucherInput input,
                                              ComponentVoucherCallback done) = 0;
};

}  // namespace masa::service
