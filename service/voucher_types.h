// The records of voucher requests and vouchers, shared by the request pipeline
// (service/voucher_requests.h) and the views (service/voucher_views.h).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/types.h"
#include "signer/voucher.h"

namespace masa::service {

struct VoucherRequestInput {
  std::string ien;                          // empty: vendor IEN; applies to every serial
  std::vector<std::string> serial_numbers;  // 1..max_serials_per_request, no duplicates
  // Exactly one of: the pinned-domain certificate pasted (PEM, or DER), or the id of a
  // certificate uploaded with UploadPdc.
  std::string pdc_pem;
  std::string pdc_cert_id;
  // Optional: the owner's UEFI platform key (PK) certificate, PEM or DER. The request keeps
  // it and every voucher carries it as masa-extended-voucher:platform-key-certificate
  // (api/yang/). Must be one certificate, valid now, issued by the pinned-domain cert
  // (issuer name = PDC subject, signature verifies with the PDC's key); else kInvalidArgument
  // "platform_cert: ...".
  std::string platform_certificate_pem;
  std::optional<absl::Time> expires_at;  // default now + default_validity
  std::string os_type;                   // key of device_profiles ("" = default)
  bool override_conflicts = false;       // the API's "override"
  std::string security_profile;          // key of security_profiles ("" = "default")
};

// The outcome for one serial of a request.
struct SerialResult {
  std::string serial_number;
  std::string voucher_id;  // set when completed
  SerialStatus status = SerialStatus::kFailed;
  // When failed: why, for a person (never reveals another organization's data), and the
  // code a front end would answer for this serial alone: kNotFound (not a serial of your
  // organization or not visible to you: one code and the same words for both, also when the
  // serial was reassigned between the request and its commit), kPermissionDenied (visible but you may not
  // request), kAlreadyExists (live voucher pinned to another PDC, no override),
  // kInvalidArgument (the voucher breaks a rule, e.g. expiry after the PDC's). A failed
  // signature is not a per-serial result: it fails the whole request (kUnavailable).
  std::string reason;
  absl::StatusCode code = absl::StatusCode::kOk;
};

struct RequestResult {
  std::string req_id;
  std::vector<SerialResult> serials;  // in request order
};

// OVGS GetOwnershipVoucher(s): one voucher per component, pinned to an uploaded PDC.
struct ComponentVoucherInput {
  std::vector<SerialRef> components;  // 1..ServiceOptions::max_components_per_call
  std::string cert_id;                // an uploaded PDC (UploadPdc)
  absl::Time expires_at;              // the vouchers' expires-on (OVGS `lifetime`)
};

struct ComponentVoucher {
  std::string voucher_id;
  std::string cms;  // CMS SignedData, DER
  TpmInfo tpm;      // the component's vendor-side TPM data
};

// Called exactly once, like RequestCallback, with every voucher in the order of the
// input's components, or with the error that kept all of them from being issued.
using ComponentVoucherCallback = std::function<void(absl::StatusOr<std::vector<ComponentVoucher>>)>;

// Called exactly once, on the store writer thread (or a worker thread), after the request's
// records and audit entries are durable, or with the error that kept them from being
// written (then nothing of the request was written). Must not block: post to a loop.
using RequestCallback = std::function<void(absl::StatusOr<RequestResult>)>;

// What GET /voucher/{id} shows. created_at is when the voucher was first issued; after a
// renewal the CMS's created-on equals last_renewal_at and expires_at is the renewed expiry.
struct VoucherInfo {
  std::string voucher_id;
  std::string req_id;
  std::string organization_id;
  std::string ien;
  std::string serial_number;
  absl::Time requested_at;
  absl::Time created_at;
  absl::Time expires_at;
  std::optional<absl::Time> last_renewal_at;
  // How the vendor verified the owner (ServiceOptions::default_assertion when issued).
  signer::Assertion assertion = signer::Assertion::kLogged;
  VoucherStatus status = VoucherStatus::kCompleted;
  std::string pdc_organization;  // the PDC subject's O ("" when it has none)
  std::string pdc_id;            // the uploaded PDC's id, "" when pasted
  std::string requested_by;      // the requesting principal's name
  std::string requested_by_id;   // ... and id
  std::string os_type;
  std::string security_profile;
  std::string content_type_oid;  // eContentType of the CMS
};

struct RequestInfo {
  std::string req_id;
  std::string organization_id;
  std::string requested_by;  // principal name
  std::string requested_by_id;
  absl::Time requested_at;
  std::string ien;
  RequestStatus status = RequestStatus::kCompleted;
  std::string os_type;
  std::string security_profile;
  std::string pdc_organization;
  bool override_conflicts = false;
  // As the request answered them, but only the serials the caller may view now (the
  // serial's current group; the organization's root group for one no longer in the
  // organization) and, for the requester, those it was answered kNotFound for.
  std::vector<SerialResult> serials;
  std::vector<VoucherInfo> vouchers;  // its vouchers the caller may view
};

// One voucher file: the CMS (DER) and what names it (<serial_number>.vcj).
struct VoucherFile {
  std::string voucher_id;
  std::string req_id;
  std::string ien;
  std::string serial_number;
  std::string cms;
};

struct RenewInput {
  std::optional<absl::Time> expires_at;  // default now + default_validity, same caps
};

// Columns for ListVouchers sorting and grouping.
enum class VoucherColumn {
  kRequestedAt,
  kCreatedAt,
  kExpiresAt,
  kLastRenewalAt,
  kSerialNumber,
  kStatus,
  kAssertion,
  kRequestedBy,
  kPdcOrganization,
  kVoucherId,
  kReqId
};
// The API field name: "requested_at", ..., "voucher_id", "req_id".
std::string_view VoucherColumnName(VoucherColumn column);
std::optional<VoucherColumn> ParseVoucherColumn(std::string_view name);

struct VoucherFilter {
  // Vendor callers: which organization ("" = all). Others: "" or their own; another
  // organization (or, for vendor callers, an unknown one) is kNotFound.
  std::string organization_id;
  std::string serial_number;            // exact
  std::optional<VoucherStatus> status;  // nullopt: any
  std::string assertion;
  std::string requested_by;      // principal name or id
  std::string pdc_organization;  // exact
  std::string req_id;            // a request id as the methods take it (see above)
  absl::Time requested_from = absl::InfinitePast();  // requested_at in [from, to)
  absl::Time requested_to = absl::InfiniteFuture();
  std::optional<bool> archived;  // nullopt: both
};

struct ListVouchersInput {
  VoucherFilter filter;
  VoucherColumn sort_by = VoucherColumn::kRequestedAt;
  bool descending = true;
  std::optional<VoucherColumn> group_by;  // rows ordered by this column first
  size_t page_size = 50;                  // 1..1000; 0 = 50
  std::string page_token;                 // from the previous page; "" = first page
};

struct VoucherGroupCount {
  std::string value;  // the group_by column's value as text (times RFC 3339)
  size_t count = 0;
};

struct VoucherPage {
  std::vector<VoucherInfo> vouchers;
  std::string next_page_token;            // "" on the last page
  size_t total = 0;                       // matching vouchers the caller may view
  std::vector<VoucherGroupCount> groups;  // with group_by: every group over all pages
};

}  // namespace masa::service
