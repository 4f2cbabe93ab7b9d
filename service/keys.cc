// The key lifecycle (service/keys.h): generate, CSR, issue, import, list and publish.
// Activation, retirement and the two-person rule are in key_approvals.cc; the running
// daemon's switch (RefreshKeys) and the adoption of configured keys in key_rotation.cc.
//
// The order of every step that touches the HSM: authorize on a snapshot (which ends), do
// the HSM work (the vault), then write the record and its audit entry in one operation that
// authorizes again. The HSM is never touched inside a store transaction (the body may run
// twice and must be quick), and nothing the HSM made counts before its record commits: a
// key generated whose record then fails to commit is an orphan object in the token with no
// KeyRecord, and every later step (issue, activate, RefreshKeys) starts from a KeyRecord, so
// it can never sign. The error names its URI so that the officer can delete it.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/openssl.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/time.h"
#include "service/internal/ids.h"
#include "service/internal/keys.h"
#include "service/internal/service_impl.h"
#include "service/key_vault.h"

namespace masa::service {

using internal::KeyTarget;
using internal::ToKeyInfo;

namespace {

constexpr std::pair<KeyPurpose, std::string_view> kPurposeNames[] = {
    {KeyPurpose::kVoucherSigning, "voucher-signing"}, {KeyPurpose::kAudit, "audit"}};
constexpr std::pair<KeyAlgorithm, std::string_view> kAlgorithmNames[] = {
    {KeyAlgorithm::kEcP256, "p256"},
    {KeyAlgorithm::kEcP384, "p384"},
    {KeyAlgorithm::kRsa3072, "rsa3072"},
    {KeyAlgorithm::kEd25519, "ed25519"}};
constexpr std::pair<KeyState, std::string_view> kStateNames[] = {{KeyState::kPending, "pending"},
                                                                 {KeyState::kActive, "active"},
                                                                 {KeyState::kRetired, "retired"}};

template <typename T, typename Table>
std::string_view NameOf(const Table& table, T value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}
template <typename T, typename Table>
std::optional<T> ValueOf(const Table& table, std::string_view name) {
  for (const auto& [v, n] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// The chain a caller gave: PEM (one or more certificates) or one or more DER certificates
// back to back; each re-encoded as DER.
absl::StatusOr<std::vector<std::string>> ChainDer(std::string_view chain) {
  std::vector<std::string> out;
  if (chain.find("-----BEGIN") != std::string_view::npos) {
    MASA_ASSIGN_OR_RETURN(auto certs, ParseCertificates(chain));
    for (const auto& c : certs) {
      MASA_ASSIGN_OR_RETURN(std::string der, CertificateToDer(c.get()));
      out.push_back(std::move(der));
    }
    return out;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(chain.data());
  const unsigned char* end = p + chain.size();
  while (p < end) {
    const unsigned char* start = p;
    UniquePtr<X509> cert(d2i_X509(nullptr, &p, end - p));
    if (cert == nullptr) {
      return FromOpenSslErrors(absl::StrCat("certificate ", out.size() + 1, " of the chain"),
                               absl::StatusCode::kInvalidArgument);
    }
    out.emplace_back(reinterpret_cast<const char*>(start), p - start);
  }
  if (out.empty()) return absl::InvalidArgumentError("the certificate chain is empty");
  return out;
}

}  // namespace

std::string_view KeyPurposeName(KeyPurpose purpose) { return NameOf(kPurposeNames, purpose); }
std::optional<KeyPurpose> ParseKeyPurpose(std::string_view name) {
  return ValueOf<KeyPurpose>(kPurposeNames, name);
}
std::string_view KeyAlgorithmName(KeyAlgorithm algorithm) {
  return NameOf(kAlgorithmNames, algorithm);
}
std::optional<KeyAlgorithm> ParseKeyAlgorithm(std::string_view name) {
  return ValueOf<KeyAlgorithm>(kAlgorithmNames, name);
}
std::string_view KeyStateName(KeyState state) { return NameOf(kStateNames, state); }

namespace internal {

std::string KeyTarget(std::string_view vendor_org, std::string_view key_id) {
  return Target(vendor_org, "key:" + std::string(key_id));
}

KeyState FromStored(store::KeyState state) {
  switch (state) {
    case store::KeyState::kPending:
      return KeyState::kPending;
    case store::KeyState::kActive:
      return KeyState::kActive;
    case store::KeyState::kRetired:
      return KeyState::kRetired;
  }
  return KeyState::kPending;
}

KeyInfo ToKeyInfo(const store::KeyRecord& r) {
  KeyInfo k;
  k.key_id = r.id;
  k.uri = r.uri;
  k.purpose = ParseKeyPurpose(r.purpose).value_or(KeyPurpose::kVoucherSigning);
  k.algorithm = ParseKeyAlgorithm(r.algorithm).value_or(KeyAlgorithm::kEcP256);
  k.state = FromStored(r.state);
  k.chain_der = r.chain_der;
  if (k.chain_der.empty() && !r.certificate_der.empty()) k.chain_der = {r.certificate_der};
  k.public_key_der = r.public_key_der;
  k.created_at = r.created_at;
  k.created_by = r.created_by;
  k.activated_at = r.activated_at;
  k.retired_at = r.retired_at;
  k.first_used_at = r.first_used_at;
  k.last_used_at = r.last_used_at;
  k.signatures = r.signatures;
  if (!k.chain_der.empty()) {
    const std::string& leaf = k.chain_der.front();
    k.fingerprint_sha256 = HexEncode(Sha256(leaf));
    absl::StatusOr<UniquePtr<X509>> cert = ParseCertificate(leaf);
    if (cert.ok()) {
      k.subject = SubjectName(cert->get());
      auto when = [](const ASN1_TIME* t) -> std::optional<absl::Time> {
        struct tm tm {};
        if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
        return absl::FromUnixSeconds(timegm(&tm));
      };
      k.not_before = when(X509_get0_notBefore(cert->get()));
      k.not_after = when(X509_get0_notAfter(cert->get()));
    }
    ERR_clear_error();
  }
  return k;
}

absl::StatusOr<std::vector<store::KeyRecord>> AllKeys(const store::Reader& reader) {
  return reader.List<store::KeyRecord>();
}

absl::StatusOr<std::optional<store::KeyRecord>> ActiveKey(const store::Reader& reader,
                                                          std::string_view purpose) {
  MASA_ASSIGN_OR_RETURN(auto keys, AllKeys(reader));
  for (auto& k : keys) {
    if (k.purpose == purpose && k.state == store::KeyState::kActive) return std::move(k);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> AlgorithmOf(std::string_view public_key_der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(public_key_der.data());
  UniquePtr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())));
  if (key == nullptr) {
    return FromOpenSslErrors("the public key", absl::StatusCode::kInvalidArgument);
  }
  if (EVP_PKEY_is_a(key.get(), "ED25519")) return std::string("ed25519");
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    if (EVP_PKEY_get_bits(key.get()) == 3072) return std::string("rsa3072");
  } else if (EVP_PKEY_is_a(key.get(), "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len) == 1) {
      std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256") return std::string("p256");
      if (g == "secp384r1" || g == "P-384") return std::string("p384");
    }
  }
  ERR_clear_error();
  return absl::InvalidArgumentError(
      "the key's algorithm is none of p256, p384, rsa3072 and ed25519");
}

}  // namespace internal

// ---------------------------------------------------------------------------------------

absl::StatusOr<KeyVault*> ServiceImpl::Vault() const {
  if (options_.key_vault == nullptr) {
    return absl::FailedPreconditionError("no HSM key vault configured");
  }
  return options_.key_vault;
}

absl::Status ServiceImpl::AuthorizeKeys(const internal::AccessContext& access) const {
  if (!Has(access.cross_organization(), internal::Permission::kManageKeys)) {
    return absl::PermissionDeniedError("the key lifecycle needs the vendor security-officer role");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<store::KeyRecord>> ServiceImpl::AuthorizedKeyRead(
    const Caller& caller, std::string_view key_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(internal::AccessContext access, Access(caller, snap));
  MASA_RETURN_IF_ERROR(AuthorizeKeys(access));
  if (key_id.empty()) return std::optional<store::KeyRecord>();
  auto key = snap.Get<store::KeyRecord>(key_id);
  if (absl::IsNotFound(key.status())) {
    return absl::NotFoundError("key " + std::string(key_id) + " not found");
  }
  if (!key.ok()) return key.status();
  return std::optional<store::KeyRecord>(*std::move(key));
}

absl::StatusOr<KeyInfo> ServiceImpl::GenerateKey(const Caller& caller, KeyGenerateInput input) {
  MASA_ASSIGN_OR_RETURN(KeyVault * vault, Vault());
  MASA_RETURN_IF_ERROR(AuthorizedKeyRead(caller, "").status());
  if (!input.label.empty() && !internal::IsPrintableToken(input.label, 64)) {
    return absl::InvalidArgumentError("label: 1..64 printable characters without spaces");
  }
  store::KeyRecord r;
  r.id = internal::NewId("key-");
  r.purpose = std::string(KeyPurposeName(input.purpose));
  r.algorithm = std::string(KeyAlgorithmName(input.algorithm));
  r.label = input.label.empty() ? absl::StrCat("masa-", r.purpose, "-", r.id) : input.label;
  r.state = store::KeyState::kPending;
  r.created_at = Now();
  r.created_by = caller.principal_id();
  // The HSM first: see the top of this file for why an orphan cannot sign.
  MASA_ASSIGN_OR_RETURN(GeneratedKey made, vault->Generate(input.algorithm, r.label));
  r.uri = made.uri;
  r.public_key_der = made.public_key_der;
  const std::string vendor = options_.vendor_organization_id;
  absl::Status written = Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_RETURN_IF_ERROR(AuthorizeKeys(op.access()));
    r.created_by = op.actor();
    MASA_RETURN_IF_ERROR(op.txn().Insert(r));
    return op
        .Audit("key.generate", KeyTarget(vendor, r.id),
               absl::StrCat("ok: ", r.purpose, " ", r.algorithm, " ", r.uri),
               Sha256(r.public_key_der))
        .status();
  });
  if (!written.ok()) {
    return Annotate(written, "the key " + r.uri +
                                 " was made in the HSM but not recorded, so it can never be "
                                 "activated; delete it from the token");
  }
  return ToKeyInfo(r);
}

absl::StatusOr<std::string> ServiceImpl::CreateCsr(const Caller& caller, std::string_view key_id,
                                                   std::string_view subject) {
  MASA_ASSIGN_OR_RETURN(KeyVault * vault, Vault());
  MASA_ASSIGN_OR_RETURN(std::optional<store::KeyRecord> key, AuthorizedKeyRead(caller, key_id));
  if (key->state == store::KeyState::kRetired) {
    return absl::FailedPreconditionError("key " + key->id + " is retired");
  }
  if (subject.empty()) return absl::InvalidArgumentError("subject: empty");
  MASA_ASSIGN_OR_RETURN(std::string csr, vault->Csr(key->uri, subject));
  // The request leaves the appliance only once its making is in the audit log.
  MASA_RETURN_IF_ERROR(Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_RETURN_IF_ERROR(AuthorizeKeys(op.access()));
    return op
        .Audit("key.csr", KeyTarget(options_.vendor_organization_id, key->id),
               "ok: " + std::string(subject), Sha256(csr))
        .status();
  }));
  return csr;
}

