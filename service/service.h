// The MASA domain, protocol-neutral: organizations, groups, principals, role bindings,
// tokens, pinned-domain certificates, serial numbers, voucher requests, vouchers, audit.
// Every permission decision of the appliance is made here, once, for REST, gRPC and the web
// UI alike; front ends only decode, call, and map the returned absl::StatusCode 1:1:
//
//   kInvalidArgument 400, kUnauthenticated 401, kPermissionDenied 403, kNotFound 404,
//   kAlreadyExists 409, kFailedPrecondition 409, kResourceExhausted 503 + Retry-After,
//   kUnavailable 503, anything else 500.
//
//   MASA_ASSIGN_OR_RETURN(auto service, service::Service::Create(options));
//   MASA_ASSIGN_OR_RETURN(service::Caller caller, service->Authenticate(bearer));
//   MASA_RETURN_IF_ERROR(service->RequestVouchers(caller, request,
//       [](absl::StatusOr<service::RequestResult> r) { /* post to the event loop */ }));
//
// Objects of another organization are answered kNotFound, never kPermissionDenied, so a
// customer cannot learn that they exist. Within the caller's organization an object the
// caller may not even view is also kNotFound; one it may view but not act on is
// kPermissionDenied.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "common/time.h"
#include "queue/work_queue.h"
#include "service/metrics.h"
#include "signer/cms.h"
#include "signer/voucher.h"
#include "store/store.h"

namespace masa::service {

// ---------------------------------------------------------------------------------------
// Configuration

// The voucher signers of one signing key, one per CMS content type, and the id of the key
// (store::KeyRecord id, recorded in every Voucher.signing_key_id). Immutable once built;
// key rotation builds a new one and swaps it in with Service::SetSigningKeys.
struct SigningKeys {
  std::string key_id;
  std::shared_ptr<const signer::VoucherSigner> anima_json_voucher;  // id-ct-animaJSONVoucher
  std::shared_ptr<const signer::VoucherSigner> data;                // id-data; may be null

  // The signer for `type`; null when this key has none for it.
  const signer::VoucherSigner* For(signer::CmsContentType type) const;
};

// What a device family needs of its vouchers, selected by the request's os_type.
struct DeviceProfile {
  signer::CmsContentType content_type = signer::CmsContentType::kAnimaJsonVoucher;
};

// A named voucher profile, selected by the request's security_profile.
struct SecurityProfile {
  // The "domain-cert-revocation-checks" leaf; nullopt leaves it out.
  std::optional<bool> domain_cert_revocation_checks;
};

struct ServiceOptions {
  store::Store* store = nullptr;             // not owned; must outlive the Service
  queue::WorkQueue* work_queue = nullptr;    // not owned; the signing workers
  std::shared_ptr<const SigningKeys> signing_keys;
  const Clock* clock = &SystemClock();       // not owned; never null

  // The IEN a serial number gets when the request names none.
  std::string vendor_ien = "9";
  // The vendor's own organization: where support, account-team and security-officer
  // principals live. Created by Bootstrap::CreateVendorPrincipal when absent.
  std::string vendor_organization_id = "org-vendor";

  // Voucher expiry: default validity when the request gives no expiry, and the longest
  // allowed. An expiry beyond the PDC's notAfter is refused when asked for explicitly and
  // clamped to notAfter when it comes from default_validity.
  absl::Duration default_validity = absl::Hours(24 * 365);
  absl::Duration max_validity = absl::Hours(24 * 365 * 3);

  // Tokens: validity when none is asked for, and the longest allowed (six months).
  absl::Duration default_token_validity = absl::Hours(24 * 30);
  absl::Duration max_token_validity = absl::Hours(24 * 183);

  // The "assertion" of every voucher this service issues: how the vendor verified the
  // owner. "logged" (the product documentation's vouchers): issued on the vendor's own
  // serial assignment records, every issuance in the audit log. A renewal keeps the
  // assertion of the voucher it renews.
  signer::Assertion default_assertion = signer::Assertion::kLogged;

