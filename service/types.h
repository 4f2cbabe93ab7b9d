// The vocabulary every service interface shares: the authenticated Caller, roles, grants,
// principal kinds, the status enums with their names, and how ids are written. Names are
// parsed and rendered only at the edges (api/ codec, masactl); the domain works on enums.
//
// Errors: every service method answers an absl::Status whose code says what the caller
// should do next (kInvalidArgument bad input, kUnauthenticated, kPermissionDenied,
// kNotFound, kAlreadyExists / kFailedPrecondition conflicts, kResourceExhausted queue full,
// kUnavailable retry). Front ends map the code to their protocol in one table each (the
// REST table lives in api/).
//
// Objects of another organization are answered kNotFound, never kPermissionDenied, so a
// customer cannot learn that they exist. Within the caller's organization an object the
// caller may not even view is also kNotFound; one it may view but not act on is
// kPermissionDenied.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace masa::service {

// Roles, lowest first. A binding on a group covers its subtree; overlapping bindings: the
// highest wins, and grants add single permissions. The vendor roles exist only in the
// vendor organization (bound on its root group).
//
//   permission         viewer requestor assigner admin | support account-team sec-officer
//   view vouchers/reqs   x       x        x       x   |   all*     all*          -
//   request, renew               x        x       x   |   cust+
//   download                     x        x       x   |   cust+
//   archive                               x       x   |   cust+
//   manage PDCs                           x       x   |   cust+
//   place serials                         x       x   |   cust+
//   users, roles, groups,                         x   |   cust+
//    tokens of others, audit                          |            all* (audit)
//   assign serials to orgs                            |            x
//   create organizations                              |            x
//   (* = every organization, read only. + = in every customer organization, not in the
//   vendor's own: support is read-write everywhere, as OVGS defines the role, except the
//   audit log and the vendor organization, where it only views, so that it cannot give
//   itself another vendor role.) Grants "request", "download", "archive" add that one
//   permission to the binding's group subtree.
//
// Delegated organizations (OVGS): a group may let principals of other organizations (or of
// any, "*") hold roles on it and its subtree (Organizations::AddDelegatedOrganization). Such
// a binding counts only while its group or an ancestor still delegates the principal's
// organization, checked at each decision. Only an admin of the owner organization's root
// group delegates. Roles by (username, kind, organization) tuple (Principals::AddUserRole)
// are given and removed by admins of the group (OVGS lets an assigner give requestor; here,
// as in the issue, admin only); SUPPORT is given and removed only by a holder of support,
// and, like every vendor role, only to vendor principals on the vendor's root group.
enum class Role {
  kViewer,
  kRequestor,
  kAssigner,
  kAdmin,
  kSupport,
  kAccountTeam,
  kSecurityOfficer
};
// "viewer", "requestor", "assigner", "admin", "support", "account-team", "security-officer".
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// The single permissions an admin may grant on a binding.
enum class Grant { kRequest, kDownload, kArchive };
std::string_view GrantName(Grant grant);  // "request", "download", "archive"
std::optional<Grant> ParseGrant(std::string_view name);

// What a principal is: a person (an e-mail-style username) or a machine (a service
// account, e.g. a ZTP server).
enum class PrincipalKind { kUser, kServiceAccount };
std::string_view PrincipalKindName(PrincipalKind kind);  // "user", "service-account"

// An authenticated principal, as Authenticate() or AuthenticateSession() found it. Only the
// Service makes one, so holding a Caller proves a valid token (or session) was presented
// at that moment; its roles are NOT cached in it: every operation reads the current
// bindings, so a role removed or a token revoked takes effect on the next call. Copyable,
// cheap.
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
  std::string token_id_;    // "tok-..." for an API token, "ses-..." for a web session
  std::string token_hash_;  // to re-check revocation and expiry on every call
  // Authenticated by AuthenticateSession (service/sessions.h): every call re-checks the
  // session's idle timeout too, and only a session may end itself (EndSession).
  bool session_ = false;
};

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

// A principal named as OVGS names users: the tuple (username, kind, organization), unique
// in the appliance. Usernames are e-mail style for people or plain names ("admin",
// "srv-ztp") for either kind.
struct UserRef {
  std::string username;
  PrincipalKind kind = PrincipalKind::kUser;
  std::string organization_id;
};

// Vendor-side TPM data of a device, loaded with its serial assignment and returned with the
// serial and with each voucher (OVGS TpmInfo). At most one of endorsement_key and
// ek_certificate is set (DER); all empty when unknown.
struct TpmInfo {
  std::string endorsement_key;       // the EK public key (SubjectPublicKeyInfo DER)
  std::string ek_certificate;        // the EK certificate (DER)
  std::string platform_primary_key;  // the platform primary key (SubjectPublicKeyInfo DER)
};

}  // namespace masa::service
