// Fuzzes every REST request decoder of api/internal/codec.h, the code between a request's
// body or query string and the service. The first byte of the input picks the decoder (see
// the switch below); the rest is the body, the {grant} path segment, or, for the query
// decoders, the query as name=value pairs joined by '&' (split at the first '=', not
// decoded, so names and values may hold any byte); for the decoders of a name in the path
// and a query (user, serial), the path segment, then '?', then the query. Beyond not
// crashing, it asserts:
//  - every refusal is kInvalidArgument with a one-line message of printable ASCII that names
//    what was wrong: a member of that decoder's body, "the request body" when it is no JSON
//    object, "query parameter" for a query, "grant (path)" or the path segment's name;
//  - what a decoder accepts is within the documented limits: 1..kMaxSerialsDecoded serial
//    numbers of 1..128 bytes, 1..kMaxAssignSerials serials to assign or place, every string
//    valid UTF-8 without NUL and no longer than its member's limit (ids 128 bytes, names 256,
//    group names 1024, certificates 64 KiB, MAC addresses 64), exactly one of pdc and
//    cert_id, a validity of 1..3650 days, page sizes and audit limits of 1..1000, TPM data
//    of at most kMaxTpmBytes and never both an EK and an EK certificate, a non-empty
//    delegated organization and username, 1..kMaxSerialsDecoded serials to look up, each
//    with a serial number.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "api/internal/codec.h"
#include "common/utf8.h"