  size_t max_serials_per_request = 20;
  // AssignSerials writes this many components per store transaction.
  size_t assign_batch_size = 1000;

  // Keyed by os_type. The empty os_type (not given) uses key "". Defaults: "" and "ios-xr"
  // -> id-ct-animaJSONVoucher; "ios-xe" -> id-data. An unknown os_type is kInvalidArgument.
  std::map<std::string, DeviceProfile> device_profiles = DefaultDeviceProfiles();
  // Keyed by security_profile name; "" (not given) uses "default". Defaults: "default"
  // (no revocation leaf), "revocation-checks" (domain-cert-revocation-checks = true),
  // "no-revocation-checks" (false).
  std::map<std::string, SecurityProfile> security_profiles = DefaultSecurityProfiles();

  static std::map<std::string, DeviceProfile> DefaultDeviceProfiles();
  static std::map<std::string, SecurityProfile> DefaultSecurityProfiles();
};

// ---------------------------------------------------------------------------------------
// Principals and authorization

// Roles, lowest first. A binding on a group covers its subtree; overlapping bindings: the
// highest wins, and grants add single permissions. The vendor roles exist only in the
// vendor organization (bound on its root group).
//
//   permission         viewer requestor assigner admin | support account-team sec-officer
//   view vouchers/reqs   x       x        x       x   |   all*     all*          -
//   request, renew               x        x       x   |
//   download                     x        x       x   |
//   archive                               x       x   |
//   manage PDCs                           x       x   |
//   place serials                         x       x   |
//   users, roles, groups,                         x   |
//    tokens of others, audit                          |            all* (audit)
//   assign serials to orgs                            |            x
//   create organizations                              |            x
//   (* = every organization, read only.) Grants "request", "download", "archive" add that
//   one permission to the binding's group subtree.
enum class Role { kViewer, kRequestor, kAssigner, kAdmin, kSupport, kAccountTeam,
                  kSecurityOfficer };
// "viewer", "requestor", "assigner", "admin", "support", "account-team", "security-officer".
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// The single permissions an admin may grant on a binding.
enum class Grant { kRequest, kDownload, kArchive };
std::string_view GrantName(Grant grant);  // "request", "download", "archive"
std::optional<Grant> ParseGrant(std::string_view name);

// An authenticated principal, as Authenticate() found it. Only the Service makes one, so
// holding a Caller proves a valid token was presented at that moment; its roles are NOT
// cached in it: every operation reads the current bindings, so a role removed or a token
// revoked takes effect on the next call. Copyable, cheap.
class Caller {
 public:
  const std::string& principal_id() const { return principal_id_; }
  const std::string& organization_id() const { return organization_id_; }
  const std::string& name() const { return name_; }  // username (e-mail) or account name
  const std::string& token_id() const { return token_id_; }

