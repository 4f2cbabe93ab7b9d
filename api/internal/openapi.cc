// The OpenAPI 3.1 document. Its operations are listed here, apart from the route table in
// rest_api.cc, on purpose: the consistency test compares the two, so a route added without
// documentation (or documentation without a route) fails the build's tests.
#include <cctype>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/internal/json_body.h"
#include "api/internal/openapi_ops.h"
#include "api/internal/rest_api_impl.h"
#include "nlohmann/json.hpp"
#include "service/types.h"

namespace masa::api::internal {
namespace {

using nlohmann::json;

const ParamDoc kVoucherId{"voucher_id", "path", "uuid",
                          "The voucher's id (an id of the older form v-... also finds it)."};
const ParamDoc kReqId{"req_id", "path", "uuid",
                      "The request's id (an id of the older form req-... also finds it)."};
const ParamDoc kCertId{"cert_id", "path", "string", "The uploaded certificate's id."};
const ParamDoc kPrincipalId{"principal_id", "path", "string", "The principal's id."};
const ParamDoc kBindingId{"binding_id", "path", "string", "The role binding's id."};
const ParamDoc kGroupId{"group_id", "path", "string", "The group's id."};
const ParamDoc kOrganizationId{"organization_id", "path", "string",
                               "The delegated organization (org-<name>, or * for any)."};
const ParamDoc kUsername{"username", "path", "string",
                         "The user's username (e-mail style, or a plain name such as srv-ztp)."};
const ParamDoc kUserKind{"kind", "query", "string", "user or service-account (default user)."};
const ParamDoc kUserOrganization{"organization_id", "query", "string",
                                 "The user's organization (default: the caller's)."};
const ParamDoc kSerialNumber{"serial_number", "path", "string", "The serial number."};
const ParamDoc kIen{"ien", "query", "string", "The serial's IEN (default: the vendor's)."};
const ParamDoc kTokenId{"token_id", "path", "string", "The token's id (tok-...)."};
const ParamDoc kGrant{"grant", "path", "string", "request, download or archive."};
const ParamDoc kKeyId{"key_id", "path", "string", "The key's id (key-...)."};
const ParamDoc kPrincipalFilter{"principal_id", "query", "string",
                                "Only this principal's (default: the caller's or all the "
                                "caller administers)."};

const std::vector<OperationDoc>& Operations() {
  // One route per entry, its fields packed as a table.
  // clang-format off
  static const std::vector<OperationDoc>* ops = new std::vector<OperationDoc>{
      {"get", "/healthz", "getHealth", "operations", "Liveness: 200 \"ok\" while the process runs.",
       {}, nullptr, false, 200, "text/plain", nullptr, false},
      {"get", "/readyz", "getReadiness", "operations",
       "Readiness: 200 when serving, 503 during start-up and draining.", {}, nullptr, false,
       200, "text/plain", nullptr, false},
      {"get", "/openapi.json", "getOpenApi", "operations", "This document.", {}, nullptr,
       false, 200, "application/json", nullptr, false},

      {"post", "/request/ov", "requestVouchers", "vouchers",
       "Request ownership vouchers for 1 to 20 serial numbers. Answers 200 once the request "
       "is durable, with one entry per serial: status \"completed\" (voucher_id set) or "
       "\"failed\" (reason set); the other serials proceed when one fails.",
       {}, "VoucherRequest", true, 200, "application/json", "VoucherRequestResult", true},
      {"get", "/request/{req_id}", "getRequest", "vouchers",
       "A request, the per-serial outcomes and the vouchers the caller may view (serials "
       "in groups it may not view are left out).", {kReqId},
       nullptr, false, 200, "application/json", "RequestResponse", true},
      {"get", "/request/{req_id}/download", "downloadRequest", "vouchers",
       "Every voucher of the request the caller may download, as a POSIX ustar archive of "
       "<serial_number>.vcj files.",
       {kReqId}, nullptr, false, 200, "application/x-tar", nullptr, true},
      {"get", "/voucher/{voucher_id}", "getVoucher", "vouchers", "One voucher's record.",
       {kVoucherId}, nullptr, false, 200, "application/json", "VoucherResponse", true},
      {"get", "/voucher/{voucher_id}/download", "downloadVoucher", "vouchers",
       "The voucher as CMS SignedData (DER), file <serial_number>.vcj.", {kVoucherId},
       nullptr, false, 200, "application/voucher-cms+json", nullptr, true},
      {"post", "/voucher/{voucher_id}/renew", "renewVoucher", "vouchers",
       "Re-sign the voucher with a fresh validity; sets last_renewal_at. The body is "
       "optional. 409 for an archived or superseded voucher (its serial is no longer "
       "assigned to the caller's organization).",
       {kVoucherId}, "RenewRequest", false, 200, "application/json", "VoucherRequestResult",
       true},
      {"post", "/voucher/{voucher_id}/archive", "archiveVoucher", "vouchers",
       "Archive the voucher (it no longer counts as live for conflicts).", {kVoucherId},
       nullptr, false, 200, "application/json", "VoucherResponse", true},
      {"get", "/voucher/{voucher_id}/proof", "getVoucherProof", "audit",
       "Inclusion proof of the voucher's latest issue/renew audit entry in the signed log.",
       {kVoucherId}, nullptr, false, 200, "application/json", "ProofResponse", true},
      {"get", "/vouchers", "listVouchers", "vouchers",
       "Vouchers the caller may view: filtered, sorted, grouped and paged.",
       {{"organization_id", "query", "string",
         "Vendor account team and support: which organization (default: all). Others may "
         "name only their own; another organization answers 404."},
        {"serial_number", "query", "string", "Exact serial number."},
        {"req_id", "query", "uuid", "Only this request's vouchers."},
        {"status", "query", "VoucherStatus",
         "Only vouchers with this status (\"issued\", its former name, is taken as "
         "completed)."},
        {"assertion", "query", "string", "Exact assertion, e.g. logged."},
        {"requested_by", "query", "string", "Principal name or id."},
        {"pdc_organization", "query", "string", "Exact O of the pinned-domain certificate."},
        {"from", "query", "date-time", "requested_at at or after (RFC 3339)."},
        {"to", "query", "date-time", "requested_at before (RFC 3339)."},
        {"archived", "query", "boolean", "true: archived only; false: live only."},
        {"sort", "query", "string", "Column to sort on (a voucher field name)."},
        {"order", "query", "string", "asc or desc (default desc)."},
        {"group_by", "query", "string", "Column to group by; groups carry counts."},
        {"page_size", "query", "integer", "1..1000, default 50."},
        {"page_token", "query", "string", "next_page_token of the previous page."}},
       nullptr, false, 200, "application/json", "VoucherPage", true},

      {"post", "/pdc", "uploadPdc", "pdcs", "Upload a pinned-domain certificate.", {},
       "PdcUpload", true, 201, "application/json", "PdcResponse", true},
      {"get", "/pdcs", "listPdcs", "pdcs", "The uploaded certificates the caller may view.",
       {}, nullptr, false, 200, "application/json", "PdcList", true},
      {"get", "/pdc/{cert_id}", "getPdc", "pdcs", "One uploaded certificate.", {kCertId},
       nullptr, false, 200, "application/json", "PdcResponse", true},
      {"delete", "/pdc/{cert_id}", "deletePdc", "pdcs",
       "Delete an uploaded certificate (vouchers already issued are unaffected).",
       {kCertId}, nullptr, false, 200, "application/json", "Ok", true},

      {"post", "/users", "inviteUser", "principals",
       "Invite a user by e-mail-style username (no role until bound).", {}, "InviteUser",
       true, 201, "application/json", "PrincipalResponse", true},
      {"post", "/service-accounts", "createServiceAccount", "principals",
       "Create a service account (for ZTP/bootstrap servers).", {}, "CreateServiceAccount",
       true, 201, "application/json", "PrincipalResponse", true},
      {"get", "/principals", "listPrincipals", "principals",
       "Users and service accounts of the caller's organization.", {}, nullptr, false, 200,
       "application/json", "PrincipalList", true},
      {"post", "/principals/{principal_id}/disable", "disablePrincipal", "principals",
       "Disable a principal; its tokens stop working at once.", {kPrincipalId}, nullptr,
       false, 200, "application/json", "Ok", true},
      {"post", "/bindings", "createBinding", "principals",
       "Give a principal a role on a group and its subtree.", {}, "BindingRequest", true, 201,
       "application/json", "BindingResponse", true},
      {"get", "/bindings", "listBindings", "principals", "Role bindings.",
       {kPrincipalFilter}, nullptr, false, 200, "application/json", "BindingList", true},
      {"delete", "/bindings/{binding_id}", "deleteBinding", "principals",
       "Remove a role binding.", {kBindingId}, nullptr, false, 200, "application/json", "Ok",
       true},
      {"post", "/bindings/{binding_id}/grants", "addGrant", "principals",
       "Add a single permission (request, download, archive) to a binding.", {kBindingId},
       "GrantRequest", true, 200, "application/json", "BindingResponse", true},
      {"delete", "/bindings/{binding_id}/grants/{grant}", "removeGrant", "principals",
       "Remove a single permission from a binding.", {kBindingId, kGrant}, nullptr, false,
       200, "application/json", "BindingResponse", true},
      {"post", "/groups", "createGroup", "groups", "Create a group below a parent group.", {},
       "GroupRequest", true, 201, "application/json", "GroupResponse", true},
      {"get", "/groups", "listGroups", "groups", "Groups the caller may view.", {}, nullptr,
       false, 200, "application/json", "GroupList", true},
      {"delete", "/groups/{group_id}", "deleteGroup", "groups",
       "Delete an empty group: 409 while it has child groups, users, serials or PDCs; 400 "
       "for an organization's root group.",
       {kGroupId}, nullptr, false, 200, "application/json", "Ok", true},
      {"get", "/groups/{group_id}", "getGroup", "groups",
       "One group's details: its certificates, serials (the root group lists every serial of "
       "the organization), users with their role on this group, child groups and delegated "
       "organizations. A caller of a delegated organization sees only its own "
       "organization's users and entry of delegated_orgs.",
       {kGroupId}, nullptr, false, 200, "application/json", "GroupDetailsResponse", true},
      {"post", "/groups/{group_id}/delegated-orgs", "addDelegatedOrg", "groups",
       "Admin of the organization's root group: let the users of another organization (or "
       "of any, *) hold roles on this group and its subtree, present and future. 409 when "
       "already delegated here, 404 for an unknown organization, 400 for the group's own.",
       {kGroupId}, "DelegatedOrgRequest", true, 201, "application/json",
       "DelegationResponse", true},
      {"delete", "/groups/{group_id}/delegated-orgs/{organization_id}", "removeDelegatedOrg",
       "groups",
       "Undo a delegation made on this group. 404 when it was not delegated here; 409 while "
       "users of that organization hold roles in the subtree that no other delegation lets "
       "in.",
       {kGroupId, kOrganizationId}, nullptr, false, 200, "application/json", "Ok", true},
      {"post", "/groups/{group_id}/users", "addUserRole", "principals",
       "Give a user, named by (username, kind, organization_id), a role on this group: one "
       "role per user per group (409 when it has one; 409 for an unknown user). Needs admin "
       "on the group; a delegated organization's admin, only for its own users; support "
       "only by support.",
       {kGroupId}, "UserRoleRequest", true, 201, "application/json", "BindingResponse", true},
      {"delete", "/groups/{group_id}/users/{username}", "removeUserRole", "principals",
       "Remove the user's role on this group (404 when it has none).",
       {kGroupId, kUsername, kUserKind, kUserOrganization}, nullptr, false, 200,
       "application/json", "Ok", true},
      {"get", "/users/{username}/roles", "getUserRoles", "principals",
       "The user's roles, only on groups where the caller itself holds a role (an empty "
       "list otherwise); 404 only for an unknown user.",
       {kUsername, kUserKind, kUserOrganization}, nullptr, false, 200, "application/json",
       "UserRoles", true},

      {"post", "/organizations", "createOrganization", "organizations",
       "Vendor account team: create a customer organization, its first admin and that "
       "admin's first token (the secret is in this answer only).",
       {}, "OrganizationRequest", true, 201, "application/json", "NewOrganizationResponse",
       true},
      {"get", "/organizations", "listOrganizations", "organizations",
       "Organizations: every one for the vendor's account team and support, else the "
       "caller's own.",
       {}, nullptr, false, 200, "application/json", "OrganizationList", true},

      {"post", "/tokens", "createToken", "tokens",
       "Create an API token; the secret is in this answer only. The caller's token mints "
       "it: the new token expires no later than the caller's (validity_days reaching past "
       "that is refused with 400; without validity_days the default is cut to it) and is "
       "revoked when the caller's token is.", {}, "TokenRequest", false,
       201, "application/json", "NewTokenResponse", true},
      {"get", "/tokens", "listTokens", "tokens", "Tokens (never their secrets).",
       {kPrincipalFilter}, nullptr, false, 200, "application/json", "TokenList", true},
      {"delete", "/tokens/{token_id}", "revokeToken", "tokens",
       "Revoke a token, and every token minted from it (transitively); refused at once "
       "from then on.", {kTokenId}, nullptr, false, 200,
       "application/json", "Ok", true},

      {"post", "/serials/assign", "assignSerials", "serials",
       "Vendor account team: assign serial numbers to an organization.", {}, "AssignRequest",
       true, 200, "application/json", "AssignResult", true},
      {"post", "/serials/place", "placeSerials", "serials",
       "Move serial numbers of the caller's organization into a group.", {}, "PlaceRequest",
       true, 200, "application/json", "AssignResult", true},
      {"get", "/serial/{serial_number}", "getSerial", "serials",
       "One serial's details: its groups (the group below the root it is placed in, if any, "
       "then the organization id), model, MAC address and TPM data.",
       {kSerialNumber, kIen}, nullptr, false, 200, "application/json", "SerialResponse", true},
      {"post", "/serials/lookup", "lookupSerials", "serials",
       "The details of 1 to 1000 serials, in the order asked, all or nothing: 404 naming the "
       "first one the caller cannot view.",
       {}, "SerialLookupRequest", true, 200, "application/json", "SerialList", true},
      {"get", "/groups/{group_id}/components", "listComponents", "serials",
       "The serials in this group (the root group: every serial of the organization), with "
       "their details, in (ien, serial_number) order.",
       {kGroupId}, nullptr, false, 200, "application/json", "ComponentList", true},
      {"delete", "/groups/{group_id}/components/{serial_number}", "removeSerial", "serials",
       "Take the serial out of this group, back to its organization's root group only. 404 "
       "when it is not in this group; 400 for the root group (a serial leaves its "
       "organization only by reassignment).",
       {kGroupId, kSerialNumber, kIen}, nullptr, false, 200, "application/json", "Ok", true},
      {"get", "/audit", "listAudit", "audit", "Audit log entries the caller may see.",
       {{"organization_id", "query", "string", "Vendor account team: which organization."},
        {"from", "query", "integer", "First sequence number (default 0)."},
        {"limit", "query", "integer", "1..1000, default 100."}},
       nullptr, false, 200, "application/json", "AuditPage", true},

      {"get", "/keys", "listPublishedKeys", "keys",
       "No token: the active and retired signing certificates (and the audit keys), each with "
       "its chain up to the trust anchor, so that verifiers can check any voucher the "
       "appliance signed, before or after a rotation. Pending keys are not listed.",
       {}, nullptr, false, 200, "application/json", "PublishedKeyList", false},
      {"get", "/keys/{key_id}/chain.pem", "getKeyChain", "keys",
       "No token: one published key's certificate chain as PEM, leaf first, up to and "
       "including the trust anchor (404 for a pending or unknown key, or one without a "
       "certificate).",
       {kKeyId}, nullptr, false, 200, "application/pem-certificate-chain", nullptr, false},
      {"get", "/keys/managed", "listManagedKeys", "keys",
       "Security officer: every key, pending ones too, with its PKCS#11 URI, validity, "
       "first and last use and the vouchers it signed.",
       {}, nullptr, false, 200, "application/json", "KeyList", true},
      {"post", "/keys", "generateKey", "keys",
       "Security officer: make a key pair inside the HSM (sensitive, non-extractable), state "
       "pending.",
       {}, "KeyGenerateRequest", false, 201, "application/json", "KeyResponse", true},
      {"post", "/keys/{key_id}/csr", "createKeyCsr", "keys",
       "Security officer: a PKCS#10 request for the key, signed inside the HSM, as PEM, for "
       "an external CA.",
       {kKeyId}, "KeyCsrRequest", false, 200, "application/x-pem-file", nullptr, true},
      {"post", "/keys/{key_id}/issue", "issueKeyCertificate", "keys",
       "Security officer: have the vendor CA key (in the HSM) certify the pending key.",
       {kKeyId}, "KeyIssueRequest", false, 200, "application/json", "KeyResponse", true},
      {"put", "/keys/{key_id}/certificate", "importKeyCertificate", "keys",
       "Security officer: the certificate chain an external CA issued (PEM, leaf first); 409 "
       "when the leaf does not hold the key or the chain does not lead to the trust anchor.",
       {kKeyId}, "application/pem-certificate-chain", true, 200, "application/json",
       "KeyResponse", true},
      {"post", "/keys/{key_id}/activate", "activateKey", "keys",
       "Security officer: make the key the signing key of its purpose (the active one is "
       "retired at the same time); the running daemon switches without failing a request. "
       "202 while the two-person rule waits for more officers' approvals.",
       {kKeyId}, nullptr, false, 200, "application/json", "KeyActionResult", true},
      {"post", "/keys/{key_id}/retire", "retireKey", "keys",
       "Security officer: retire a pending key that will not be used; it never signs and its "
       "certificate, if any, stays published. 409 for an active key (activating its successor "
       "retires it) or a retired one. 202 while approvals are pending.",
       {kKeyId}, nullptr, false, 200, "application/json", "KeyActionResult", true},
      {"get", "/key-approvals", "listKeyApprovals", "keys",
       "Security officer: the open two-person approvals (expired ones are not listed).",
       {}, nullptr, false, 200, "application/json", "KeyApprovalList", true},
      {"post", "/key-approvals/{approval_id}/approve", "approveKeyAction", "keys",
       "Security officer: approve another officer's activation or retirement; 200 when this "
       "approval completed it, 202 while more are needed, 409 for the caller's own second "
       "approval.",
       {{"approval_id", "path", "string", "The approval's id (apr-...)."}}, nullptr, false,
       200, "application/json", "KeyActionResult", true},
  };
  // clang-format on
  return *ops;
}

// Component schemas. Objects are closed (additionalProperties false) as the decoder is.
constexpr const char* kSchemas = R"json({
  "Problem": {"type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
      "status": {"type": "integer"}, "detail": {"type": "string"}}},
  "Ok": {"type": "object", "required": ["ok"], "properties": {"ok": {"const": true}}},
  "DateTime": {"type": "string", "format": "date-time"},
  "Uuid": {"type": "string", "format": "uuid",
    "description": "An RFC 9562 UUID, version 7 (time-ordered), lower case.",
    "examples": ["019acc3c-4c7b-7012-8d15-9e26af37bc00"]},
  "Voucher": {"type": "object", "additionalProperties": false,
    "required": ["req_id", "voucher_id", "requested_at", "created_at", "expires_at",
      "last_renewal_at", "assertion", "status", "serial_number", "pdc_organization",
      "requested_by"],
    "properties": {"req_id": {"$ref": "#/components/schemas/Uuid"},
      "voucher_id": {"$ref": "#/components/schemas/Uuid"},
      "requested_at": {"$ref": "#/components/schemas/DateTime"},
      "created_at": {"$ref": "#/components/schemas/DateTime"},
      "expires_at": {"$ref": "#/components/schemas/DateTime"},
      "last_renewal_at": {"oneOf": [{"$ref": "#/components/schemas/DateTime"}, {"type": "null"}]},
      "assertion": {"enum": ["verified", "logged", "proximity", "agent-proximity"],
        "description": "The voucher's assertion: the vendor's setting ([voucher] assertion, default logged) when issued; a renewal keeps it.",
        "example": "logged"},
      "status": {"$ref": "#/components/schemas/VoucherStatus"},
      "serial_number": {"type": "string"}, "pdc_organization": {"type": "string"},
      "requested_by": {"type": "string"}}},
  "VoucherResponse": {"type": "object", "additionalProperties": false,
    "required": ["ok", "voucher"],
    "properties": {"ok": {"const": true}, "voucher": {"$ref": "#/components/schemas/Voucher"}}},
  "VoucherRequest": {"type": "object", "additionalProperties": false,
    "required": ["serial_numbers"],
    "description": "Exactly one of pdc and cert_id.",
    "properties": {
      "serial_numbers": {"type": "array", "minItems": 1, "maxItems": 20,
        "items": {"type": "string", "minLength": 1, "maxLength": 64}},
      "ien": {"type": "string", "description": "Default: the vendor's IEN."},
      "pdc": {"type": "string", "description": "Pinned-domain certificate, PEM."},
      "cert_id": {"type": "string", "description": "Id of an uploaded PDC."},
      "platform_cert": {"type": "string",
        "description": "The owner's UEFI platform key (PK) certificate, PEM: one certificate, valid now, issued by the pinned-domain certificate (issuer = its subject, signature by its key). Every voucher of the request carries it as the leaf masa-extended-voucher:platform-key-certificate (extended ownership voucher; YANG module masa-extended-voucher, installed in share/masa/yang); a renewal keeps it. Refused with 400 naming platform_cert otherwise."},
      "expires_at": {"$ref": "#/components/schemas/DateTime"},
      "os_type": {"enum": ["ios-xr", "ios-xe"]},
      "override": {"type": "boolean",
        "description": "Issue even if a live voucher pins another PDC."},
      "security_profile": {"type": "string"}}},
  "SerialResult": {"type": "object", "required": ["serial_number", "voucher_id", "status"],
    "properties": {"serial_number": {"type": "string"},
      "voucher_id": {"type": ["string", "null"], "format": "uuid"},
      "status": {"$ref": "#/components/schemas/SerialStatus"}, "reason": {"type": "string"}}},
  "VoucherRequestResult": {"type": "object", "required": ["ok", "req_id", "vouchers"],
    "properties": {"ok": {"const": true}, "req_id": {"$ref": "#/components/schemas/Uuid"},
      "vouchers": {"type": "array", "items": {"$ref": "#/components/schemas/SerialResult"}}}},
  "RenewRequest": {"type": "object", "additionalProperties": false,
    "properties": {"expires_at": {"$ref": "#/components/schemas/DateTime"}}},
  "Request": {"type": "object",
    "required": ["req_id", "requested_at", "requested_by", "status", "serials", "vouchers"],
    "properties": {"req_id": {"$ref": "#/components/schemas/Uuid"},
      "requested_at": {"$ref": "#/components/schemas/DateTime"},
      "requested_by": {"type": "string"},
      "status": {"$ref": "#/components/schemas/RequestStatus"},
      "ien": {"type": "string"}, "os_type": {"type": "string"},
      "security_profile": {"type": "string"}, "pdc_organization": {"type": "string"},
      "override": {"type": "boolean"},
      "serials": {"type": "array", "items": {"$ref": "#/components/schemas/SerialResult"}},
      "vouchers": {"type": "array", "items": {"$ref": "#/components/schemas/Voucher"}}}},
  "RequestResponse": {"type": "object", "required": ["ok", "request"],
    "properties": {"ok": {"const": true}, "request": {"$ref": "#/components/schemas/Request"}}},
  "VoucherPage": {"type": "object", "required": ["ok", "vouchers", "total", "next_page_token"],
    "properties": {"ok": {"const": true},
      "vouchers": {"type": "array", "items": {"$ref": "#/components/schemas/Voucher"}},
      "total": {"type": "integer"},
      "next_page_token": {"type": ["string", "null"]},
      "groups": {"type": "array", "items": {"type": "object", "required": ["value", "count"],
        "properties": {"value": {"type": "string"}, "count": {"type": "integer"}}}}}},
  "Proof": {"type": "object",
    "required": ["leaf_index", "tree_size", "leaf", "hashes", "checkpoint"],
    "properties": {"leaf_index": {"type": "integer"}, "tree_size": {"type": "integer"},
      "leaf": {"type": "string", "contentEncoding": "base64",
        "description": "The audit entry bytes (the Merkle leaf)."},
      "hashes": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}},
      "checkpoint": {"type": "string", "description": "The signed checkpoint note."}}},
  "ProofResponse": {"type": "object", "required": ["ok", "proof"],
    "properties": {"ok": {"const": true}, "proof": {"$ref": "#/components/schemas/Proof"}}},
  "PdcUpload": {"type": "object", "additionalProperties": false, "required": ["certificate"],
    "properties": {"name": {"type": "string"}, "certificate": {"type": "string",
      "description": "PEM"}, "group_id": {"type": "string"},
      "revocation_checks": {"type": "boolean", "default": false,
        "description": "Vouchers pinned to it ask the device to check the certificate's revocation (domain-cert-revocation-checks)."},
      "expiry_time": {"allOf": [{"$ref": "#/components/schemas/DateTime"}],
        "description": "When it stops being usable for new vouchers; in the future. Default: the certificate's not_after."}}},
  "Pdc": {"type": "object",
    "properties": {"cert_id": {"type": "string"}, "group_id": {"type": "string"},
      "name": {"type": "string"}, "subject": {"type": "string"},
      "pdc_organization": {"type": "string"},
      "not_before": {"$ref": "#/components/schemas/DateTime"},
      "not_after": {"$ref": "#/components/schemas/DateTime"},
      "sha256": {"type": "string"}, "certificate": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/DateTime"},
      "revocation_checks": {"type": "boolean"},
      "expiry_time": {"oneOf": [{"$ref": "#/components/schemas/DateTime"}, {"type": "null"}],
        "description": "As uploaded; null: not_after applies."}}},
  "PdcResponse": {"type": "object", "required": ["ok", "pdc"],
    "properties": {"ok": {"const": true}, "pdc": {"$ref": "#/components/schemas/Pdc"}}},
  "PdcList": {"type": "object", "required": ["ok", "pdcs"],
    "properties": {"ok": {"const": true},
      "pdcs": {"type": "array", "items": {"$ref": "#/components/schemas/Pdc"}}}},
  "InviteUser": {"type": "object", "additionalProperties": false, "required": ["username"],
    "properties": {"username": {"type": "string", "format": "email"}}},
  "CreateServiceAccount": {"type": "object", "additionalProperties": false,
    "required": ["name"], "properties": {"name": {"type": "string"}}},
  "Principal": {"type": "object",
    "properties": {"principal_id": {"type": "string"}, "organization_id": {"type": "string"},
      "kind": {"enum": ["user", "service-account"]}, "name": {"type": "string"},
      "disabled": {"type": "boolean"},
      "created_at": {"$ref": "#/components/schemas/DateTime"}}},
  "PrincipalResponse": {"type": "object", "required": ["ok", "principal"],
    "properties": {"ok": {"const": true},
      "principal": {"$ref": "#/components/schemas/Principal"}}},
  "PrincipalList": {"type": "object", "required": ["ok", "principals"],
    "properties": {"ok": {"const": true},
      "principals": {"type": "array", "items": {"$ref": "#/components/schemas/Principal"}}}},
  "BindingRequest": {"type": "object", "additionalProperties": false,
    "required": ["principal_id", "group_id", "role"],
    "properties": {"principal_id": {"type": "string"}, "group_id": {"type": "string"},
      "role": {"enum": ["viewer", "requestor", "assigner", "admin", "support",
        "account-team", "security-officer"]}}},
  "Binding": {"type": "object",
    "properties": {"binding_id": {"type": "string"}, "principal_id": {"type": "string"},
      "group_id": {"type": "string"}, "role": {"type": "string"},
      "grants": {"type": "array", "items": {"enum": ["request", "download", "archive"]}},
      "created_at": {"$ref": "#/components/schemas/DateTime"}}},
  "BindingResponse": {"type": "object", "required": ["ok", "binding"],
    "properties": {"ok": {"const": true}, "binding": {"$ref": "#/components/schemas/Binding"}}},
  "BindingList": {"type": "object", "required": ["ok", "bindings"],
    "properties": {"ok": {"const": true},
      "bindings": {"type": "array", "items": {"$ref": "#/components/schemas/Binding"}}}},
  "GrantRequest": {"type": "object", "additionalProperties": false, "required": ["grant"],
    "properties": {"grant": {"enum": ["request", "download", "archive"]}}},
  "GroupRequest": {"type": "object", "additionalProperties": false,
    "required": ["parent_id", "name"],
    "properties": {"parent_id": {"type": "string"}, "name": {"type": "string"}}},
  "Group": {"type": "object",
    "properties": {"group_id": {"type": "string"}, "organization_id": {"type": "string"},
      "parent_id": {"type": ["string", "null"]}, "name": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/DateTime"}}},
  "GroupResponse": {"type": "object", "required": ["ok", "group"],
    "properties": {"ok": {"const": true}, "group": {"$ref": "#/components/schemas/Group"}}},
  "GroupList": {"type": "object", "required": ["ok", "groups"],
    "properties": {"ok": {"const": true},
      "groups": {"type": "array", "items": {"$ref": "#/components/schemas/Group"}}}},
  "GroupDetails": {"allOf": [{"$ref": "#/components/schemas/Group"}, {"type": "object",
    "required": ["cert_ids", "components", "users", "child_group_ids", "delegated_orgs"],
    "properties": {
      "cert_ids": {"type": "array", "items": {"type": "string"},
        "description": "The certificates uploaded to this group (not its children's)."},
      "components": {"type": "array", "items": {"$ref": "#/components/schemas/SerialRef"}},
      "users": {"type": "array", "items": {"$ref": "#/components/schemas/GroupMember"}},
      "child_group_ids": {"type": "array", "items": {"type": "string"}},
      "delegated_orgs": {"type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Organization id (or *) -> the groups, this one or its ancestors, whose delegation lets it in."}}}]},
  "GroupDetailsResponse": {"type": "object", "required": ["ok", "group"],
    "properties": {"ok": {"const": true},
      "group": {"$ref": "#/components/schemas/GroupDetails"}}},
  "GroupMember": {"type": "object", "required": ["username", "kind", "organization_id", "role"],
    "properties": {"username": {"type": "string"},
      "kind": {"enum": ["user", "service-account"]}, "organization_id": {"type": "string"},
      "role": {"type": "string", "description": "The role bound on this group itself."}}},
  "DelegatedOrgRequest": {"type": "object", "additionalProperties": false,
    "required": ["organization_id"],
    "properties": {"organization_id": {"type": "string",
      "description": "org-<name>, or * for every organization."}}},
  "DelegationResponse": {"type": "object", "required": ["ok", "delegation"],
    "properties": {"ok": {"const": true}, "delegation": {"type": "object",
      "required": ["group_id", "organization_id"],
      "properties": {"group_id": {"type": "string"}, "organization_id": {"type": "string"}}}}},
  "UserRoleRequest": {"type": "object", "additionalProperties": false,
    "required": ["username", "role"],
    "properties": {"username": {"type": "string"},
      "kind": {"enum": ["user", "service-account"], "default": "user"},
      "organization_id": {"type": "string", "description": "Default: the caller's."},
      "role": {"enum": ["viewer", "requestor", "assigner", "admin", "support",
        "account-team", "security-officer"]}}},
  "UserRoles": {"type": "object", "required": ["ok", "user", "roles"],
    "properties": {"ok": {"const": true},
      "user": {"type": "object", "required": ["username", "kind", "organization_id"],
        "properties": {"username": {"type": "string"},
          "kind": {"enum": ["user", "service-account"]},
          "organization_id": {"type": "string"}}},
      "roles": {"type": "array", "items": {"type": "object", "required": ["group_id", "role"],
        "properties": {"group_id": {"type": "string"}, "role": {"type": "string"}}}}}},
  "OrganizationRequest": {"type": "object", "additionalProperties": false,
    "required": ["name", "admin_username"],
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        "description": "acme makes organization org-acme."},
      "admin_username": {"type": "string", "description": "The first admin, e.g. an e-mail."}}},
  "Organization": {"type": "object",
    "properties": {"organization_id": {"type": "string"}, "name": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/DateTime"}}},
  "NewOrganizationResponse": {"type": "object",
    "required": ["ok", "organization", "admin", "token"],
    "properties": {"ok": {"const": true},
      "organization": {"$ref": "#/components/schemas/Organization"},
      "admin": {"$ref": "#/components/schemas/Principal"},
      "token": {"allOf": [
        {"$ref": "#/components/schemas/Token"},
        {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string",
          "description": "The admin's bearer credential; shown this once."}}}]}}},
  "OrganizationList": {"type": "object", "required": ["ok", "organizations"],
    "properties": {"ok": {"const": true},
      "organizations": {"type": "array",
        "items": {"$ref": "#/components/schemas/Organization"}}}},
  "TokenRequest": {"type": "object", "additionalProperties": false,
    "properties": {"principal_id": {"type": "string"},
      "validity_days": {"type": "integer", "minimum": 1, "maximum": 183},
      "description": {"type": "string"}}},
  "Token": {"type": "object",
    "properties": {"token_id": {"type": "string"}, "principal_id": {"type": "string"},
      "description": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/DateTime"},
      "expires_at": {"$ref": "#/components/schemas/DateTime"},
      "revoked": {"type": "boolean"}, "created_by": {"type": "string"},
      "minted_by": {"type": ["string", "null"],
        "description": "The token that minted it (null: masactl); it dies with that one."}}},
  "NewTokenResponse": {"type": "object", "required": ["ok", "token"],
    "properties": {"ok": {"const": true}, "token": {"allOf": [
      {"$ref": "#/components/schemas/Token"},
      {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string",
        "description": "The bearer credential; shown this once."}}}]}}},
  "TokenList": {"type": "object", "required": ["ok", "tokens"],
    "properties": {"ok": {"const": true},
      "tokens": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}}},
  "AssignRequest": {"type": "object", "additionalProperties": false,
    "required": ["organization_id", "serials"],
    "properties": {"organization_id": {"type": "string"}, "group_id": {"type": "string"},
      "reassign": {"type": "boolean",
        "description": "Move serials that belong to another organization."},
      "serials": {"type": "array", "minItems": 1, "items": {"type": "object",
        "additionalProperties": false, "required": ["serial_number"],
        "properties": {"ien": {"type": "string"}, "serial_number": {"type": "string"},
          "model": {"type": "string"},
          "mac_addr": {"type": "string", "maxLength": 64, "examples": ["00:1c:73:aa:bb:cc"]},
          "tpm_info": {"$ref": "#/components/schemas/TpmInfo"}}}}}},
  "PlaceRequest": {"type": "object", "additionalProperties": false,
    "required": ["group_id", "serials"],
    "properties": {"group_id": {"type": "string"},
      "serials": {"type": "array", "minItems": 1, "items": {"type": "object",
        "additionalProperties": false, "required": ["serial_number"],
        "properties": {"ien": {"type": "string"}, "serial_number": {"type": "string"}}}}}},
  "SerialRef": {"type": "object", "additionalProperties": false,
    "required": ["serial_number"],
    "properties": {"ien": {"type": "string", "description": "Default: the vendor's IEN."},
      "serial_number": {"type": "string"}}},
  "TpmInfo": {"type": "object", "additionalProperties": false,
    "description": "Vendor-side TPM data, each DER in standard base64; at most one of endorsement_key and ek_certificate. Answers carry all three members, null when unknown.",
    "properties": {
      "endorsement_key": {"type": ["string", "null"], "contentEncoding": "base64",
        "description": "The EK public key (SubjectPublicKeyInfo)."},
      "ek_certificate": {"type": ["string", "null"], "contentEncoding": "base64"},
      "platform_primary_key": {"type": ["string", "null"], "contentEncoding": "base64",
        "description": "SubjectPublicKeyInfo."}}},
  "SerialDetails": {"type": "object",
    "required": ["ien", "serial_number", "organization_id", "group_ids", "model", "mac_addr",
      "tpm_info"],
    "properties": {"ien": {"type": "string"}, "serial_number": {"type": "string"},
      "organization_id": {"type": "string"},
      "group_ids": {"type": "array", "items": {"type": "string"},
        "description": "The group below the root it is placed in (if any), then the organization id."},
      "model": {"type": "string"}, "mac_addr": {"type": "string"},
      "tpm_info": {"$ref": "#/components/schemas/TpmInfo"}}},
  "SerialResponse": {"type": "object", "required": ["ok", "serial"],
    "properties": {"ok": {"const": true},
      "serial": {"$ref": "#/components/schemas/SerialDetails"}}},
  "SerialLookupRequest": {"type": "object", "additionalProperties": false,
    "required": ["serials"],
    "properties": {"serials": {"type": "array", "minItems": 1, "maxItems": 1000,
      "items": {"$ref": "#/components/schemas/SerialRef"}}}},
  "SerialList": {"type": "object", "required": ["ok", "serials"],
    "properties": {"ok": {"const": true},
      "serials": {"type": "array", "items": {"$ref": "#/components/schemas/SerialDetails"}}}},
  "ComponentList": {"type": "object", "required": ["ok", "components"],
    "properties": {"ok": {"const": true},
      "components": {"type": "array",
        "items": {"$ref": "#/components/schemas/SerialDetails"}}}},
  "AssignResult": {"type": "object", "required": ["ok", "assigned", "unchanged"],
    "properties": {"ok": {"const": true}, "assigned": {"type": "integer"},
      "unchanged": {"type": "integer"}}},
  "AuditEntry": {"type": "object",
    "properties": {"seq": {"type": "integer"},
      "time": {"$ref": "#/components/schemas/DateTime"},
      "actor": {"type": "string"}, "action": {"type": "string"},
      "target": {"type": "string"}, "outcome": {"type": "string"},
      "object_hash": {"type": ["string", "null"], "description": "SHA-256, hex"},
      "node": {"type": ["string", "null"],
        "description": "the masad node that wrote it (several nodes on PostgreSQL)"}}},
  "PublishedKey": {"type": "object",
    "required": ["key_id", "purpose", "state", "not_after", "chain", "public_key"],
    "properties": {"key_id": {"type": "string"},
      "purpose": {"enum": ["voucher-signing", "audit"]},
      "state": {"enum": ["active", "retired"]},
      "subject": {"type": ["string", "null"]},
      "not_before": {"oneOf": [{"$ref": "#/components/schemas/DateTime"}, {"type": "null"}]},
      "not_after": {"oneOf": [{"$ref": "#/components/schemas/DateTime"}, {"type": "null"}]},
      "fingerprint_sha256": {"type": ["string", "null"]},
      "chain": {"type": "array", "items": {"type": "string"},
        "description": "PEM certificates, leaf first, up to and including the trust anchor."},
      "public_key": {"type": ["string", "null"], "description": "SubjectPublicKeyInfo, PEM."}}},
  "PublishedKeyList": {"type": "object", "required": ["ok", "keys"],
    "properties": {"ok": {"const": true},
      "keys": {"type": "array", "items": {"$ref": "#/components/schemas/PublishedKey"}}}},
  "Key": {"type": "object",
    "properties": {"key_id": {"type": "string"},
      "uri": {"type": "string", "description": "RFC 7512 PKCS#11 URI of the private key."},
      "purpose": {"enum": ["voucher-signing", "audit"]},
      "algorithm": {"enum": ["p256", "p384", "rsa3072", "ed25519"]},
      "state": {"enum": ["pending", "active", "retired"]},
      "subject": {"type": "string"},
      "not_before": {"type": ["string", "null"], "format": "date-time"},
      "not_after": {"type": ["string", "null"], "format": "date-time"},
      "fingerprint_sha256": {"type": "string"},
      "chain": {"type": "array", "items": {"type": "string"}},
      "public_key": {"type": ["string", "null"]},
      "created_at": {"$ref": "#/components/schemas/DateTime"},
      "created_by": {"type": "string"},
      "activated_at": {"type": ["string", "null"], "format": "date-time"},
      "retired_at": {"type": ["string", "null"], "format": "date-time"},
      "first_used_at": {"type": ["string", "null"], "format": "date-time"},
      "last_used_at": {"type": ["string", "null"], "format": "date-time"},
      "signatures": {"type": "integer", "description": "Vouchers (or checkpoints) signed."}}},
  "KeyResponse": {"type": "object", "required": ["ok", "key"],
    "properties": {"ok": {"const": true}, "key": {"$ref": "#/components/schemas/Key"}}},
  "KeyList": {"type": "object", "required": ["ok", "keys"],
    "properties": {"ok": {"const": true},
      "keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}},
  "KeyGenerateRequest": {"type": "object", "additionalProperties": false,
    "properties": {"purpose": {"enum": ["voucher-signing", "audit"], "default": "voucher-signing"},
      "algorithm": {"enum": ["p256", "p384", "rsa3072", "ed25519"], "default": "p256"},
      "label": {"type": "string", "description": "CKA_LABEL; default masa-<purpose>-<key id>."}}},
  "KeyCsrRequest": {"type": "object", "additionalProperties": false,
    "properties": {"subject": {"type": "string", "examples": ["CN=MASA 2027,O=Vendor"]}}},
  "KeyIssueRequest": {"type": "object", "additionalProperties": false,
    "properties": {"subject": {"type": "string",
        "description": "Default: the active key's subject."},
      "validity_days": {"type": "integer", "minimum": 1, "maximum": 3650}}},
  "KeyApproval": {"type": "object",
    "properties": {"approval_id": {"type": "string"}, "key_id": {"type": "string"},
      "action": {"enum": ["activate", "retire"]},
      "approved_by": {"type": "array", "items": {"type": "string"},
        "description": "Principal ids, the opener first."},
      "required": {"type": "integer"},
      "created_at": {"$ref": "#/components/schemas/DateTime"},
      "expires_at": {"$ref": "#/components/schemas/DateTime"}}},
  "KeyApprovalList": {"type": "object", "required": ["ok", "approvals"],
    "properties": {"ok": {"const": true},
      "approvals": {"type": "array", "items": {"$ref": "#/components/schemas/KeyApproval"}}}},
  "KeyActionResult": {"type": "object", "required": ["ok", "applied", "key", "approval"],
    "properties": {"ok": {"const": true},
      "applied": {"type": "boolean", "description": "false: waiting for more approvals (202)."},
      "key": {"$ref": "#/components/schemas/Key"},
      "approval": {"oneOf": [{"$ref": "#/components/schemas/KeyApproval"}, {"type": "null"}]}}},
  "AuditPage": {"type": "object", "required": ["ok", "entries", "next_seq"],
    "properties": {"ok": {"const": true},
      "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
      "next_seq": {"type": "integer"}}}
})json";

json Ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

template <typename E>
json StatusSchema(const char* description) {
  json names = json::array();
  for (std::string_view name : service::StatusNames<E>()) names.push_back(std::string(name));
  return {{"type", "string"}, {"enum", std::move(names)}, {"description", description}};
}

json ProblemResponseDoc(const char* description) {
  return {{"description", description},
          {"content", {{"application/problem+json", {{"schema", Ref("Problem")}}}}}};
}

}  // namespace

absl::StatusOr<std::string> BuildOpenApiDocument() {
  try {
    json schemas = json::parse(kSchemas);
    // The status vocabularies come from the service's name tables, so every value the code
    // can answer is listed.
    schemas["VoucherStatus"] = StatusSchema<service::VoucherStatus>(
        "completed: signed and live; expired: expires_at has passed; archived: archived; "
        "superseded: its serial was reassigned to another organization (kept as history, "
        "never renewed).");
    schemas["SerialStatus"] = StatusSchema<service::SerialStatus>(
        "completed: the serial's voucher was signed (voucher_id); failed: see reason.");
    schemas["RequestStatus"] = StatusSchema<service::RequestStatus>(
        "completed: every serial got a voucher; partial: some did; failed: none did.");
    json paths = json::object();
    AddWebSchemas(schemas);
    std::vector<OperationDoc> all = Operations();
    for (const OperationDoc& op : WebOperations()) all.push_back(op);
    for (const OperationDoc& op : all) {
      json operation = {
          {"operationId", op.operation_id}, {"summary", op.summary}, {"tags", {op.tag}}};
      json params = json::array();
      for (const ParamDoc& p : op.params) {
        const std::string type = p.type;
        json schema = {{"type", type}};
        if (type == "date-time" || type == "uuid") {
          schema = {{"type", "string"}, {"format", type}};
        } else if (std::isupper(static_cast<unsigned char>(type[0]))) {
          schema = Ref(type);
        }
        params.push_back({{"name", p.name},
                          {"in", p.in},
                          {"required", std::string(p.in) == "path"},
                          {"description", p.description},
                          {"schema", std::move(schema)}});
      }
      if (!params.empty()) operation["parameters"] = std::move(params);
      // A request_schema holding a '/' is a media type whose body is not JSON.
      const bool raw_body = op.request_schema != nullptr &&
                            std::string(op.request_schema).find('/') != std::string::npos;
      if (raw_body) {
        operation["requestBody"] = {
            {"required", op.request_required},
            {"content",
             {{op.request_schema,
               {{"schema", {{"type", "string"}, {"contentMediaType", op.request_schema}}}}}}}};
      } else if (op.request_schema != nullptr) {
        operation["requestBody"] = {
            {"required", op.request_required},
            {"content", {{"application/json", {{"schema", Ref(op.request_schema)}}}}}};
      }
      json responses = {{std::to_string(op.success), {{"description", "Success"}}}};
      // No success_type: no body (204), or a redirect (302, Location).
      if (op.success_type != nullptr) {
        json content_schema = op.success_schema != nullptr
                                  ? Ref(op.success_schema)
                                  : json{{"type", "string"}, {"contentMediaType", op.success_type}};
        responses[std::to_string(op.success)]["content"] = {
            {op.success_type, {{"schema", content_schema}}}};
      }
      if (op.authenticated) {
        operation["security"] =
            json::array({{{"bearer", json::array()}}, {{"session", json::array()}}});
        responses["400"] = ProblemResponseDoc("Malformed request; detail names the field");
        responses["401"] = ProblemResponseDoc("Missing, unknown, revoked or expired token");
        responses["403"] = ProblemResponseDoc("The caller's roles do not allow this");
        responses["404"] = ProblemResponseDoc("No such object visible to the caller");
        responses["409"] = ProblemResponseDoc("Conflicts with the current state");
        responses["503"] = ProblemResponseDoc("Busy or unavailable; see Retry-After");
      } else {
        operation["security"] = json::array();
        if (std::string(op.path) == "/readyz") {
          responses["503"] = {{"description", "Not ready"}};
        }
      }
      // The HTTP server's own refusals, before any route runs.
      if (!op.authenticated) {
        responses["400"] =
            ProblemResponseDoc("Malformed request (framing: RFC 9112); detail says what was wrong");
      }
      if (op.request_schema != nullptr) {
        responses["413"] = ProblemResponseDoc("Body larger than the server's limit");
      }
      if (std::string(op.method) == "post") {
        responses["415"] = ProblemResponseDoc(
            "A body whose Content-Type is not application/json (parameters allowed; a "
            "charset must be utf-8)");
      } else if (raw_body) {
        responses["415"] = ProblemResponseDoc("A body of another Content-Type");
      }
      // The two-person rule: the action waits for more security officers.
      if (op.success_schema != nullptr && std::string(op.success_schema) == "KeyActionResult") {
        responses["202"] = {
            {"description", "Recorded; waiting for more security officers' approvals"},
            {"content", {{"application/json", {{"schema", Ref("KeyActionResult")}}}}}};
      }
      responses["414"] = ProblemResponseDoc("Request line longer than the server's limit");
      responses["431"] = ProblemResponseDoc("Request headers larger than the server's limit");
      responses["500"] = ProblemResponseDoc("Internal error");
      operation["responses"] = std::move(responses);
      paths[op.path][op.method] = std::move(operation);
    }
    json doc = {
        {"openapi", "3.1.0"},
        {"info",
         {{"title", "MASA appliance REST API"},
          {"version", "1.0.0"},
          {"description",
           "Ownership vouchers (RFC 8366) signed by an HSM key. Errors are "
           "application/problem+json (RFC 9457). Authenticate with an API token: "
           "Authorization: Bearer <token>. Prometheus metrics are not part of this API: masad "
           "serves GET /metrics on a listener of its own, loopback by default ([metrics] "
           "listen)."}}},
        {"paths", std::move(paths)},
        {"components",
         {{"schemas", std::move(schemas)},
          {"securitySchemes",
           {{"bearer",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"description", "An API token from POST /tokens or masactl."}}},
            {"session",
             {{"type", "apiKey"},
              {"in", "cookie"},
              {"name", "__Host-masa_session"},
              {"description",
               "The web application's session (POST /auth/token, or single sign-on). A call "
               "whose method is not GET or HEAD must carry X-CSRF-Token: the csrf_token of "
               "GET /auth/session; a call from another Origin is refused (403, "
               "urn:masa:problem:csrf)."}}}}}}},
        {"security", json::array({{{"bearer", json::array()}}, {{"session", json::array()}}})},
    };
    return Dump(doc);
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("OpenAPI document does not build: ") + e.what());
  }
}

}  // namespace masa::api::internal
