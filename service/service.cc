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
using internal::Authorize;
using internal::Hide;
using internal::Permission;
using internal::Target;

// ---------------------------------------------------------------------------------------
// Names and defaults

namespace {

constexpr std::pair<Role, std::string_view> kRoleNames[] = {
    {Role::kViewer, "viewer"},       {Role::kRequestor, "requestor"},
    {Role::kAssigner, "assigner"},   {Role::kAdmin, "admin"},
    {Role::kSupport, "support"},     {Role::kAccountTeam, "account-team"},
    {Role::kSecurityOfficer, "security-officer"}};

constexpr std::pair<Grant, std::string_view> kGrantNames[] = {
    {Grant::kRequest, "request"}, {Grant::kDownload, "download"}, {Grant::kArchive, "archive"}};

constexpr std::string_view kBootstrapActor = "masactl";
constexpr size_t kMaxAuditLimit = 1000;
constexpr uint64_t kMaxAuditScan = 100000;

bool IsVendorRole(Role r) {
  return r == Role::kSupport || r == Role::kAccountTeam || r == Role::kSecurityOfficer;
}

PrincipalInfo Describe(const store::Principal& p) {
  return {p.id, p.organization_id,
          p.kind == store::PrincipalKind::kServiceAccount ? "service-account" : "user", p.name,
          p.disabled, p.created_at};
}

BindingInfo Describe(const store::RoleBinding& b) {
  return {b.id, b.principal_id, b.group_id, b.role, b.grants, b.created_at};
}

GroupInfo Describe(const store::Group& g) {
  return {g.id, g.organization_id, g.parent_id, g.name, g.created_at};
}

TokenInfo Describe(const store::ApiToken& t) {
  return {t.id, t.principal_id, t.description, t.created_at, t.expires_at, t.revoked,
          t.created_by};
}

absl::StatusOr<PdcInfo> Describe(const store::PinnedDomainCert& c) {
  MASA_ASSIGN_OR_RETURN(internal::ParsedPdc parsed, internal::ParsePdc(c.certificate_der, c.id));
  return PdcInfo{c.id,           c.organization_id,   c.group_id,        c.name,
                 parsed.subject, parsed.organization, parsed.not_before, parsed.not_after,
                 HexEncode(parsed.sha256), c.certificate_der, c.created_at};
}

store::AuditEvent Event(std::string actor, std::string action, std::string target,
                        std::string outcome = "ok", std::string hash = "") {
  return {std::move(actor), std::move(action), std::move(target), std::move(outcome),
          std::move(hash)};
}

bool IsUsername(std::string_view s) {
  size_t at = s.find('@');
  return internal::IsPrintableToken(s, 254) && at != std::string_view::npos && at > 0 &&
         at + 1 < s.size() && s.find('@', at + 1) == std::string_view::npos;
}

bool IsOrgName(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

auto BindingKey = [](const store::RoleBinding& b) { return b.id; };
auto GroupKey = [](const store::Group& g) { return g.id; };
auto PrincipalKey = [](const store::Principal& p) { return p.id; };
auto PdcKey = [](const store::PinnedDomainCert& c) { return c.id; };

}  // namespace

namespace {

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
std::optional<Grant> ParseGrant(std::string_view name) {
  return ParseIn<Grant>(kGrantNames, name);
}

const signer::VoucherSigner* SigningKeys::For(signer::CmsContentType type) const {
  switch (type) {
    case signer::CmsContentType::kAnimaJsonVoucher: return anima_json_voucher.get();
    case signer::CmsContentType::kData: return data.get();
    default: return nullptr;
  }
}

std::map<std::string, DeviceProfile> ServiceOptions::DefaultDeviceProfiles() {
  return {{"", {signer::CmsContentType::kAnimaJsonVoucher}},
          {"ios-xr", {signer::CmsContentType::kAnimaJsonVoucher}},
          {"ios-xe", {signer::CmsContentType::kData}}};
}

std::map<std::string, SecurityProfile> ServiceOptions::DefaultSecurityProfiles() {
  return {{"default", {}},
          {"revocation-checks", {true}},
          {"no-revocation-checks", {false}}};
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
  return std::unique_ptr<Service>(new ServiceImpl(std::move(options)));
}

ServiceImpl::ServiceImpl(ServiceOptions options)
    : options_(std::move(options)),
      store_(options_.store),
      queue_(options_.work_queue),
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

namespace {

// Checks a token record and its principal; the messages never contain the token.
absl::StatusOr<store::Principal> CheckToken(const store::Reader& reader,
                                            const std::string& token_hash, absl::Time now) {
  auto token = reader.Get<store::ApiToken>(token_hash);
  if (absl::IsNotFound(token.status())) return absl::UnauthenticatedError("unknown token");
  if (!token.ok()) return token.status();
  if (token->revoked) return absl::UnauthenticatedError("token " + token->id + " was revoked");
  if (token->expires_at <= now) {
    return absl::UnauthenticatedError("token " + token->id + " expired at " +
                                      FormatRfc3339(token->expires_at));
  }
  auto principal = reader.Get<store::Principal>(token->principal_id);
  if (!principal.ok() || principal->disabled) {
    return absl::UnauthenticatedError("the token's principal is disabled");
  }
  return *std::move(principal);
}

}  // namespace

absl::StatusOr<Caller> ServiceImpl::Authenticate(std::string_view bearer_token) const {
  if (!internal::LooksLikeToken(bearer_token)) {
    metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return absl::UnauthenticatedError("malformed bearer token (expected masa_...)");
  }
  std::string hash = internal::TokenHash(bearer_token);
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  auto principal = CheckToken(snap, hash, Now());
  if (!principal.ok()) {
    metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return principal.status();
  }
  Caller caller;
  caller.principal_id_ = principal->id;
  caller.organization_id_ = principal->organization_id;
  caller.name_ = principal->name;
  caller.token_id_ = internal::TokenIdFromHash(hash);
  caller.token_hash_ = std::move(hash);
  return caller;
}

absl::StatusOr<AccessContext> ServiceImpl::Access(const Caller& caller,
                                                  const store::Reader& reader) const {
  if (caller.token_hash_.empty()) return absl::UnauthenticatedError("not authenticated");
  MASA_RETURN_IF_ERROR(CheckToken(reader, caller.token_hash_, Now()).status());
  return AccessContext::Load(reader, caller.principal_id_, caller.organization_id_,
                             options_.vendor_organization_id);
}

// ---------------------------------------------------------------------------------------
// Pinned-domain certificates

absl::StatusOr<PdcInfo> ServiceImpl::UploadPdc(const Caller& caller, PdcInput input) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string group = input.group_id.empty() ? caller.organization_id() : input.group_id;
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kManagePdcs, group, "group " + group,
                                 Hide::kOtherOrganizationsOnly));
  MASA_ASSIGN_OR_RETURN(internal::ParsedPdc parsed,
                        internal::ParsePdc(input.certificate, "certificate"));
  if (parsed.not_after <= Now()) {
    return absl::InvalidArgumentError("certificate expired at " +
                                      FormatRfc3339(parsed.not_after));
  }
  store::PinnedDomainCert pdc;
  pdc.id = internal::NewId(caller.organization_id() + ".pdc-");
  pdc.organization_id = caller.organization_id();
  pdc.group_id = group;
  pdc.name = !input.name.empty() ? input.name
             : !parsed.common_name.empty() ? parsed.common_name
                                           : parsed.subject;
  if (pdc.name.size() > 256) return absl::InvalidArgumentError("name: longer than 256 bytes");
  pdc.certificate_der = parsed.der;
  pdc.created_at = Now();
  store::WriteBatch batch;
  batch.Insert(pdc).Audit(Event(caller.principal_id(), "pdc.upload",
                                Target(pdc.organization_id, pdc.id), "ok", parsed.sha256));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return Describe(pdc);
}