 private:
  friend class ServiceImpl;
  std::string principal_id_;
  std::string organization_id_;
  std::string name_;
  std::string token_id_;
  std::string token_hash_;  // to re-check revocation and expiry on every call
};

// ---------------------------------------------------------------------------------------
// Vouchers and requests
//
// Voucher and request ids are RFC 9562 UUIDs, version 7 (time-ordered), in lower-case
// 8-4-4-4-12 text, as the product documentation types voucher_id and req_id. Every method
// that takes one also accepts it in upper case, and accepts an id of the form used before
// (store schema 4: "v-..." / "req-..."), which names the record the store migration moved
// to its UUID (common/uuid.h LegacyIdToUuid); answers always carry the UUID. Anything else
// is kNotFound, like an unknown id.

// The status vocabulary, in the product documentation's words. Each enum's names live in
// one table (statuses.cc); front ends render them with StatusName() and list them with
// StatusNames(), so a value added to an enum and its table reaches the API and its OpenAPI
// enum at once.
//
// A voucher: completed (signed; live until expires_at), expired (expires_at passed),
// archived (ArchiveVoucher), superseded (its serial was reassigned to another organization;
// history: still viewable and downloadable, never renewed, not live for conflicts).
enum class VoucherStatus { kCompleted, kExpired, kArchived, kSuperseded };
// One serial of a request: completed (its voucher was signed) or failed (reason says why).
enum class SerialStatus { kCompleted, kFailed };
// A request: completed (every serial), partial (some), failed (none).
enum class RequestStatus { kCompleted, kPartial, kFailed };

// "completed", "expired", ... E is one of the enums above.
template <typename E>
std::string_view StatusName(E status);
// The value named `name`, or nullopt. For VoucherStatus also "issued", this API's name for
// completed before the product documentation's vocabulary was adopted: old clients' list
// filters keep working (answers say "completed").
template <typename E>
std::optional<E> ParseStatus(std::string_view name);
// Every name of E, in enum order (the aliases ParseStatus takes are not listed).
template <typename E>
std::vector<std::string_view> StatusNames();

struct SerialRef {
  std::string ien;  // empty: ServiceOptions::vendor_ien
  std::string serial_number;
};

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
  std::optional<absl::Time> expires_at;     // default now + default_validity
  std::string os_type;                      // key of device_profiles ("" = default)
  bool override_conflicts = false;          // the API's "override"
  std::string security_profile;             // key of security_profiles ("" = "default")
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
  // kInvalidArgument (the voucher breaks a rule, e.g. expiry after the PDC's), kInternal
  // (signing failed).
  std::string reason;
  absl::StatusCode code = absl::StatusCode::kOk;
};

struct RequestResult {
  std::string req_id;
  std::vector<SerialResult> serials;  // in request order
};

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
  std::string assertion;          // e.g. "logged" (ServiceOptions::default_assertion)
  VoucherStatus status = VoucherStatus::kCompleted;
  std::string pdc_organization;   // the PDC subject's O ("" when it has none)
  std::string pdc_id;             // the uploaded PDC's id, "" when pasted
  std::string requested_by;       // the requesting principal's name
  std::string requested_by_id;    // ... and id
  std::string os_type;
  std::string security_profile;
  std::string content_type_oid;   // eContentType of the CMS
};

struct RequestInfo {
  std::string req_id;
  std::string organization_id;
  std::string requested_by;       // principal name
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
  std::vector<VoucherInfo> vouchers;   // its vouchers the caller may view
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
  kRequestedAt, kCreatedAt, kExpiresAt, kLastRenewalAt, kSerialNumber, kStatus,
  kAssertion, kRequestedBy, kPdcOrganization, kVoucherId, kReqId
};
// The API field name: "requested_at", ..., "voucher_id", "req_id".
std::string_view VoucherColumnName(VoucherColumn column);
std::optional<VoucherColumn> ParseVoucherColumn(std::string_view name);

struct VoucherFilter {
  // Vendor callers: which organization ("" = all). Others: "" or their own; another
  // organization (or, for vendor callers, an unknown one) is kNotFound.
  std::string organization_id;
  std::string serial_number;    // exact
  std::optional<VoucherStatus> status;  // nullopt: any
  std::string assertion;
  std::string requested_by;     // principal name or id
  std::string pdc_organization; // exact
  std::string req_id;           // a request id as the methods take it (see above)
  absl::Time requested_from = absl::InfinitePast();  // requested_at in [from, to)
  absl::Time requested_to = absl::InfiniteFuture();
  std::optional<bool> archived; // nullopt: both
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
  std::string next_page_token;           // "" on the last page
  size_t total = 0;                      // matching vouchers the caller may view
  std::vector<VoucherGroupCount> groups; // with group_by: every group over all pages
};

// ---------------------------------------------------------------------------------------
// Pinned-domain certificates

struct PdcInput {
  std::string name;            // a label for people; default: the subject CN
  std::string certificate;     // PEM or DER, one certificate
  std::string group_id;        // "" = the organization's root group
};

