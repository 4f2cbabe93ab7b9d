#include "api/internal/codec.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/internal/json_body.h"
#include "common/base64.h"
#include "common/status.h"
#include "common/time.h"

namespace masa::api::internal {
namespace {

using nlohmann::json;

constexpr size_t kIdLength = 128;         // ids, names, serials: the service checks details
constexpr size_t kPemLength = 64 * 1024;  // one certificate, generously

constexpr size_t kGroupNameLength = 256 * 4;
constexpr size_t kMacLength = 64;  // "00:1c:73:aa:bb:cc" and other notations
constexpr size_t kMaxTpmBase64 = (kMaxTpmBytes + 2) / 3 * 4;

json BytesOrNull(const std::string& bytes) {
  return bytes.empty() ? json(nullptr) : json(Base64Encode(bytes));
}

// The optional member "tpm_info" of `r`'s object: {"endorsement_key" | "ek_certificate",
// "platform_primary_key"}, each standard base64 (RFC 4648, padded) of at most kMaxTpmBytes
// bytes; "" or null is unknown. `prefix` names `r`'s object in messages.
void ReadTpmInfo(ObjectReader& r, const std::string& prefix, service::TpmInfo* tpm) {
  const json* object = r.Object("tpm_info", false);
  if (object == nullptr) return;
  const std::string at = prefix + "tpm_info.";
  ObjectReader t(*object, at);
  auto bytes = [&](std::string_view name, std::string* out) {
    std::optional<std::string> text = t.String(name, false, kMaxTpmBase64);
    if (!text) return;
    absl::StatusOr<std::string> decoded = Base64Decode(*text);
    if (!decoded.ok() || decoded->size() > kMaxTpmBytes) {
      t.Fail(absl::StrCat(at, Sv(name), ": must be standard base64 (RFC 4648, padded) of at most ",
                          kMaxTpmBytes, " bytes"));
      return;
    }
    *out = *std::move(decoded);
  };
  bytes("endorsement_key", &tpm->endorsement_key);
  bytes("ek_certificate", &tpm->ek_certificate);
  bytes("platform_primary_key", &tpm->platform_primary_key);
  if (t.ok() && !tpm->endorsement_key.empty() && !tpm->ek_certificate.empty()) {
    t.Fail(at + "endorsement_key, ek_certificate: give at most one of the two");
  }
  if (absl::Status s = t.Finish(); !s.ok()) r.Fail(std::string(s.message()));
}

// "user" or "service-account", as PrincipalKindName renders them.
std::optional<service::PrincipalKind> ParseKind(std::string_view name) {
  for (service::PrincipalKind k :
       {service::PrincipalKind::kUser, service::PrincipalKind::kServiceAccount}) {
    if (name == service::PrincipalKindName(k)) return k;
  }
  return std::nullopt;
}

constexpr const char* kKindNames = "user, service-account";
constexpr const char* kRoleNames =
    "viewer, requestor, assigner, admin, support, account-team, security-officer";

// A name taken from the request path: non-empty, at most `max` bytes of UTF-8 without NUL
// (the server has percent-decoded it, so it may hold any byte).
absl::Status PathText(std::string_view what, std::string_view value, size_t max) {
  if (value.empty() || value.size() > max || value.find('\0') != std::string_view::npos ||
      !IsValidUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(what), " (path): must be 1 to ", max,
                                                   " bytes of UTF-8 text without NUL characters"));
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Decoding

absl::StatusOr<service::VoucherRequestInput> DecodeVoucherRequest(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, /*allow_empty=*/false));
  ObjectReader r(object);
  service::VoucherRequestInput in;
  if (auto v = r.StringArray("serial_numbers", true, 1, kMaxSerialsDecoded, kIdLength)) {
    in.serial_numbers = std::move(*v);
  }
  if (auto v = r.String("ien", false, kIdLength)) in.ien = std::move(*v);
  if (auto v = r.String("pdc", false, kPemLength)) in.pdc_pem = std::move(*v);
  if (auto v = r.String("cert_id", false, kIdLength)) in.pdc_cert_id = std::move(*v);
  if (auto v = r.String("platform_cert", false, kPemLength)) {
    in.platform_certificate_pem = std::move(*v);
  }
  in.expires_at = r.Time("expires_at", false);
  if (auto v = r.String("os_type", false, kIdLength)) in.os_type = std::move(*v);
  if (auto v = r.Bool("override", false)) in.override_conflicts = *v;
  if (auto v = r.String("security_profile", false, kIdLength)) {
    in.security_profile = std::move(*v);
  }
  if (r.ok() && in.pdc_pem.empty() == in.pdc_cert_id.empty()) {
    r.Fail(
        "pdc, cert_id: give exactly one: the pinned-domain certificate as PEM in \"pdc\", "
        "or the id of an uploaded one in \"cert_id\"");
  }
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<service::RenewInput> DecodeRenew(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, /*allow_empty=*/true));
  ObjectReader r(object);
  service::RenewInput in;
  in.expires_at = r.Time("expires_at", false);
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<service::PdcInput> DecodePdc(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  service::PdcInput in;
  if (auto v = r.String("name", false, 256)) in.name = std::move(*v);
  if (auto v = r.String("certificate", true, kPemLength)) in.certificate = std::move(*v);
  if (auto v = r.String("group_id", false, kIdLength)) in.group_id = std::move(*v);
  if (auto v = r.Bool("revocation_checks", false)) in.revocation_checks = *v;
  in.expiry_time = r.Time("expiry_time", false);
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<std::string> DecodeUsername(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  std::string out = r.String("username", true, 256).value_or("");
  MASA_RETURN_IF_ERROR(r.Finish());
  return out;
}

absl::StatusOr<std::string> DecodeAccountName(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  std::string out = r.String("name", true, 256).value_or("");
  MASA_RETURN_IF_ERROR(r.Finish());
  return out;
}

absl::StatusOr<BindingInput> DecodeBinding(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  BindingInput in;
  in.principal_id = r.String("principal_id", true, kIdLength).value_or("");
  in.group_id = r.String("group_id", true, kIdLength).value_or("");
  std::string role = r.String("role", true, 32).value_or("");
  std::optional<service::Role> parsed = service::ParseRole(role);
  if (r.ok() && !parsed) {
    r.Fail(
        "role: must be one of viewer, requestor, assigner, admin, support, account-team, "
        "security-officer");
  }
  MASA_RETURN_IF_ERROR(r.Finish());
  in.role = *parsed;
  return in;
}

absl::StatusOr<service::Grant> DecodeGrant(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  std::string grant = r.String("grant", true, 32).value_or("");
  std::optional<service::Grant> parsed = service::ParseGrant(grant);
  if (r.ok() && !parsed) {
    r.Fail("grant: must be one of request, download, archive");
  }
  MASA_RETURN_IF_ERROR(r.Finish());
  return *parsed;
}

absl::StatusOr<service::Grant> ParseGrantParam(std::string_view name) {
  std::optional<service::Grant> grant = service::ParseGrant(name);
  if (!grant) {
    return absl::InvalidArgumentError("grant (path): must be one of request, download, archive");
  }
  return *grant;
}

absl::StatusOr<GroupInput> DecodeGroup(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  GroupInput in;
  in.parent_id = r.String("parent_id", true, kIdLength).value_or("");
  // The service takes 1..256 characters (OVGS's description), up to 4 bytes each.
  in.name = r.String("name", true, kGroupNameLength).value_or("");
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<OrganizationInput> DecodeOrganization(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  OrganizationInput in;
  in.name = r.String("name", true, kIdLength).value_or("");
  in.admin_username = r.String("admin_username", true, 256).value_or("");
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<service::TokenInput> DecodeToken(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, true));
  ObjectReader r(object);
  service::TokenInput in;
  if (auto v = r.String("principal_id", false, kIdLength)) in.principal_id = std::move(*v);
  if (auto v = r.Int("validity_days", false, 1, kMaxValidityDays)) {
    in.validity = absl::Hours(24 * *v);
  }
  if (auto v = r.String("description", false, 256)) in.description = std::move(*v);
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<service::AssignInput> DecodeAssign(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  service::AssignInput in;
  in.organization_id = r.String("organization_id", true, kIdLength).value_or("");
  if (auto v = r.String("group_id", false, kIdLength)) in.group_id = std::move(*v);
  if (auto v = r.Bool("reassign", false)) in.reassign = *v;
  if (const json* serials = r.Array("serials", true, 1, kMaxAssignSerials)) {
    in.serials.reserve(serials->size());
    for (size_t i = 0; i < serials->size() && r.ok(); ++i) {
      ObjectReader item((*serials)[i], absl::StrCat("serials[", i, "]."));
      service::SerialAssignment a;
      if (auto v = item.String("ien", false, kIdLength)) a.ien = std::move(*v);
      a.serial_number = item.String("serial_number", true, kIdLength).value_or("");
      if (auto v = item.String("model", false, 256)) a.model = std::move(*v);
      if (auto v = item.String("mac_addr", false, kMacLength)) a.mac_addr = std::move(*v);
      ReadTpmInfo(item, absl::StrCat("serials[", i, "]."), &a.tpm);
      if (absl::Status s = item.Finish(); !s.ok()) r.Fail(std::string(s.message()));
      in.serials.push_back(std::move(a));
    }
  }
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<PlaceInput> DecodePlace(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  PlaceInput in;
  in.group_id = r.String("group_id", true, kIdLength).value_or("");
  if (const json* serials = r.Array("serials", true, 1, kMaxAssignSerials)) {
    for (size_t i = 0; i < serials->size() && r.ok(); ++i) {
      ObjectReader item((*serials)[i], absl::StrCat("serials[", i, "]."));
      service::SerialRef ref;
      if (auto v = item.String("ien", false, kIdLength)) ref.ien = std::move(*v);
      ref.serial_number = item.String("serial_number", true, kIdLength).value_or("");
      if (absl::Status s = item.Finish(); !s.ok()) r.Fail(std::string(s.message()));
      in.serials.push_back(std::move(ref));
    }
  }
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<std::string> DecodeDelegatedOrg(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  std::string out = r.String("organization_id", true, kIdLength).value_or("");
  if (r.ok() && out.empty()) r.Fail("organization_id: must not be empty");
  MASA_RETURN_IF_ERROR(r.Finish());
  return out;
}

absl::StatusOr<UserRoleInput> DecodeUserRole(std::string_view body,
                                             std::string_view caller_organization) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  UserRoleInput in;
  in.user.username = r.String("username", true, 256).value_or("");
  std::optional<service::PrincipalKind> kind = service::PrincipalKind::kUser;
  if (auto v = r.String("kind", false, 32)) {
    kind = ParseKind(*v);
    if (!kind) r.Fail(absl::StrCat("kind: must be one of ", kKindNames));
  }
  in.user.organization_id =
      r.String("organization_id", false, kIdLength).value_or(std::string(caller_organization));
  std::optional<service::Role> role = service::ParseRole(r.String("role", true, 32).value_or(""));
  if (r.ok() && !role) r.Fail(absl::StrCat("role: must be one of ", kRoleNames));
  if (r.ok() && in.user.username.empty()) r.Fail("username: must not be empty");
  MASA_RETURN_IF_ERROR(r.Finish());
  in.user.kind = *kind;
  in.role = *role;
  return in;
}

absl::StatusOr<std::vector<service::SerialRef>> DecodeSerialLookup(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, false));
  ObjectReader r(object);
  std::vector<service::SerialRef> out;
  if (const json* serials = r.Array("serials", true, 1, kMaxSerialsDecoded)) {
    out.reserve(serials->size());
    for (size_t i = 0; i < serials->size() && r.ok(); ++i) {
      ObjectReader item((*serials)[i], absl::StrCat("serials[", i, "]."));
      service::SerialRef ref;
      if (auto v = item.String("ien", false, kIdLength)) ref.ien = std::move(*v);
      ref.serial_number = item.String("serial_number", true, kIdLength).value_or("");
      if (item.ok() && ref.serial_number.empty()) {
        item.Fail(absl::StrCat("serials[", i, "].serial_number: must not be empty"));
      }
      if (absl::Status s = item.Finish(); !s.ok()) r.Fail(std::string(s.message()));
      out.push_back(std::move(ref));
    }
  }
  MASA_RETURN_IF_ERROR(r.Finish());
  return out;
}

absl::StatusOr<service::UserRef> DecodeUserQuery(std::string_view username, const Query& query,
                                                 std::string_view caller_organization) {
  MASA_RETURN_IF_ERROR(PathText("username", username, 256));
  QueryReader q(query);
  service::UserRef user;
  user.username = std::string(username);
  if (auto v = q.String("kind", 32)) {
    if (auto kind = ParseKind(*v)) {
      user.kind = *kind;
    } else {
      q.Fail(absl::StrCat("query parameter kind: must be one of ", kKindNames));
    }
  }
  user.organization_id =
      q.String("organization_id", kIdLength).value_or(std::string(caller_organization));
  MASA_RETURN_IF_ERROR(q.Finish());
  return user;
}

absl::StatusOr<service::SerialRef> DecodeSerialQuery(std::string_view serial_number,
                                                     const Query& query) {
  MASA_RETURN_IF_ERROR(PathText("serial_number", serial_number, kIdLength));
  QueryReader q(query);
  service::SerialRef ref;
  ref.serial_number = std::string(serial_number);
  ref.ien = q.String("ien", kIdLength).value_or("");
  MASA_RETURN_IF_ERROR(q.Finish());
  return ref;
}

absl::StatusOr<service::ListVouchersInput> DecodeListVouchers(const Query& query) {
  QueryReader q(query);
  service::ListVouchersInput in;
  service::VoucherFilter& f = in.filter;
  f.organization_id = q.String("organization_id", kIdLength).value_or("");
  f.serial_number = q.String("serial_number", kIdLength).value_or("");
  f.req_id = q.String("req_id", kIdLength).value_or("");
  if (auto s = q.String("status", 32)) {
    f.status = service::ParseStatus<service::VoucherStatus>(*s);
    if (!f.status) {
      std::string names;
      for (std::string_view name : service::StatusNames<service::VoucherStatus>()) {
        absl::StrAppend(&names, names.empty() ? "" : ", ", Sv(name));
      }
      q.Fail("query parameter status: must be one of " + names);
    }
  }
  f.assertion = q.String("assertion", 32).value_or("");
  f.requested_by = q.String("requested_by", 256).value_or("");
  f.pdc_organization = q.String("pdc_organization", 256).value_or("");
  if (auto t = q.Time("from")) f.requested_from = *t;
  if (auto t = q.Time("to")) f.requested_to = *t;
  f.archived = q.Bool("archived");
  if (auto s = q.String("sort", 32)) {
    if (auto c = service::ParseVoucherColumn(*s)) {
      in.sort_by = *c;
    } else {
      q.Fail(
          "query parameter sort: must be a column: requested_at, created_at, expires_at, "
          "last_renewal_at, serial_number, status, assertion, requested_by, "
          "pdc_organization, voucher_id, req_id");
    }
  }
  if (auto s = q.String("order", 8)) {
    if (*s == "asc" || *s == "desc") {
      in.descending = *s == "desc";
    } else {
      q.Fail("query parameter order: must be asc or desc");
    }
  }
  if (auto s = q.String("group_by", 32)) {
    if (auto c = service::ParseVoucherColumn(*s)) {
      in.group_by = *c;
    } else {
      q.Fail("query parameter group_by: must be a column name as for sort");
    }
  }
  if (auto n = q.Int("page_size", 1, 1000)) in.page_size = static_cast<size_t>(*n);
  in.page_token = q.String("page_token", 1024).value_or("");
  MASA_RETURN_IF_ERROR(q.Finish());
  return in;
}

absl::StatusOr<service::AuditQuery> DecodeAuditQuery(const Query& query) {
  QueryReader q(query);
  service::AuditQuery in;
  in.organization_id = q.String("organization_id", kIdLength).value_or("");
  if (auto n = q.Int("from", 0, INT64_MAX)) in.from_seq = static_cast<uint64_t>(*n);
  if (auto n = q.Int("limit", 1, 1000)) in.limit = static_cast<size_t>(*n);
  MASA_RETURN_IF_ERROR(q.Finish());
  return in;
}

absl::StatusOr<std::string> DecodePrincipalFilter(const Query& query) {
  QueryReader q(query);
  std::string id = q.String("principal_id", kIdLength).value_or("");
  MASA_RETURN_IF_ERROR(q.Finish());
  return id;
}

absl::Status DecodeNoQuery(const Query& query) {
  QueryReader q(query);
  return q.Finish();
}

// ---------------------------------------------------------------------------------------
// Encoding

json TimeJson(absl::Time t) { return FormatRfc3339(t); }

json OptionalTimeJson(const std::optional<absl::Time>& t) {
  return t ? TimeJson(*t) : json(nullptr);
}

json VoucherJson(const service::VoucherInfo& v) {
  return json{{"req_id", v.req_id},
              {"voucher_id", v.voucher_id},
              {"requested_at", TimeJson(v.requested_at)},
              {"created_at", TimeJson(v.created_at)},
              {"expires_at", TimeJson(v.expires_at)},
              {"last_renewal_at", OptionalTimeJson(v.last_renewal_at)},
              {"assertion", signer::AssertionName(v.assertion)},
              {"status", service::StatusName(v.status)},
              {"serial_number", v.serial_number},
              {"pdc_organization", v.pdc_organization},
              {"requested_by", v.requested_by}};
}

json SerialResultJson(const service::SerialResult& r) {
  json out = {{"serial_number", r.serial_number},
              {"voucher_id", r.voucher_id.empty() ? json(nullptr) : json(r.voucher_id)},
              {"status", service::StatusName(r.status)}};
  if (!r.reason.empty()) out["reason"] = r.reason;
  return out;
}

json RequestResultJson(const service::RequestResult& r) {
  json vouchers = json::array();
  for (const service::SerialResult& s : r.serials) vouchers.push_back(SerialResultJson(s));
  return json{{"ok", true}, {"req_id", r.req_id}, {"vouchers", std::move(vouchers)}};
}

namespace {

// Whether nlohmann's dump writes `s` as itself between quotes: printable ASCII, no '"' or '\\'.
bool Plain(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

void AppendMember(std::string_view name, std::string_view value, std::string* out) {
  out->push_back('"');
  out->append(name);
  out->append("\":\"");
  out->append(value);
  out->push_back('"');
}

}  // namespace

std::string RequestResultBody(const service::RequestResult& r) {
  bool plain = Plain(r.req_id);
  for (const service::SerialResult& s : r.serials) {
    plain = plain && Plain(s.serial_number) && Plain(s.voucher_id) && Plain(s.reason) &&
            Plain(service::StatusName(s.status));
  }
  if (!plain) return Dump(RequestResultJson(r));
  // nlohmann's objects are std::maps: members in byte order of their names.
  std::string out;
  out.reserve(64 + r.serials.size() * 128);
  out.append("{\"ok\":true,");
  AppendMember("req_id", r.req_id, &out);
  out.append(",\"vouchers\":[");
  for (size_t i = 0; i < r.serials.size(); ++i) {
    const service::SerialResult& s = r.serials[i];
    if (i > 0) out.push_back(',');
    out.push_back('{');
    if (!s.reason.empty()) {
      AppendMember("reason", s.reason, &out);
      out.push_back(',');
    }
    AppendMember("serial_number", s.serial_number, &out);
    out.push_back(',');
    AppendMember("status", service::StatusName(s.status), &out);
    out.push_back(',');
    if (s.voucher_id.empty()) {
      out.append("\"voucher_id\":null");
    } else {
      AppendMember("voucher_id", s.voucher_id, &out);
    }
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

json RequestInfoJson(const service::RequestInfo& r) {
  json serials = json::array();
  for (const service::SerialResult& s : r.serials) serials.push_back(SerialResultJson(s));
  json vouchers = json::array();
  for (const service::VoucherInfo& v : r.vouchers) vouchers.push_back(VoucherJson(v));
  return json{{"req_id", r.req_id},
              {"requested_at", TimeJson(r.requested_at)},
              {"requested_by", r.requested_by},
              {"status", service::StatusName(r.status)},
              {"ien", r.ien},
              {"os_type", r.os_type},
              {"security_profile", r.security_profile},
              {"pdc_organization", r.pdc_organization},
              {"override", r.override_conflicts},
              {"serials", std::move(serials)},
              {"vouchers", std::move(vouchers)}};
}

json VoucherPageJson(const service::VoucherPage& page) {
  json vouchers = json::array();
  for (const service::VoucherInfo& v : page.vouchers) vouchers.push_back(VoucherJson(v));
  json out = {{"ok", true},
              {"vouchers", std::move(vouchers)},
              {"total", page.total},
              {"next_page_token",
               page.next_page_token.empty() ? json(nullptr) : json(page.next_page_token)}};
  if (!page.groups.empty()) {
    json groups = json::array();
    for (const service::VoucherGroupCount& g : page.groups) {
      groups.push_back({{"value", g.value}, {"count", g.count}});
    }
    out["groups"] = std::move(groups);
  }
  return out;
}

std::string CertificatePem(std::string_view der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out.push_back('\n');
  }
  out += "-----END CERTIFICATE-----\n";
  return out;
}

json PdcJson(const service::PdcInfo& p) {
  return json{{"cert_id", p.cert_id},
              {"group_id", p.group_id},
              {"name", p.name},
              {"subject", p.subject},
              {"pdc_organization", p.pdc_organization},
              {"not_before", TimeJson(p.not_before)},
              {"not_after", TimeJson(p.not_after)},
              {"sha256", p.sha256_hex},
              {"certificate", CertificatePem(p.certificate_der)},
              {"created_at", TimeJson(p.created_at)},
              {"revocation_checks", p.revocation_checks},
              {"expiry_time", OptionalTimeJson(p.expiry_time)}};
}

json PrincipalJson(const service::PrincipalInfo& p) {
  return json{{"principal_id", p.principal_id},
              {"organization_id", p.organization_id},
              {"kind", service::PrincipalKindName(p.kind)},
              {"name", p.name},
              {"disabled", p.disabled},
              {"created_at", TimeJson(p.created_at)}};
}

static json GrantNames(const std::vector<service::Grant>& grants) {
  json out = json::array();
  for (service::Grant g : grants) out.push_back(service::GrantName(g));
  return out;
}

json BindingJson(const service::BindingInfo& b) {
  return json{{"binding_id", b.binding_id},     {"principal_id", b.principal_id},
              {"group_id", b.group_id},         {"role", service::RoleName(b.role)},
              {"grants", GrantNames(b.grants)}, {"created_at", TimeJson(b.created_at)}};
}

json GroupJson(const service::GroupInfo& g) {
  return json{{"group_id", g.group_id},
              {"organization_id", g.organization_id},
              {"parent_id", g.parent_id.empty() ? json(nullptr) : json(g.parent_id)},
              {"name", g.name},
              {"created_at", TimeJson(g.created_at)}};
}

json GroupDetailsJson(const service::GroupDetails& d) {
  json out = GroupJson(d.group);
  out["cert_ids"] = d.cert_ids;
  json components = json::array();
  for (const service::SerialRef& s : d.components) {
    components.push_back({{"ien", s.ien}, {"serial_number", s.serial_number}});
  }
  out["components"] = std::move(components);
  json users = json::array();
  for (const service::GroupMember& m : d.users) {
    users.push_back({{"username", m.user.username},
                     {"kind", service::PrincipalKindName(m.user.kind)},
                     {"organization_id", m.user.organization_id},
                     {"role", service::RoleName(m.role)}});
  }
  out["users"] = std::move(users);
  out["child_group_ids"] = d.child_group_ids;
  json delegated = json::object();
  for (const auto& [org, groups] : d.delegated_orgs) delegated[org] = groups;
  out["delegated_orgs"] = std::move(delegated);
  return out;
}

json TpmInfoJson(const service::TpmInfo& t) {
  return json{{"endorsement_key", BytesOrNull(t.endorsement_key)},
              {"ek_certificate", BytesOrNull(t.ek_certificate)},
              {"platform_primary_key", BytesOrNull(t.platform_primary_key)}};
}

json SerialDetailsJson(const service::SerialDetails& s) {
  return json{{"ien", s.serial.ien},
              {"serial_number", s.serial.serial_number},
              {"organization_id", s.organization_id},
              {"group_ids", s.group_ids},
              {"model", s.model},
              {"mac_addr", s.mac_addr},
              {"tpm_info", TpmInfoJson(s.tpm)}};
}

json UserRolesJson(const service::UserRef& user,
                   const std::map<std::string, service::Role>& roles) {
  json list = json::array();
  for (const auto& [group, role] : roles) {
    list.push_back({{"group_id", group}, {"role", service::RoleName(role)}});
  }
  return json{{"ok", true},
              {"user",
               {{"username", user.username},
                {"kind", service::PrincipalKindName(user.kind)},
                {"organization_id", user.organization_id}}},
              {"roles", std::move(list)}};
}

json OrganizationJson(const service::OrganizationInfo& o) {
  return json{{"organization_id", o.organization_id},
              {"name", o.name},
              {"created_at", TimeJson(o.created_at)}};
}

json TokenJson(const service::TokenInfo& t) {
  return json{{"token_id", t.token_id},
              {"principal_id", t.principal_id},
              {"description", t.description},
              {"created_at", TimeJson(t.created_at)},
              {"expires_at", TimeJson(t.expires_at)},
              {"revoked", t.revoked},
              {"created_by", t.created_by},
              {"minted_by", t.minted_by.empty() ? json(nullptr) : json(t.minted_by)}};
}

json AuditPageJson(const service::AuditPage& page) {
  json entries = json::array();
  for (const service::AuditRecord& e : page.entries) {
    entries.push_back(
        {{"seq", e.seq},
         {"time", TimeJson(e.time)},
         {"actor", e.actor},
         {"action", e.action},
         {"target", e.target},
         {"outcome", e.outcome},
         {"object_hash", e.object_hash.empty() ? json(nullptr) : json(HexEncode(e.object_hash))},
         {"node", e.node.empty() ? json(nullptr) : json(e.node)}});
  }
  return json{{"ok", true}, {"entries", std::move(entries)}, {"next_seq", page.next_seq}};
}

json ProofJson(const service::VoucherInclusionProof& proof) {
  json hashes = json::array();
  for (const store::Hash& h : proof.proof) hashes.push_back(Base64Encode(h));
  return json{{"ok", true},
              {"proof",
               {{"leaf_index", proof.seq},
                {"tree_size", proof.tree_size},
                {"leaf", Base64Encode(proof.entry_bytes)},
                {"hashes", std::move(hashes)},
                {"checkpoint", proof.checkpoint}}}};
}

json AssignResultJson(const service::AssignResult& r) {
  return json{{"ok", true}, {"assigned", r.assigned}, {"unchanged", r.unchanged}};
}

}  // namespace masa::api::internal