absl::StatusOr<std::vector<PdcInfo>> ServiceImpl::ListPdcs(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(auto all, internal::ListPrefix<store::PinnedDomainCert>(
                                      snap, caller.organization_id() + ".pdc-", PdcKey));
  std::vector<PdcInfo> out;
  for (const auto& c : all) {
    if (!Authorize(access, Permission::kView, c.group_id, c.id).ok()) continue;
    MASA_ASSIGN_OR_RETURN(PdcInfo info, Describe(c));
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<PdcInfo> ServiceImpl::GetPdc(const Caller& caller,
                                            std::string_view cert_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "certificate " + std::string(cert_id);
  auto pdc = snap.Get<store::PinnedDomainCert>(cert_id);
  if (absl::IsNotFound(pdc.status())) return absl::NotFoundError(what + " not found");
  if (!pdc.ok()) return pdc.status();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kView, pdc->group_id, what));
  return Describe(*pdc);
}

absl::Status ServiceImpl::DeletePdc(const Caller& caller, std::string_view cert_id) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "certificate " + std::string(cert_id);
  auto pdc = snap.Get<store::PinnedDomainCert>(cert_id);
  if (absl::IsNotFound(pdc.status())) return absl::NotFoundError(what + " not found");
  if (!pdc.ok()) return pdc.status();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kManagePdcs, pdc->group_id, what));
  store::WriteBatch batch;
  batch.Delete<store::PinnedDomainCert>(pdc->id)
      .Audit(Event(caller.principal_id(), "pdc.delete", Target(pdc->organization_id, pdc->id)));
  return store_->Write(std::move(batch)).status();
}

// ---------------------------------------------------------------------------------------
// Principals and bindings