struct PdcInfo {
  std::string cert_id;
  std::string organization_id;
  std::string group_id;
  std::string name;
  std::string subject;          // RFC 2253
  std::string pdc_organization; // subject O
  absl::Time not_before;
  absl::Time not_after;
  std::string sha256_hex;       // of the DER
  std::string certificate_der;
  absl::Time created_at;
};

// ---------------------------------------------------------------------------------------
// Principals, bindings, groups, tokens

struct PrincipalInfo {
  std::string principal_id;
  std::string organization_id;
  std::string kind;  // "user" or "service-account"
  std::string name;  // username (e-mail style) or account name
  bool disabled = false;
  absl::Time created_at;
};

struct BindingInfo {
  std::string binding_id;
  std::string principal_id;
  std::string group_id;
  std::string role;
  std::vector<std::string> grants;
  absl::Time created_at;
};

struct GroupInfo {
  std::string group_id;
  std::string organization_id;
  std::string parent_id;  // "" for the organization's root group
  std::string name;
  absl::Time created_at;
};

struct TokenInput {
  std::string principal_id;                // "" = the caller
  std::optional<absl::Duration> validity;  // default default_token_validity; <= max
  std::string description;
};

struct TokenInfo {
  std::string token_id;      // "tok-" + 16 hex digits of the hash; names it in lists/audit
  std::string principal_id;
  std::string description;
  absl::Time created_at;
  absl::Time expires_at;
  bool revoked = false;
  std::string created_by;
  std::string minted_by;     // the token that minted it; "" when masactl made it
};

// A new token: `secret` is the bearer credential ("masa_" + base64url of 32 random bytes),
// returned this once and never stored, logged or audited.
struct NewToken {
  TokenInfo info;
  Secret secret;
};

// ---------------------------------------------------------------------------------------
// Serials

struct SerialAssignment {
  std::string ien;  // "" = vendor IEN
  std::string serial_number;
  std::string model;
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
  size_t assigned = 0;  // new or moved
  size_t unchanged = 0; // already in that organization and group
};

// ---------------------------------------------------------------------------------------
// Audit

struct AuditRecord {
  uint64_t seq = 0;
  absl::Time time;
  std::string actor;
  std::string action;
  std::string target;       // "<organization id>/<object id>"
  std::string outcome;
  std::string object_hash;  // raw SHA-256 (32 bytes) or empty
};

struct AuditQuery {
  std::string organization_id;  // account team: any ("" = every organization); others: own
  uint64_t from_seq = 0;
  size_t limit = 100;           // 1..1000
};

struct AuditPage {
  std::vector<AuditRecord> entries;
  uint64_t next_seq = 0;  // continue from here; == log size when the end was reached
};

// Proof that a voucher's latest issue/renew entry is in the signed audit log.
struct VoucherInclusionProof {
  uint64_t seq = 0;
  std::string entry_bytes;        // the Merkle leaf (store::EncodeAuditEntry)
  uint64_t tree_size = 0;
  std::vector<store::Hash> proof; // RFC 9162 inclusion proof to the checkpoint's root
  std::string checkpoint;         // the signed note the proof is against
};

// ---------------------------------------------------------------------------------------
// Organizations, and bootstrap (masactl, no caller)

// A customer organization (or the vendor's own).
struct OrganizationInfo {
  std::string organization_id;  // "org-<name>", also the id of its root group
  std::string name;
  absl::Time created_at;
};

// A new organization or vendor principal: the first admin (or principal) and its first
// token, whose secret is shown this once.
struct BootstrapResult {
  std::string organization_id;
  PrincipalInfo principal;
  NewToken token;
};

// ---------------------------------------------------------------------------------------

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
class Service {
 public:
  // kInvalidArgument when store, work_queue, clock or signing_keys (with an
  // animaJSONVoucher signer) is missing. A device profile whose content type the keys
  // cannot sign (e.g. id-data without SigningKeys::data) fails the requests that select it
  // with kFailedPrecondition.
  static absl::StatusOr<std::unique_ptr<Service>> Create(ServiceOptions options);

  // Waits for requests in flight (their callbacks run) before returning. The work queue and
  // store must still be alive.
  virtual ~Service() = default;