absl::StatusOr<KeyInfo> ServiceImpl::IssueCertificate(const Caller& caller, KeyIssueInput input) {
  MASA_ASSIGN_OR_RETURN(KeyVault * vault, Vault());
  MASA_ASSIGN_OR_RETURN(std::optional<store::KeyRecord> key,
                        AuthorizedKeyRead(caller, input.key_id));
  if (key->state != store::KeyState::kPending) {
    return absl::FailedPreconditionError(
        "key " + key->id + " is " + std::string(KeyStateName(internal::FromStored(key->state))) +
        "; only a pending key gets a certificate");
  }
  std::string subject = input.subject;
  if (subject.empty()) {
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    MASA_ASSIGN_OR_RETURN(auto active, internal::ActiveKey(snap, key->purpose));
    if (active) subject = ToKeyInfo(*active).subject;
    if (subject.empty()) {
      return absl::InvalidArgumentError(
          "subject: none given, and no active key of this purpose has one to reuse");
    }
  }
  absl::Duration validity =
      input.validity.value_or(options_.key_policy.default_certificate_validity);
  if (validity <= absl::ZeroDuration()) return absl::InvalidArgumentError("validity: must be > 0");
  MASA_ASSIGN_OR_RETURN(std::vector<std::string> chain,
                        vault->Issue(key->public_key_der, subject, validity));
  if (chain.empty()) return absl::InternalError("the vault issued an empty chain");
  return StoreKeyChain(caller, key->id, std::move(chain), "key.issue");
}