absl::StatusOr<PrincipalInfo> ServiceImpl::AddPrincipal(const Caller& caller,
                                                        std::string_view name,
                                                        store::PrincipalKind kind) {
  bool user = kind == store::PrincipalKind::kUser;
  if (user ? !IsUsername(name) : !internal::IsPrintableToken(name, 128)) {
    return absl::InvalidArgumentError(
        user ? "username: expected an e-mail-style name like alice@example.com"
             : "name: 1..128 printable characters without spaces");
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  const std::string& org = caller.organization_id();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, org, "organization " + org,
                                 Hide::kOtherOrganizationsOnly));
  store::Principal p;
  p.id = internal::NewId(org + ".p-");
  p.organization_id = org;
  p.kind = kind;
  p.name = std::string(name);
  if (user) p.email = p.name;
  p.created_at = Now();
  store::WriteBatch batch;
  batch.Do([p](store::WriteTxn& txn) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(auto existing, internal::ListPrefix<store::Principal>(
                                             txn, p.organization_id + ".p-", PrincipalKey));
    for (const auto& e : existing) {
      if (e.name == p.name) {
        return absl::AlreadyExistsError("a principal named " + p.name + " exists (" + e.id + ")");
      }
    }
    return txn.Insert(p);
  });
  batch.Audit(Event(caller.principal_id(), user ? "user.invite" : "service-account.create",
                    Target(org, p.id)));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return Describe(p);
}

absl::StatusOr<PrincipalInfo> ServiceImpl::InviteUser(const Caller& caller,
                                                      std::string_view username) {
  return AddPrincipal(caller, username, store::PrincipalKind::kUser);
}

absl::StatusOr<PrincipalInfo> ServiceImpl::CreateServiceAccount(const Caller& caller,
                                                                std::string_view name) {
  return AddPrincipal(caller, name, store::PrincipalKind::kServiceAccount);
}

absl::StatusOr<std::vector<PrincipalInfo>> ServiceImpl::ListPrincipals(
    const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  const std::string& org = caller.organization_id();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, org, "organization " + org,
                                 Hide::kOtherOrganizationsOnly));
  MASA_ASSIGN_OR_RETURN(auto all,
                        internal::ListPrefix<store::Principal>(snap, org + ".p-", PrincipalKey));
  std::vector<PrincipalInfo> out;
  for (const auto& p : all) out.push_back(Describe(p));
  return out;
}

absl::Status ServiceImpl::DisablePrincipal(const Caller& caller,
                                           std::string_view principal_id) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "principal " + std::string(principal_id);
  if (internal::OrganizationOfId(principal_id) != caller.organization_id()) {
    return absl::NotFoundError(what + " not found");
  }
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, caller.organization_id(),
                                 what, Hide::kOtherOrganizationsOnly));
  if (principal_id == caller.principal_id()) {
    return absl::FailedPreconditionError("you cannot disable yourself");
  }
  auto p = snap.Get<store::Principal>(principal_id);
  if (absl::IsNotFound(p.status())) return absl::NotFoundError(what + " not found");
  if (!p.ok()) return p.status();
  p->disabled = true;
  store::WriteBatch batch;
  batch.Put(*p).Audit(Event(caller.principal_id(), "principal.disable",
                            Target(p->organization_id, p->id)));
  return store_->Write(std::move(batch)).status();
}

absl::StatusOr<BindingInfo> ServiceImpl::BindRole(const Caller& caller,
                                                  std::string_view principal_id,
                                                  std::string_view group_id,
                                                  std::string_view role_name) {
  std::optional<Role> role = ParseRole(role_name);
  if (!role) {
    return absl::InvalidArgumentError(
        "role: expected viewer, requestor, assigner, admin, support, account-team or "
        "security-officer");
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string group(group_id);
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, group, "group " + group,
                                 Hide::kOtherOrganizationsOnly));
  std::string what = "principal " + std::string(principal_id);
  auto p = snap.Get<store::Principal>(principal_id);
  if (!p.ok() || p->organization_id != internal::OrganizationOfId(group)) {
    if (p.ok() || absl::IsNotFound(p.status())) return absl::NotFoundError(what + " not found");
    return p.status();
  }
  if (IsVendorRole(*role) && (p->organization_id != options_.vendor_organization_id ||
                              group != options_.vendor_organization_id)) {
    return absl::InvalidArgumentError("role " + std::string(role_name) +
                                      " exists only on the vendor organization's root group");
  }
  store::RoleBinding b;
  b.id = internal::NewId(p->id + ".b-");
  b.principal_id = p->id;
  b.group_id = group;
  b.role = std::string(RoleName(*role));
  b.created_at = Now();
  store::WriteBatch batch;
  batch.Insert(b).Audit(Event(caller.principal_id(), "role.bind",
                              Target(p->organization_id, b.id),
                              "ok: " + b.role + " on " + group + " for " + p->id));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return Describe(b);
}

