// The REST API's JSON: decoding request bodies and query strings into service inputs, and
// encoding service results with the field names of the product documentation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "service/audit_views.h"
#include "service/organizations.h"
#include "service/pdcs.h"
#include "service/principals.h"
#include "service/serials.h"
#include "service/tokens.h"
#include "service/types.h"
#include "service/voucher_types.h"

namespace masa::api::internal {

// Upper bound on serial_numbers the decoder accepts before the service applies its own
// (configured, smaller) limit; keeps a hostile body from costing work.
inline constexpr size_t kMaxSerialsDecoded = 1000;
// Serials in one POST /serials/assign (the body limit of the server binds first).
inline constexpr size_t kMaxAssignSerials = 100000;
// Bytes of one TPM datum (an EK, EK certificate or platform primary key) once decoded: the
// service's own limit, so REST refuses nothing masactl and gRPC take.
inline constexpr size_t kMaxTpmBytes = 16 * 1024;

// --- decoding: every error is kInvalidArgument naming the field ---
absl::StatusOr<service::VoucherRequestInput> DecodeVoucherRequest(std::string_view body);
absl::StatusOr<service::RenewInput> DecodeRenew(std::string_view body);  // empty body ok
absl::StatusOr<service::PdcInput> DecodePdc(std::string_view body);
absl::StatusOr<std::string> DecodeUsername(std::string_view body);     // {"username"}
absl::StatusOr<std::string> DecodeAccountName(std::string_view body);  // {"name"}

struct BindingInput {
  std::string principal_id;
  std::string group_id;
  service::Role role = service::Role::kViewer;
};
// An unknown role or grant name is kInvalidArgument naming the valid ones.
absl::StatusOr<BindingInput> DecodeBinding(std::string_view body);
absl::StatusOr<service::Grant> DecodeGrant(std::string_view body);  // {"grant"}
// A grant named in a path ({grant}); unknown: kInvalidArgument naming the valid ones.
absl::StatusOr<service::Grant> ParseGrantParam(std::string_view name);

struct GroupInput {
  std::string parent_id;
  std::string name;
};
absl::StatusOr<GroupInput> DecodeGroup(std::string_view body);
absl::StatusOr<service::TokenInput> DecodeToken(std::string_view body);  // empty body ok

struct OrganizationInput {
  std::string name;            // "acme" makes organization "org-acme"
  std::string admin_username;  // its first admin
};
absl::StatusOr<OrganizationInput> DecodeOrganization(std::string_view body);
absl::StatusOr<service::AssignInput> DecodeAssign(std::string_view body);

struct PlaceInput {
  std::string group_id;
  std::vector<service::SerialRef> serials;
};
absl::StatusOr<PlaceInput> DecodePlace(std::string_view body);

// {"organization_id"}: the organization let into a group ("org-<name>", or "*": any).
absl::StatusOr<std::string> DecodeDelegatedOrg(std::string_view body);

struct UserRoleInput {
  service::UserRef user;
  service::Role role = service::Role::kViewer;
};
// {"username", "kind" (user or service-account; default user), "organization_id" (default
// `caller_organization`), "role"}: a user's role on a group, by its tuple.
absl::StatusOr<UserRoleInput> DecodeUserRole(std::string_view body,
                                             std::string_view caller_organization);

// {"serials": [{"ien", "serial_number"}, ...]}: 1..kMaxSerialsDecoded serials to look up.
absl::StatusOr<std::vector<service::SerialRef>> DecodeSerialLookup(std::string_view body);

using Query = std::multimap<std::string, std::string>;
// The user named by `username` (a path segment) and the optional ?kind=&organization_id=
// (defaults: user, `caller_organization`).
absl::StatusOr<service::UserRef> DecodeUserQuery(std::string_view username, const Query& query,
                                                 std::string_view caller_organization);
// The serial named by `serial_number` (a path segment) and the optional ?ien= (default: the
// vendor's IEN, left to the service).
absl::StatusOr<service::SerialRef> DecodeSerialQuery(std::string_view serial_number,
                                                     const Query& query);
absl::StatusOr<service::ListVouchersInput> DecodeListVouchers(const Query& query);
absl::StatusOr<service::AuditQuery> DecodeAuditQuery(const Query& query);
// Optional ?principal_id= (bindings, tokens); no other parameter.
absl::StatusOr<std::string> DecodePrincipalFilter(const Query& query);
// No query parameters allowed.
absl::Status DecodeNoQuery(const Query& query);

// The longest validity a request may ask for, in days (vouchers, keys' certificates).
inline constexpr int64_t kMaxValidityDays = 3650;

// --- encoding ---
nlohmann::json TimeJson(absl::Time t);                                // RFC 3339 UTC string
nlohmann::json OptionalTimeJson(const std::optional<absl::Time>& t);  // TimeJson, or null
// Exactly the eleven documented members.
nlohmann::json VoucherJson(const service::VoucherInfo& v);
nlohmann::json SerialResultJson(const service::SerialResult& r);
nlohmann::json RequestResultJson(const service::RequestResult& r);  // {"ok","req_id","vouchers"}
// Dump(RequestResultJson(r)), byte for byte, written without building the JSON tree when
// every string is plain printable ASCII (the usual case: ids, serials, our own reasons). The
// answer to every voucher request, encoded on the store writer's thread.
std::string RequestResultBody(const service::RequestResult& r);
nlohmann::json RequestInfoJson(const service::RequestInfo& r);
nlohmann::json VoucherPageJson(const service::VoucherPage& page);
nlohmann::json PdcJson(const service::PdcInfo& p);
nlohmann::json PrincipalJson(const service::PrincipalInfo& p);
nlohmann::json BindingJson(const service::BindingInfo& b);
nlohmann::json GroupJson(const service::GroupInfo& g);
// GroupJson plus cert_ids, components, users, child_group_ids and delegated_orgs.
nlohmann::json GroupDetailsJson(const service::GroupDetails& d);
// Each datum base64, or null when unknown.
nlohmann::json TpmInfoJson(const service::TpmInfo& t);
nlohmann::json SerialDetailsJson(const service::SerialDetails& s);
// {"ok", "user", "roles": [{"group_id", "role"}, ...]} in group id order.
nlohmann::json UserRolesJson(const service::UserRef& user,
                             const std::map<std::string, service::Role>& roles);
nlohmann::json TokenJson(const service::TokenInfo& t);
nlohmann::json OrganizationJson(const service::OrganizationInfo& o);
nlohmann::json AuditPageJson(const service::AuditPage& page);
nlohmann::json ProofJson(const service::VoucherInclusionProof& proof);
nlohmann::json AssignResultJson(const service::AssignResult& r);

// DER certificate -> PEM text.
std::string CertificatePem(std::string_view der);

}  // namespace masa::api::internal