absl::StatusOr<KeyInfo> ServiceImpl::ImportCertificate(const Caller& caller,
                                                       std::string_view key_id,
                                                       std::string_view chain_text) {
  MASA_ASSIGN_OR_RETURN(KeyVault * vault, Vault());
  MASA_ASSIGN_OR_RETURN(std::optional<store::KeyRecord> key, AuthorizedKeyRead(caller, key_id));
  if (key->state != store::KeyState::kPending) {
    return absl::FailedPreconditionError(
        "key " + key->id + " is " + std::string(KeyStateName(internal::FromStored(key->state))) +
        "; only a pending key gets a certificate");
  }
  MASA_ASSIGN_OR_RETURN(std::vector<std::string> chain, ChainDer(chain_text));
  MASA_RETURN_IF_ERROR(vault->CheckChain(key->public_key_der, chain));
  return StoreKeyChain(caller, key->id, std::move(chain), "key.import-cert");
}

absl::StatusOr<KeyInfo> ServiceImpl::StoreKeyChain(const Caller& caller, const std::string& key_id,
                                                   std::vector<std::string> chain,
                                                   std::string_view action) {
  return Mutate<KeyInfo>(&caller, [&](internal::Operation& op) -> absl::StatusOr<KeyInfo> {
    MASA_RETURN_IF_ERROR(AuthorizeKeys(op.access()));
    MASA_ASSIGN_OR_RETURN(store::KeyRecord r, op.txn().Get<store::KeyRecord>(key_id));
    if (r.state != store::KeyState::kPending) {
      return absl::FailedPreconditionError("key " + r.id + " is no longer pending");
    }
    r.chain_der = chain;
    r.certificate_der = chain.front();
    MASA_RETURN_IF_ERROR(op.txn().Put(r));
    KeyInfo info = ToKeyInfo(r);
    MASA_RETURN_IF_ERROR(op.Audit(std::string(action),
                                  KeyTarget(options_.vendor_organization_id, r.id),
                                  "ok: " + info.subject, Sha256(r.certificate_der))
                             .status());
    return info;
  });
}