absl::Status ServiceImpl::DeleteBinding(const Caller& caller, std::string_view binding_id) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "binding " + std::string(binding_id);
  auto b = snap.Get<store::RoleBinding>(binding_id);
  if (absl::IsNotFound(b.status())) return absl::NotFoundError(what + " not found");
  if (!b.ok()) return b.status();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, b->group_id, what,
                                 Hide::kOtherOrganizationsOnly));
  store::WriteBatch batch;
  batch.Delete<store::RoleBinding>(b->id).Audit(
      Event(caller.principal_id(), "role.unbind",
            Target(internal::OrganizationOfId(b->group_id), b->id)));
  return store_->Write(std::move(batch)).status();
}

absl::StatusOr<BindingInfo> ServiceImpl::ChangeGrant(const Caller& caller,
                                                     std::string_view binding_id,
                                                     std::string_view permission, bool add) {
  if (!ParseGrant(permission)) {
    return absl::InvalidArgumentError("permission: expected request, download or archive");
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "binding " + std::string(binding_id);
  auto b = snap.Get<store::RoleBinding>(binding_id);
  if (absl::IsNotFound(b.status())) return absl::NotFoundError(what + " not found");
  if (!b.ok()) return b.status();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, b->group_id, what,
                                 Hide::kOtherOrganizationsOnly));
  auto it = std::find(b->grants.begin(), b->grants.end(), permission);
  bool present = it != b->grants.end();
  if (add == present) return Describe(*b);  // nothing changes, nothing to audit
  if (add) {
    b->grants.emplace_back(permission);
  } else {
    b->grants.erase(it);
  }
  store::WriteBatch batch;
  batch.Put(*b).Audit(Event(caller.principal_id(), add ? "permission.grant" : "permission.revoke",
                            Target(internal::OrganizationOfId(b->group_id), b->id),
                            "ok: " + std::string(permission)));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return Describe(*b);
}

absl::StatusOr<BindingInfo> ServiceImpl::GrantPermission(const Caller& caller,
                                                         std::string_view binding_id,
                                                         std::string_view permission) {
  return ChangeGrant(caller, binding_id, permission, true);
}

absl::StatusOr<BindingInfo> ServiceImpl::RevokePermission(const Caller& caller,
                                                          std::string_view binding_id,
                                                          std::string_view permission) {
  return ChangeGrant(caller, binding_id, permission, false);
}