  // Replaces the signing keys for requests accepted from now on (key rotation); requests
  // already queued finish with the keys they started with. Null or without an
  // animaJSONVoucher signer: kInvalidArgument.
  virtual absl::Status SetSigningKeys(std::shared_ptr<const SigningKeys> keys) = 0;

  // --- authentication ---
  // The principal a bearer token belongs to. kUnauthenticated (message never echoes the
  // token) when unknown, malformed, revoked, expired, or its principal is disabled.
  virtual absl::StatusOr<Caller> Authenticate(std::string_view bearer_token) const = 0;

  // --- vouchers ---
  // Validates the whole input synchronously: kInvalidArgument for 0 or too many serials
  // (naming the count), duplicates, a bad or expired PDC, bad platform certificate, expiry
  // in the past or beyond max_validity, an unknown os_type or security_profile;
  // kNotFound for a pdc_cert_id the caller cannot see; kPermissionDenied when the caller
  // may request in no group. Then decides per serial (see SerialResult), enqueues one sign
  // job per signable serial (all or nothing: kResourceExhausted and nothing written when
  // the queue is full), and returns OK; `done` then runs exactly once. On any non-OK
  // return `done` never runs. A request whose serials all fail still gets a req_id, is
  // stored and audited, and `done` reports the per-serial failures.
  // Vouchers: created-on = now (whole seconds), expires-on as above, assertion
  // ServiceOptions::default_assertion ("logged" unless configured), serial-number,
  // pinned-domain-cert, the security profile's leaves, and the platform certificate when
  // given.
  virtual absl::Status RequestVouchers(const Caller& caller, VoucherRequestInput input,
                                       RequestCallback done) = 0;

  // kNotFound unless the caller may view the voucher.
  virtual absl::StatusOr<VoucherInfo> GetVoucher(const Caller& caller,
                                                 std::string_view voucher_id) const = 0;
  // Needs download. Archived vouchers can still be downloaded.
  virtual absl::StatusOr<VoucherFile> DownloadVoucher(const Caller& caller,
                                                      std::string_view voucher_id) const = 0;
  // The request and those of its vouchers the caller may view; kNotFound when none.
  virtual absl::StatusOr<RequestInfo> GetRequest(const Caller& caller,
                                                 std::string_view req_id) const = 0;
  // Every voucher of the request the caller may download, in request order; kNotFound when
  // the caller may view none, kPermissionDenied when it may view but download none.
  virtual absl::StatusOr<std::vector<VoucherFile>> DownloadRequest(
      const Caller& caller, std::string_view req_id) const = 0;
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
  // The vouchers the caller may view, filtered, sorted (ties by voucher_id), grouped and
  // paged. Page tokens are opaque and bound to the filter and sort; one from another query
  // is kInvalidArgument, and so is a req_id filter that is not a request id. Pages are
  // offsets into the current result: a voucher issued between two calls may shift the
  // pages by one.
  virtual absl::StatusOr<VoucherPage> ListVouchers(const Caller& caller,
                                                   const ListVouchersInput& input) const = 0;

  // --- pinned-domain certificates (view to list/get, assigner to upload/delete) ---
  virtual absl::StatusOr<PdcInfo> UploadPdc(const Caller& caller, PdcInput input) = 0;
  virtual absl::StatusOr<std::vector<PdcInfo>> ListPdcs(const Caller& caller) const = 0;
  virtual absl::StatusOr<PdcInfo> GetPdc(const Caller& caller,
                                         std::string_view cert_id) const = 0;
  // Vouchers already issued with it are unaffected (their CMS holds the certificate).
  virtual absl::Status DeletePdc(const Caller& caller, std::string_view cert_id) = 0;

