#include "service/service.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/pdc.h"
#include "service/internal/service_impl.h"
#include "store/checkpoint.h"

namespace masa::service {

using internal::AccessContext;

// ---------------------------------------------------------------------------------------
// Names and defaults

namespace {

constexpr std::pair<Role, std::string_view> kRoleNames[] = {
    {Role::kViewer, "viewer"},
    {Role::kRequestor, "requestor"},
    {Role::kAssigner, "assigner"},
    {Role::kAdmin, "admin"},
    {Role::kSupport, "support"},
    {Role::kAccountTeam, "account-team"},
    {Role::kSecurityOfficer, "security-officer"}};

constexpr std::pair<Grant, std::string_view> kGrantNames[] = {
    {Grant::kRequest, "request"}, {Grant::kDownload, "download"}, {Grant::kArchive, "archive"}};

// The name of `value` in a {value, name} table, and back.
template <typename T, typename Table>
std::string_view NameIn(const Table& table, T value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}
template <typename T, typename Table>
std::optional<T> ParseIn(const Table& table, std::string_view name) {
  for (const auto& [v, n] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view RoleName(Role role) { return NameIn(kRoleNames, role); }
std::optional<Role> ParseRole(std::string_view name) { return ParseIn<Role>(kRoleNames, name); }
std::string_view GrantName(Grant grant) { return NameIn(kGrantNames, grant); }
std::optional<Grant> ParseGrant(std::string_view name) { return ParseIn<Grant>(kGrantNames, name); }

const signer::VoucherSigner* SigningKeys::For(signer::CmsContentType type) const {
  switch (type) {
    case signer::CmsContentType::kAnimaJsonVoucher:
      return anima_json_voucher.get();
    case signer::CmsContentType::kData:
      return data.get();
    default:
      return nullptr;
  }
}

std::map<std::string, DeviceProfile> ServiceOptions::DefaultDeviceProfiles() {
  return {{"", {signer::CmsContentType::kAnimaJsonVoucher}},
          {"ios-xr", {signer::CmsContentType::kAnimaJsonVoucher}},
          {"ios-xe", {signer::CmsContentType::kData}}};
}

std::map<std::string, SecurityProfile> ServiceOptions::DefaultSecurityProfiles() {
  return {{"default", {}}, {"revocation-checks", {true}}, {"no-revocation-checks", {false}}};
}

bool internal::IsPrintableToken(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// ---------------------------------------------------------------------------------------
// Life cycle

absl::StatusOr<std::unique_ptr<Service>> Service::Create(ServiceOptions options) {
  if (options.store == nullptr) return absl::InvalidArgumentError("ServiceOptions.store is null");
  if (options.work_queue == nullptr) {
    return absl::InvalidArgumentError("ServiceOptions.work_queue is null");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("ServiceOptions.clock is null");
  if (options.signing_keys == nullptr || options.signing_keys->anima_json_voucher == nullptr) {
    return absl::InvalidArgumentError(
        "ServiceOptions.signing_keys needs an id-ct-animaJSONVoucher signer");
  }
  if (options.default_validity <= absl::ZeroDuration() ||
      options.max_validity < options.default_validity) {
    return absl::InvalidArgumentError("voucher validity: need 0 < default <= max");
  }
  if (options.default_token_validity <= absl::ZeroDuration() ||
      options.max_token_validity < options.default_token_validity) {
    return absl::InvalidArgumentError("token validity: need 0 < default <= max");
  }
  if (options.max_serials_per_request == 0 || options.assign_batch_size == 0) {
    return absl::InvalidArgumentError("max_serials_per_request and assign_batch_size must be > 0");
  }
  if (!options.security_profiles.count("default")) {
    return absl::InvalidArgumentError("security_profiles needs a \"default\" entry");
  }
  if (!options.device_profiles.count("")) {
    return absl::InvalidArgumentError("device_profiles needs a \"\" (default) entry");
  }
  if (options.session_lifetime <= absl::ZeroDuration() ||
      options.session_idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "web sessions: session_lifetime and session_idle_timeout must be positive");
  }
  return std::unique_ptr<Service>(new ServiceImpl(std::move(options)));
}

ServiceImpl::ServiceImpl(ServiceOptions options)
    : options_(std::move(options)), store_(options_.store), queue_(options_.work_queue),
      keys_(options_.signing_keys) {}

ServiceImpl::~ServiceImpl() {
  absl::MutexLock lock(&inflight_mu_);
  inflight_mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &inflight_));
}

void ServiceImpl::BeginInflight() {
  absl::MutexLock lock(&inflight_mu_);
  ++inflight_;
}

void ServiceImpl::EndInflight() {
  absl::MutexLock lock(&inflight_mu_);
  --inflight_;
}

absl::Status ServiceImpl::SetSigningKeys(std::shared_ptr<const SigningKeys> keys) {
  if (keys == nullptr || keys->anima_json_voucher == nullptr) {
    return absl::InvalidArgumentError("signing keys need an id-ct-animaJSONVoucher signer");
  }
  absl::MutexLock lock(&keys_mu_);
  keys_ = std::move(keys);
  return absl::OkStatus();
}

std::shared_ptr<const SigningKeys> ServiceImpl::keys() const {
  absl::MutexLock lock(&keys_mu_);
  return keys_;
}

// ---------------------------------------------------------------------------------------
// Authentication

absl::StatusOr<ServiceImpl::CheckedCredential> ServiceImpl::CheckCredential(
    const store::Reader& reader, const std::string& hash, bool session, absl::Time now) const {
  const char* kind = session ? "session" : "token";
  auto token = reader.Get<store::ApiToken>(hash);
  if (absl::IsNotFound(token.status())) {
    return absl::UnauthenticatedError(absl::StrCat("unknown ", kind));
  }
  if (!token.ok()) return token.status();
  // A session where an API token is expected, or the other way round, is as unknown as a
  // wrong secret (their formats differ, so only a forged record could get here).
  if ((token->kind == internal::kSessionKind) != session) {
    return absl::UnauthenticatedError(absl::StrCat("unknown ", kind));
  }
  if (token->revoked) {
    return absl::UnauthenticatedError(
        session ? "session " + token->id +
                      " has ended (signed out, or the token it was started with was revoked)"
                : "token " + token->id + " was revoked");
  }
  if (token->expires_at <= now) {
    return absl::UnauthenticatedError(
        absl::StrCat(kind, " ", token->id, " expired at ", FormatRfc3339(token->expires_at)));
  }
  if (session) MASA_RETURN_IF_ERROR(CheckIdle(*token, now));
  auto principal = reader.Get<store::Principal>(token->principal_id);
  if (!principal.ok() || principal->disabled) {
    return absl::UnauthenticatedError(absl::StrCat("the ", kind, "'s principal is disabled"));
  }
  return CheckedCredential{*std::move(token), *std::move(principal)};
}

absl::StatusOr<Caller> ServiceImpl::Authenticate(std::string_view bearer_token) const {
  if (absl::Status format = internal::SplitToken(bearer_token).status(); !format.ok()) {
    metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return format;
  }
  std::string hash = internal::TokenHash(bearer_token);
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  auto checked = CheckCredential(snap, hash, /*session=*/false, Now());
  if (!checked.ok()) {
    metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return checked.status();
  }
  return CallerOf(*checked, std::move(hash), /*session=*/false);
}

Caller ServiceImpl::CallerOf(const CheckedCredential& checked, std::string hash, bool session) {
  Caller caller;
  caller.principal_id_ = checked.principal.id;
  caller.organization_id_ = checked.principal.organization_id;
  caller.name_ = checked.principal.name;
  caller.token_id_ = session ? internal::SessionIdFromHash(hash) : internal::TokenIdFromHash(hash);
  caller.token_hash_ = std::move(hash);
  caller.session_ = session;
  return caller;
}

absl::StatusOr<AccessContext> ServiceImpl::Access(const Caller& caller,
                                                  const store::Reader& reader) const {
  if (caller.token_hash_.empty()) return absl::UnauthenticatedError("not authenticated");
  MASA_RETURN_IF_ERROR(
      CheckCredential(reader, caller.token_hash_, caller.session_, Now()).status());
  return AccessContext::Load(reader, caller.principal_id_, caller.organization_id_,
                             options_.vendor_organization_id);
}

}  // namespace masa::service