absl::StatusOr<std::vector<BindingInfo>> ServiceImpl::ListBindings(
    const Caller& caller, std::string_view principal_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string prefix = principal_id.empty() ? caller.organization_id() + "."
                                            : std::string(principal_id) + ".b-";
  if (internal::OrganizationOfId(prefix) != caller.organization_id()) return std::vector<BindingInfo>{};
  MASA_ASSIGN_OR_RETURN(auto all,
                        internal::ListPrefix<store::RoleBinding>(snap, prefix, BindingKey));
  std::vector<BindingInfo> out;
  for (const auto& b : all) {
    if (b.principal_id == caller.principal_id() ||
        Authorize(access, Permission::kAdminister, b.group_id, b.id).ok()) {
      out.push_back(Describe(b));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Groups

absl::StatusOr<GroupInfo> ServiceImpl::CreateGroup(const Caller& caller,
                                                   std::string_view parent_id,
                                                   std::string_view name) {
  if (!internal::IsPrintableToken(name, 128)) {
    return absl::InvalidArgumentError("name: 1..128 printable characters without spaces");
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string parent = parent_id.empty() ? caller.organization_id() : std::string(parent_id);
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, parent, "group " + parent,
                                 Hide::kOtherOrganizationsOnly));
  store::Group g;
  g.organization_id = internal::OrganizationOfId(parent);
  g.id = internal::NewId(g.organization_id + ".g-");
  g.parent_id = parent;
  g.name = std::string(name);
  g.created_at = Now();
  store::WriteBatch batch;
  batch.Do([g](store::WriteTxn& txn) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(auto groups, internal::ListPrefix<store::Group>(
                                           txn, g.organization_id + ".g-", GroupKey));
    for (const auto& other : groups) {
      if (other.parent_id == g.parent_id && other.name == g.name) {
        return absl::AlreadyExistsError("group " + g.parent_id + " has a child named " + g.name);
      }
    }
    return txn.Insert(g);
  });
  batch.Audit(Event(caller.principal_id(), "group.create", Target(g.organization_id, g.id),
                    "ok: " + g.name + " under " + parent));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return Describe(g);
}

absl::StatusOr<std::vector<GroupInfo>> ServiceImpl::ListGroups(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  const std::string& org = caller.organization_id();
  std::vector<store::Group> all;
  MASA_ASSIGN_OR_RETURN(store::Group root, snap.Get<store::Group>(org));
  all.push_back(root);
  MASA_ASSIGN_OR_RETURN(auto children,
                        internal::ListPrefix<store::Group>(snap, org + ".g-", GroupKey));
  all.insert(all.end(), children.begin(), children.end());
  std::vector<GroupInfo> out;
  for (const auto& g : all) {
    if (Authorize(access, Permission::kView, g.id, g.id).ok()) out.push_back(Describe(g));
  }
  return out;
}

absl::Status ServiceImpl::DeleteGroup(const Caller& caller, std::string_view group_id) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "group " + std::string(group_id);
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, group_id, what,
                                 Hide::kOtherOrganizationsOnly));
  MASA_ASSIGN_OR_RETURN(store::Group g, snap.Get<store::Group>(group_id));
  if (g.parent_id.empty()) {
    return absl::FailedPreconditionError("the organization's root group cannot be deleted");
  }
  std::string org = g.organization_id;
  std::string id = g.id;
  store::WriteBatch batch;
  // Checked in the write transaction so a serial placed meanwhile is not orphaned.
  batch.Do([org, id](store::WriteTxn& txn) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(auto groups,
                          internal::ListPrefix<store::Group>(txn, org + ".g-", GroupKey));
    for (const auto& other : groups) {
      if (other.parent_id == id) {
        return absl::FailedPreconditionError("group " + id + " has child group " + other.id);
      }
    }
    MASA_ASSIGN_OR_RETURN(auto pdcs, internal::ListPrefix<store::PinnedDomainCert>(
                                         txn, org + ".pdc-", PdcKey));
    for (const auto& c : pdcs) {
      if (c.group_id == id) {
        return absl::FailedPreconditionError("group " + id + " holds certificate " + c.id);
      }
    }
    // Components have no index by group: a full scan (fine for deletes, which are rare).
    std::string start;
    while (true) {
      MASA_ASSIGN_OR_RETURN(auto comps, txn.List<store::Component>(start, 1024));
      for (const auto& c : comps) {
        if (c.group_id == id) {
          return absl::FailedPreconditionError("group " + id + " holds serial " +
                                               c.serial_number);
        }
      }
      if (comps.size() < 1024) break;
      start = store::ComponentKey(comps.back().ien, comps.back().serial_number) +
              std::string(1, '\0');
    }
    MASA_ASSIGN_OR_RETURN(auto bindings,
                          internal::ListPrefix<store::RoleBinding>(txn, org + ".", BindingKey));
    for (const auto& b : bindings) {
      if (b.group_id == id) MASA_RETURN_IF_ERROR(txn.Delete<store::RoleBinding>(b.id));
    }
    return txn.Delete<store::Group>(id);
  });
  batch.Audit(Event(caller.principal_id(), "group.delete", Target(org, id)));
  return store_->Write(std::move(batch)).status();
}

// ---------------------------------------------------------------------------------------
// Serials

absl::StatusOr<AssignResult> ServiceImpl::AssignSerials(const Caller& caller,
                                                        AssignInput input) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  if (!access.Anywhere(Permission::kAssignSerials)) {
    return absl::PermissionDeniedError("assigning serials needs the vendor account-team role");
  }
  std::string group = input.group_id.empty() ? input.organization_id : input.group_id;
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAssignSerials, group, "group " + group));
  return Assign(caller.principal_id(), std::move(input));
}

absl::StatusOr<AssignResult> ServiceImpl::AssignSerialsOffline(AssignInput input) {
  return Assign(std::string(kBootstrapActor), std::move(input));
}