  // --- principals and bindings (admin on the organization's root group, except
  //     ListBindings: admin on any group sees the bindings on its subtree) ---
  // Creates a user named by an e-mail-style username (unique in the organization:
  // kAlreadyExists). No role until BindRole.
  virtual absl::StatusOr<PrincipalInfo> InviteUser(const Caller& caller,
                                                   std::string_view username) = 0;
  virtual absl::StatusOr<PrincipalInfo> CreateServiceAccount(const Caller& caller,
                                                             std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<PrincipalInfo>> ListPrincipals(
      const Caller& caller) const = 0;
  // Its tokens stop working at once. A caller cannot disable itself (kFailedPrecondition).
  virtual absl::Status DisablePrincipal(const Caller& caller,
                                        std::string_view principal_id) = 0;
  // Gives `principal_id` (same organization) `role` on `group_id` and its subtree; needs
  // admin on that group. Vendor roles only in the vendor organization's root group.
  virtual absl::StatusOr<BindingInfo> BindRole(const Caller& caller,
                                               std::string_view principal_id,
                                               std::string_view group_id,
                                               std::string_view role) = 0;
  virtual absl::Status DeleteBinding(const Caller& caller, std::string_view binding_id) = 0;
  // Adds / removes a grant ("request", "download", "archive") on a binding; needs admin on
  // the binding's group. Granting one that is present is a no-op (still OK).
  virtual absl::StatusOr<BindingInfo> GrantPermission(const Caller& caller,
                                                      std::string_view binding_id,
                                                      std::string_view permission) = 0;
  virtual absl::StatusOr<BindingInfo> RevokePermission(const Caller& caller,
                                                       std::string_view binding_id,
                                                       std::string_view permission) = 0;
  // principal_id "" = every binding the caller may administer; a caller may always list
  // its own bindings.
  virtual absl::StatusOr<std::vector<BindingInfo>> ListBindings(
      const Caller& caller, std::string_view principal_id) const = 0;

  // --- groups ---
  // Needs admin on the parent. Names are unique among siblings (kAlreadyExists).
  virtual absl::StatusOr<GroupInfo> CreateGroup(const Caller& caller,
                                                std::string_view parent_id,
                                                std::string_view name) = 0;
  // The caller organization's groups it may view.
  virtual absl::StatusOr<std::vector<GroupInfo>> ListGroups(const Caller& caller) const = 0;
  // Needs admin on the group. kFailedPrecondition while it has child groups, serials or
  // PDCs, and for a root group. Its role bindings are deleted with it. Writes into a group
  // (PlaceSerials, UploadPdc, BindRole, CreateGroup, AssignSerials) check inside their write
  // transaction that it still exists (kNotFound when a deletion committed first), so a
  // concurrent deletion never leaves anything in a deleted group.
  virtual absl::Status DeleteGroup(const Caller& caller, std::string_view group_id) = 0;

  // --- serials ---
  // Vendor account team only (others: kPermissionDenied). Writes in store transactions of
  // assign_batch_size; a failure after the first transaction leaves the earlier ones
  // written (each audited), and the error says how many were assigned.
  virtual absl::StatusOr<AssignResult> AssignSerials(const Caller& caller,
                                                     AssignInput input) = 0;
  // Moves serials of the caller's organization into `group_id`; needs assigner on the
  // serial's current group and on the target group. kNotFound for a serial not visible.
  virtual absl::StatusOr<AssignResult> PlaceSerials(const Caller& caller,
                                                    std::string_view group_id,
                                                    const std::vector<SerialRef>& serials) = 0;

  // --- tokens ---
  // For the caller itself, or (admin on the root group) another principal of the
  // organization. kInvalidArgument for validity <= 0 or above max_token_validity.
  // Minting rule: the caller's token mints the new one, and a minted token never outlives
  // its minter nor survives it:
  //  - it expires no later than the caller's token. An explicit validity reaching past
  //    that is kInvalidArgument naming the minting token and its expiry (refused rather
  //    than silently shortened, so a client never holds a shorter token than it asked
  //    for); without one, default_token_validity is cut to the caller's token's expiry.
  //    The same holds when an admin mints for another principal: bounded by the admin's
  //    token, so a long-lived service-account token needs a long-lived admin token.
  //  - revoking a token revokes every token it minted, transitively (see RevokeToken).
  // Tokens made by masactl (bootstrap) have no minter. kUnauthenticated when the caller's
  // token is revoked while this runs.
  virtual absl::StatusOr<NewToken> CreateToken(const Caller& caller, TokenInput input) = 0;
  // principal_id "" = the caller's; another principal's needs admin. Never the secret.
  virtual absl::StatusOr<std::vector<TokenInfo>> ListTokens(
      const Caller& caller, std::string_view principal_id) const = 0;
  // The caller's own token, or (admin) any of its organization. Takes effect at once, and
  // revokes in the same store transaction every token minted from it, directly or through
  // other minted tokens (each audited "token.revoke"), whoever they belong to. Revoking in
  // the write rather than following the minting chain at every Authenticate keeps
  // authentication one read, and shows the minted tokens as revoked in ListTokens; it is
  // race-free because CreateToken re-checks its minter inside its own write transaction
  // and the store runs write transactions one at a time. Disabling a principal does not
  // reach the tokens it minted for others.
  virtual absl::Status RevokeToken(const Caller& caller, std::string_view token_id) = 0;

  // --- audit ---
  // Entries whose target lies in the caller's organization (admin), or in any / the given
  // organization (account team), from from_seq on.
  virtual absl::StatusOr<AuditPage> ListAudit(const Caller& caller,
                                              const AuditQuery& query) const = 0;
  // For a voucher the caller may view. kFailedPrecondition when no signed checkpoint covers
  // the entry yet (retry after the next checkpoint).
  virtual absl::StatusOr<VoucherInclusionProof> InclusionProof(
      const Caller& caller, std::string_view voucher_id) const = 0;

  // --- organizations ---
  // Vendor account team only (others, customer admins included: kPermissionDenied): what
  // the bootstrap CreateOrganization below does, audited with the caller as actor. The role
  // is checked again inside the write transaction. kAlreadyExists when the organization
  // exists, kInvalidArgument for a bad name or username or the vendor organization's name.
  virtual absl::StatusOr<BootstrapResult> CreateOrganization(
      const Caller& caller, std::string_view name, std::string_view admin_username) = 0;
  // The vendor's account team and support: every organization; anyone else: only its own.
  // In id order.
  virtual absl::StatusOr<std::vector<OrganizationInfo>> ListOrganizations(
      const Caller& caller) const = 0;

  // --- bootstrap (operator tools; no caller; audited with actor "masactl") ---
  // Creates organization "org-<name>" (name: [a-z0-9-], 1..63), its first admin user
  // `admin_username` bound admin on the root group, and a first token.
  virtual absl::StatusOr<BootstrapResult> CreateOrganization(std::string_view name,
                                                             std::string_view admin_username) = 0;
  // A principal of the vendor organization (created when absent) with `role` on its root
  // group, and a first token. `role` must be a vendor role (support, account-team,
  // security-officer); any other, customer roles included, is kInvalidArgument naming them.
  virtual absl::StatusOr<BootstrapResult> CreateVendorPrincipal(std::string_view username,
                                                                std::string_view role) = 0;
  // AssignSerials without a caller.
  virtual absl::StatusOr<AssignResult> AssignSerialsOffline(AssignInput input) = 0;
  // A new token, minted by no token, for the enabled principal named `username` (or its
  // principal id) of `organization_id`: how an operator lets an organization back in once
  // its tokens, which never outlive the token that minted them, have all expired or been
  // revoked. validity: default default_token_validity, at most max_token_validity.
  // kNotFound for an unknown organization or principal; kFailedPrecondition for a disabled
  // one. Audited "token.create" with actor "masactl".
  virtual absl::StatusOr<NewToken> IssueTokenOffline(std::string_view organization_id,
                                                     std::string_view username,
                                                     std::optional<absl::Duration> validity) = 0;

  // --- observability ---
  virtual const Metrics& metrics() const = 0;
  virtual size_t queue_depth() const = 0;
};

}  // namespace masa::service