namespace {

namespace api = masa::api::internal;
namespace service = masa::service;

constexpr size_t kId = 128;
constexpr size_t kName = 256;
constexpr size_t kPem = 64 * 1024;
constexpr size_t kMac = 64;

void Text(const std::string& s, size_t max) {
  if (s.size() > max || s.find('\0') != std::string::npos || !masa::IsValidUtf8(s)) abort();
}

void Texts(std::initializer_list<std::pair<const std::string*, size_t>> texts) {
  for (const auto& [s, max] : texts) Text(*s, max);
}

// A refusal names one of `fields`, or starts with one of the generic subjects.
void Refusal(const absl::Status& status, std::initializer_list<std::string_view> fields) {
  if (status.ok()) return;
  if (status.code() != absl::StatusCode::kInvalidArgument) abort();
  std::string_view m(status.message().data(), status.message().size());
  if (m.empty() || m.size() > 1024) abort();
  for (char c : m) {
    if (c < 0x20 || c > 0x7e) abort();
  }
  if (m.starts_with("the request body") || m.starts_with("query parameter ") ||
      m.starts_with("grant (path)")) {
    return;
  }
  for (std::string_view field : fields) {
    if (m.find(field) != std::string_view::npos) return;
  }
  abort();
}

template <typename T>
const T* Accepted(const absl::StatusOr<T>& result, std::initializer_list<std::string_view> fields) {
  Refusal(result.status(), fields);
  return result.ok() ? &*result : nullptr;
}
// The same for a decoder called in place: a copy of what it accepted.
template <typename T>
std::optional<T> Check(absl::StatusOr<T> result, std::initializer_list<std::string_view> fields) {
  Refusal(result.status(), fields);
  if (!result.ok()) return std::nullopt;
  return *std::move(result);
}

// The result must outlive the pointer: no temporaries.
template <typename T>
const T* Accepted(const absl::StatusOr<T>&& result,
                  std::initializer_list<std::string_view> fields) = delete;

api::Query SplitQuery(std::string_view text) {
  api::Query query;
  if (text.empty()) return query;
  for (absl::string_view pair : absl::StrSplit(absl::string_view(text.data(), text.size()), '&')) {
    size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) {
      query.emplace(std::string(pair), "");
    } else {
      query.emplace(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    }
  }
  return query;
}

void VoucherRequest(std::string_view body) {
  absl::StatusOr<service::VoucherRequestInput> result = api::DecodeVoucherRequest(body);
  const service::VoucherRequestInput* in =
      Accepted(result, {"serial_numbers", "ien", "pdc", "cert_id", "platform_cert", "expires_at",
                        "os_type", "override", "security_profile"});
  if (in == nullptr) return;
  if (in->serial_numbers.empty() || in->serial_numbers.size() > api::kMaxSerialsDecoded) abort();
  for (const std::string& s : in->serial_numbers) {
    if (s.empty()) abort();
    Text(s, kId);
  }
  if (in->pdc_pem.empty() == in->pdc_cert_id.empty()) abort();
  Texts({{&in->ien, kId},
         {&in->pdc_pem, kPem},
         {&in->pdc_cert_id, kId},
         {&in->platform_certificate_pem, kPem},
         {&in->os_type, kId},
         {&in->security_profile, kId}});
}

void Assign(std::string_view body) {
  absl::StatusOr<service::AssignInput> result = api::DecodeAssign(body);
  const service::AssignInput* in = Accepted(result, {"organization_id", "group_id", "reassign",
                                                     "serials", "serial_number", "model", "ien"});
  if (in == nullptr) return;
  if (in->serials.empty() || in->serials.size() > api::kMaxAssignSerials) abort();
  Texts({{&in->organization_id, kId}, {&in->group_id, kId}});
  for (const service::SerialAssignment& a : in->serials) {
    Texts({{&a.ien, kId}, {&a.serial_number, kId}, {&a.model, kName}, {&a.mac_addr, kMac}});
    const service::TpmInfo& t = a.tpm;
    if (t.endorsement_key.size() > api::kMaxTpmBytes ||
        t.ek_certificate.size() > api::kMaxTpmBytes ||
        t.platform_primary_key.size() > api::kMaxTpmBytes) {
      abort();
    }
    if (!t.endorsement_key.empty() && !t.ek_certificate.empty()) abort();
  }
}

// The path segment before the first '?', and the query after it.
std::pair<std::string_view, api::Query> PathAndQuery(std::string_view text) {
  size_t mark = text.find('?');
  if (mark == std::string_view::npos) return {text, {}};
  return {text.substr(0, mark), SplitQuery(text.substr(mark + 1))};
}

void UserRole(std::string_view body) {
  absl::StatusOr<api::UserRoleInput> result = api::DecodeUserRole(body, "org-caller");
  const api::UserRoleInput* in = Accepted(result, {"username", "kind", "organization_id", "role"});
  if (in == nullptr) return;
  if (in->user.username.empty()) abort();
  Texts({{&in->user.username, kName}, {&in->user.organization_id, kId}});
}

void SerialLookup(std::string_view body) {
  absl::StatusOr<std::vector<service::SerialRef>> result = api::DecodeSerialLookup(body);
  const std::vector<service::SerialRef>* in = Accepted(result, {"serials", "serial_number", "ien"});
  if (in == nullptr) return;
  if (in->empty() || in->size() > api::kMaxSerialsDecoded) abort();
  for (const service::SerialRef& ref : *in) {
    if (ref.serial_number.empty()) abort();
    Texts({{&ref.ien, kId}, {&ref.serial_number, kId}});
  }
}

void Place(std::string_view body) {
  absl::StatusOr<api::PlaceInput> result = api::DecodePlace(body);
  const api::PlaceInput* in = Accepted(result, {"group_id", "serials", "serial_number", "ien"});
  if (in == nullptr) return;
  if (in->serials.empty() || in->serials.size() > api::kMaxAssignSerials) abort();
  Text(in->group_id, kId);
  for (const service::SerialRef& ref : in->serials) {
    Texts({{&ref.ien, kId}, {&ref.serial_number, kId}});
  }
}

void ListVouchers(const api::Query& query) {
  absl::StatusOr<service::ListVouchersInput> result = api::DecodeListVouchers(query);
  const service::ListVouchersInput* in = Accepted(result, {});
  if (in == nullptr) return;
  const service::VoucherFilter& f = in->filter;
  Texts({{&f.organization_id, kId},
         {&f.serial_number, kId},
         {&f.req_id, kId},
         {&f.assertion, 32},
         {&f.requested_by, kName},
         {&f.pdc_organization, kName},
         {&in->page_token, 1024}});
  if (in->page_size > 1000) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 23) {
    case 0:
      VoucherRequest(rest);
      break;
    case 1:
      Check(api::DecodeRenew(rest), {"expires_at"});
      break;
    case 2:
      if (auto in = Check(api::DecodePdc(rest), {"name", "certificate", "group_id",
                                                 "revocation_checks", "expiry_time"})) {
        Texts({{&in->name, kName}, {&in->certificate, kPem}, {&in->group_id, kId}});
      }
      break;
    case 3:
      if (auto name = Check(api::DecodeUsername(rest), {"username"})) Text(*name, kName);
      break;
    case 4:
      if (auto name = Check(api::DecodeAccountName(rest), {"name"})) Text(*name, kName);
      break;
    case 5:
      if (auto in = Check(api::DecodeBinding(rest), {"principal_id", "group_id", "role"})) {
        Texts({{&in->principal_id, kId}, {&in->group_id, kId}});
      }
      break;
    case 6:
      Check(api::DecodeGrant(rest), {"grant"});
      break;
    case 7:
      Check(api::ParseGrantParam(rest), {});
      break;
    case 8:
      if (auto in = Check(api::DecodeGroup(rest), {"parent_id", "name"})) {
        Texts({{&in->parent_id, kId}, {&in->name, 4 * kName}});
      }
      break;
    case 9:
      if (auto in =
              Check(api::DecodeToken(rest), {"principal_id", "validity_days", "description"})) {
        Texts({{&in->principal_id, kId}, {&in->description, kName}});
        if (in->validity &&
            (*in->validity < absl::Hours(24) || *in->validity > absl::Hours(24 * 3650))) {
          abort();
        }
      }
      break;
    case 10:
      if (auto in = Check(api::DecodeOrganization(rest), {"name", "admin_username"})) {
        Texts({{&in->name, kId}, {&in->admin_username, kName}});
      }
      break;
    case 11:
      Assign(rest);
      break;
    case 12:
      Place(rest);
      break;
    case 13:
      ListVouchers(SplitQuery(rest));
      break;
    case 14:
      if (auto in = Check(api::DecodeAuditQuery(SplitQuery(rest)), {})) {
        Text(in->organization_id, kId);
        if (in->limit < 1 || in->limit > 1000) abort();
      }
      break;
    case 15:
      if (auto id = Check(api::DecodePrincipalFilter(SplitQuery(rest)), {})) Text(*id, kId);
      break;
    case 16:
      Refusal(api::DecodeNoQuery(SplitQuery(rest)), {});
      break;
    case 17:
      // The voucher request again: the busiest decoder gets two of the values.
      VoucherRequest(rest);
      break;
    case 18:
      if (auto org = Check(api::DecodeDelegatedOrg(rest), {"organization_id"})) {
        if (org->empty()) abort();
        Text(*org, kId);
      }
      break;
    case 19:
      UserRole(rest);
      break;
    case 20:
      SerialLookup(rest);
      break;
    case 21: {
      auto [username, query] = PathAndQuery(rest);
      if (auto user = Check(api::DecodeUserQuery(username, query, "org-caller"), {"username"})) {
        if (user->username.empty()) abort();
        Texts({{&user->username, kName}, {&user->organization_id, kId}});
      }
      break;
    }
    default: {
      auto [serial_number, query] = PathAndQuery(rest);
      if (auto ref = Check(api::DecodeSerialQuery(serial_number, query), {"serial_number"})) {
        if (ref->serial_number.empty()) abort();
        Texts({{&ref->serial_number, kId}, {&ref->ien, kId}});
      }
      break;
    }
  }
  return 0;
}