absl::StatusOr<AssignResult> ServiceImpl::Assign(const std::string& actor, AssignInput input) {
  if (input.serials.empty()) return absl::InvalidArgumentError("no serial numbers given");
  std::string group = input.group_id.empty() ? input.organization_id : input.group_id;
  {
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    auto g = snap.Get<store::Group>(group);
    if (absl::IsNotFound(g.status()) ||
        (g.ok() && g->organization_id != input.organization_id)) {
      return absl::NotFoundError("group " + group + " of organization " +
                                 input.organization_id + " not found");
    }
    if (!g.ok()) return g.status();
  }
  std::set<std::string> seen;
  for (auto& s : input.serials) {
    if (s.ien.empty()) s.ien = options_.vendor_ien;
    if (!internal::IsPrintableToken(s.serial_number, 64) ||
        !internal::IsPrintableToken(s.ien, 16) || s.model.size() > 128) {
      return absl::InvalidArgumentError("serial \"" + s.serial_number +
                                        "\": ien and serial must be 1..16 / 1..64 printable "
                                        "characters, model at most 128");
    }
    if (!seen.insert(store::ComponentKey(s.ien, s.serial_number)).second) {
      return absl::InvalidArgumentError("serial " + s.serial_number + " is listed twice");
    }
  }
  AssignResult total;
  const size_t chunk = options_.assign_batch_size;
  for (size_t begin = 0; begin < input.serials.size(); begin += chunk) {
    std::vector<SerialAssignment> part(
        input.serials.begin() + begin,
        input.serials.begin() + std::min(input.serials.size(), begin + chunk));
    auto result = std::make_shared<AssignResult>();
    store::WriteBatch batch;
    batch.Do([part, result, org = input.organization_id, group, actor,
              reassign = input.reassign](store::WriteTxn& txn) -> absl::Status {
      *result = {};
      for (const auto& s : part) {
        auto existing = txn.Get<store::Component>(store::ComponentKey(s.ien, s.serial_number));
        if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
        std::string action = "serial.assign";
        if (existing.ok()) {
          if (existing->organization_id == org && existing->group_id == group &&
              (s.model.empty() || s.model == existing->model)) {
            ++result->unchanged;
            continue;
          }
          if (existing->organization_id != org) {
            if (!reassign) {
              return absl::FailedPreconditionError(
                  "serial " + s.serial_number + " belongs to organization " +
                  existing->organization_id + "; set reassign to move it");
            }
            action = "serial.reassign";
          }
        }
        store::Component c = existing.ok() ? *existing : store::Component{};
        c.ien = s.ien;
        c.serial_number = s.serial_number;
        c.organization_id = org;
        c.group_id = group;
        if (!s.model.empty()) c.model = s.model;
        MASA_RETURN_IF_ERROR(txn.Put(c));
        std::string outcome = "ok: to " + group;
        if (action == "serial.reassign") outcome += " from " + existing->organization_id;
        MASA_RETURN_IF_ERROR(
            txn.Append(Event(actor, action, internal::SerialTarget(org, s.ien, s.serial_number),
                             outcome))
                .status());
        ++result->assigned;
      }
      return absl::OkStatus();
    });
    auto written = store_->Write(std::move(batch));
    if (!written.ok()) {
      if (begin == 0) return written.status();
      return absl::Status(written.status().code(),
                          absl::StrCat(written.status().message(), " (the first ", begin,
                                       " serials were assigned)"));
    }
    total.assigned += result->assigned;
    total.unchanged += result->unchanged;
  }
  return total;
}

absl::StatusOr<AssignResult> ServiceImpl::PlaceSerials(const Caller& caller,
                                                       std::string_view group_id,
                                                       const std::vector<SerialRef>& serials) {
  if (serials.empty()) return absl::InvalidArgumentError("no serial numbers given");
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string group(group_id);
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kPlaceSerials, group, "group " + group,
                                 Hide::kOtherOrganizationsOnly));
  const std::string& org = caller.organization_id();
  std::vector<store::Component> moves;
  AssignResult result;
  for (const auto& ref : serials) {
    std::string ien = ref.ien.empty() ? options_.vendor_ien : ref.ien;
    std::string what = "serial " + ref.serial_number;
    auto c = snap.Get<store::Component>(store::ComponentKey(ien, ref.serial_number));
    if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
    if (!c.ok() || c->organization_id != org) return absl::NotFoundError(what + " not found");
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kPlaceSerials, c->group_id, what));
    if (c->group_id == group) {
      ++result.unchanged;
      continue;
    }
    c->group_id = group;
    moves.push_back(*std::move(c));
  }
  store::WriteBatch batch;
  for (const auto& c : moves) {
    batch.Put(c).Audit(Event(caller.principal_id(), "serial.place",
                             internal::SerialTarget(org, c.ien, c.serial_number),
                             "ok: to " + group));
  }
  if (!batch.empty()) MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  result.assigned = moves.size();
  return result;
}

// ---------------------------------------------------------------------------------------
// Tokens

absl::StatusOr<NewToken> ServiceImpl::IssueToken(store::WriteBatch& batch,
                                                 const std::string& actor,
                                                 const store::Principal& principal,
                                                 absl::Duration validity,
                                                 std::string description) {
  if (validity <= absl::ZeroDuration() || validity > options_.max_token_validity) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity: must be more than 0 and at most ",
                     absl::FormatDuration(options_.max_token_validity)));
  }
  if (description.size() > 256) {
    return absl::InvalidArgumentError("description: longer than 256 bytes");
  }
  MASA_ASSIGN_OR_RETURN(Secret secret, internal::NewTokenSecret());
  store::ApiToken t;
  t.token_hash = internal::TokenHash(secret.view());
  t.id = internal::TokenIdFromHash(t.token_hash);
  t.principal_id = principal.id;
  t.description = std::move(description);
  t.created_at = Now();
  t.expires_at = t.created_at + validity;
  t.created_by = actor;
  batch.Insert(t).Audit(Event(actor, "token.create", Target(principal.organization_id, t.id),
                              "ok: for " + principal.id + " until " +
                                  FormatRfc3339(t.expires_at)));
  return NewToken{Describe(t), std::move(secret)};
}