absl::StatusOr<std::vector<KeyInfo>> ServiceImpl::ListKeys(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(internal::AccessContext access, Access(caller, snap));
  MASA_RETURN_IF_ERROR(AuthorizeKeys(access));
  MASA_ASSIGN_OR_RETURN(auto records, internal::AllKeys(snap));
  std::vector<KeyInfo> out;
  for (const auto& r : records) out.push_back(ToKeyInfo(r));
  std::stable_sort(out.begin(), out.end(),
                   [](const KeyInfo& a, const KeyInfo& b) { return a.created_at < b.created_at; });
  return out;
}

absl::StatusOr<std::vector<PublishedKey>> ServiceImpl::PublishedKeys() const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(auto records, internal::AllKeys(snap));
  std::vector<KeyInfo> keys;
  for (const auto& r : records) {
    // A pending key abandoned (retired before it was ever active) signed nothing.
    if (r.state != store::KeyState::kPending && r.activated_at) keys.push_back(ToKeyInfo(r));
  }
  // Active first, then the retired ones, newest activation first.
  std::stable_sort(keys.begin(), keys.end(), [](const KeyInfo& a, const KeyInfo& b) {
    if (a.state != b.state) return a.state == KeyState::kActive;
    return a.activated_at.value_or(a.created_at) > b.activated_at.value_or(b.created_at);
  });
  std::vector<PublishedKey> out;
  for (auto& k : keys) {
    out.push_back(
        {k.key_id, k.purpose, k.state, std::move(k.chain_der), std::move(k.public_key_der)});
  }
  return out;
}

}  // namespace masa::service