absl::StatusOr<NewToken> ServiceImpl::CreateToken(const Caller& caller, TokenInput input) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string pid = input.principal_id.empty() ? caller.principal_id() : input.principal_id;
  std::string what = "principal " + pid;
  if (pid != caller.principal_id()) {
    if (internal::OrganizationOfId(pid) != caller.organization_id()) {
      return absl::NotFoundError(what + " not found");
    }
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, caller.organization_id(),
                                   what, Hide::kOtherOrganizationsOnly));
  }
  auto principal = snap.Get<store::Principal>(pid);
  if (absl::IsNotFound(principal.status())) return absl::NotFoundError(what + " not found");
  if (!principal.ok()) return principal.status();
  if (principal->disabled) return absl::FailedPreconditionError(what + " is disabled");
  store::WriteBatch batch;
  MASA_ASSIGN_OR_RETURN(
      NewToken token,
      IssueToken(batch, caller.principal_id(), *principal,
                 input.validity.value_or(options_.default_token_validity),
                 std::move(input.description)));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return token;
}

absl::StatusOr<std::vector<TokenInfo>> ServiceImpl::ListTokens(
    const Caller& caller, std::string_view principal_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string pid = principal_id.empty() ? caller.principal_id() : std::string(principal_id);
  if (pid != caller.principal_id()) {
    if (internal::OrganizationOfId(pid) != caller.organization_id()) {
      return std::vector<TokenInfo>{};
    }
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, caller.organization_id(),
                                   "principal " + pid, Hide::kOtherOrganizationsOnly));
  }
  // Tokens are keyed by hash: a scan (token tables are small).
  MASA_ASSIGN_OR_RETURN(auto all, snap.List<store::ApiToken>());
  std::vector<TokenInfo> out;
  for (const auto& t : all) {
    if (t.principal_id == pid) out.push_back(Describe(t));
  }
  return out;
}

absl::Status ServiceImpl::RevokeToken(const Caller& caller, std::string_view token_id) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "token " + std::string(token_id);
  MASA_ASSIGN_OR_RETURN(auto all, snap.List<store::ApiToken>());
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const store::ApiToken& t) { return t.id == token_id; });
  if (it == all.end() ||
      internal::OrganizationOfId(it->principal_id) != caller.organization_id()) {
    return absl::NotFoundError(what + " not found");
  }
  if (it->principal_id != caller.principal_id()) {
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, caller.organization_id(),
                                   what, Hide::kOtherOrganizationsOnly));
  }
  if (it->revoked) return absl::OkStatus();
  it->revoked = true;
  store::WriteBatch batch;
  batch.Put(*it).Audit(Event(caller.principal_id(), "token.revoke",
                             Target(caller.organization_id(), it->id)));
  return store_->Write(std::move(batch)).status();
}

// ---------------------------------------------------------------------------------------
// Audit

absl::StatusOr<AuditPage> ServiceImpl::ListAudit(const Caller& caller,
                                                 const AuditQuery& query) const {
  if (query.limit == 0 || query.limit > kMaxAuditLimit) {
    return absl::InvalidArgumentError("limit: expected 1..1000");
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string org = query.organization_id;
  bool everywhere = internal::Has(access.cross_organization(), Permission::kViewAudit);
  if (!everywhere) {
    if (!org.empty() && org != caller.organization_id()) {
      return absl::NotFoundError("organization " + org + " not found");
    }
    org = caller.organization_id();
  }
  if (!org.empty()) {
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kViewAudit, org, "organization " + org,
                                   Hide::kOtherOrganizationsOnly));
  }
  std::string prefix = org.empty() ? "" : org + "/";
  AuditPage page;
  MASA_ASSIGN_OR_RETURN(uint64_t size, snap.AuditSize());
  page.next_seq = query.from_seq;
  absl::Status decode_error;
  MASA_RETURN_IF_ERROR(snap.ScanAudit(query.from_seq, [&](uint64_t seq, std::string_view bytes) {
    if (page.entries.size() >= query.limit || seq >= query.from_seq + kMaxAuditScan) {
      return false;
    }
    page.next_seq = seq + 1;
    auto e = store::DecodeAuditEntry(bytes);
    if (!e.ok()) {
      decode_error = e.status();
      return false;
    }
    if (internal::HasPrefix(e->target, prefix)) {
      page.entries.push_back(
          {e->seq, e->time, e->actor, e->action, e->target, e->outcome, e->object_hash});
    }
    return true;
  }));
  MASA_RETURN_IF_ERROR(decode_error);
  if (page.entries.size() < query.limit && page.next_seq < size &&
      page.next_seq < query.from_seq + kMaxAuditScan) {
    page.next_seq = size;
  }
  return page;
}

absl::StatusOr<VoucherInclusionProof> ServiceImpl::InclusionProof(
    const Caller& caller, std::string_view voucher_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::Voucher v, AuthorizedVoucher(access, Permission::kView, voucher_id));
  if (!v.audit_seq) return absl::FailedPreconditionError("voucher has no audit entry");
  MASA_ASSIGN_OR_RETURN(std::optional<std::string> note, snap.LatestCheckpoint());
  if (!note) return absl::FailedPreconditionError("no signed checkpoint yet; retry later");
  MASA_ASSIGN_OR_RETURN(store::Checkpoint cp, store::ParseCheckpointNote(*note));
  if (cp.tree_size <= *v.audit_seq) {
    return absl::FailedPreconditionError(
        "the voucher's audit entry is newer than the latest checkpoint; retry later");
  }
  VoucherInclusionProof out;
  out.seq = *v.audit_seq;
  MASA_ASSIGN_OR_RETURN(out.entry_bytes, snap.AuditEntryBytes(out.seq));
  out.tree_size = cp.tree_size;
  MASA_ASSIGN_OR_RETURN(out.proof, snap.InclusionProof(out.seq, cp.tree_size));
  out.checkpoint = *std::move(note);
  return out;
}

// ---------------------------------------------------------------------------------------
// Bootstrap

absl::StatusOr<BootstrapResult> ServiceImpl::Bootstrap(const std::string& org_id,
                                                       const std::string& org_name,
                                                       bool create_org,
                                                       std::string_view username, Role role) {
  if (!IsUsername(username) && !internal::IsPrintableToken(username, 128)) {
    return absl::InvalidArgumentError("username: 1..128 printable characters, e.g. an e-mail");
  }
  const std::string actor(kBootstrapActor);
  const absl::Time now = Now();
  store::WriteBatch batch;
  if (create_org) {
    store::Organization org{org_id, org_name, now, ""};
    store::Group root{org_id, org_id, "", org_name, now, ""};
    batch.Do([org, root, vendor = org_id == options_.vendor_organization_id](
                 store::WriteTxn& txn) -> absl::Status {
      absl::Status st = txn.Insert(org);
      // The vendor organization is created on first use and then reused.
      if (vendor && absl::IsAlreadyExists(st)) return absl::OkStatus();
      if (absl::IsAlreadyExists(st)) {
        return absl::AlreadyExistsError("organization " + org.id + " exists");
      }
      MASA_RETURN_IF_ERROR(st);
      MASA_RETURN_IF_ERROR(txn.Insert(root));
      return txn.Append(Event("masactl", "org.create", Target(org.id, org.id), "ok: " + org.name))
          .status();
    });
  }
  store::Principal p;
  p.id = internal::NewId(org_id + ".p-");
  p.organization_id = org_id;
  p.kind = store::PrincipalKind::kUser;
  p.name = std::string(username);
  p.email = IsUsername(username) ? p.name : "";
  p.created_at = now;
  batch.Do([p](store::WriteTxn& txn) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(auto existing, internal::ListPrefix<store::Principal>(
                                             txn, p.organization_id + ".p-", PrincipalKey));
    for (const auto& e : existing) {
      if (e.name == p.name) return absl::AlreadyExistsError("principal " + p.name + " exists");
    }
    return txn.Insert(p);
  });
  batch.Audit(Event(actor, "user.invite", Target(org_id, p.id)));
  store::RoleBinding b{internal::NewId(p.id + ".b-"), p.id, org_id,
                       std::string(RoleName(role)), {}, now, ""};
  batch.Insert(b).Audit(Event(actor, "role.bind", Target(org_id, b.id),
                              "ok: " + b.role + " on " + org_id + " for " + p.id));
  MASA_ASSIGN_OR_RETURN(NewToken token,
                        IssueToken(batch, actor, p, options_.default_token_validity,
                                   "first token, from masactl"));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return BootstrapResult{org_id, Describe(p), std::move(token)};
}

absl::StatusOr<BootstrapResult> ServiceImpl::CreateOrganization(std::string_view name,
                                                                std::string_view admin_username) {
  if (!IsOrgName(name)) {
    return absl::InvalidArgumentError("organization name: 1..63 of [a-z0-9-], e.g. acme");
  }
  std::string id = "org-" + std::string(name);
  if (id == options_.vendor_organization_id) {
    return absl::InvalidArgumentError("that is the vendor organization's name");
  }
  if (!IsUsername(admin_username)) {
    return absl::InvalidArgumentError("admin username: expected e.g. alice@example.com");
  }
  return Bootstrap(id, std::string(name), true, admin_username, Role::kAdmin);
}

absl::StatusOr<BootstrapResult> ServiceImpl::CreateVendorPrincipal(std::string_view username,
                                                                   std::string_view role) {
  std::optional<Role> r = ParseRole(role);
  if (!r) return absl::InvalidArgumentError("role: unknown");
  const std::string& id = options_.vendor_organization_id;
  return Bootstrap(id, id.substr(id.find('-') + 1), true, username, *r);
}

}  // namespace masa::service
