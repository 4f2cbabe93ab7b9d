// masactl dev-init: a development HSM token, keys and PKI in a fresh state folder.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/file.h"
#include "common/secret.h"
#include "common/status.h"
#include "signer/certificate.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/state.h"

namespace masa::tools {
namespace {

absl::Status WritePublicKeyPem(const std::string& path, EVP_PKEY* key) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PUBKEY(bio.get(), key)) return FromOpenSslErrors("encoding a public key");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return WriteFileAtomic(path, std::string_view(data, static_cast<size_t>(len)), 0644);
}

absl::Status WritePrivateKeyPem(const std::string& path, EVP_PKEY* key) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return FromOpenSslErrors("encoding a private key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return WriteFileAtomic(path, std::string_view(data, static_cast<size_t>(len)), 0600);
}

// A development TLS server identity for masad: a small TLS CA (DIR/tls-ca.pem, what clients
// trust) and a server certificate it issued for localhost, 127.0.0.1 and ::1 (DIR/tls.pem,
// its software P-256 key in DIR/tls-key.pem; TLS keys may also live in the HSM, see
// [server] tls_key). A strict client (Python's ssl, gRPC) refuses a self-signed end-entity
// certificate as a trust anchor, hence the CA. The CA's key is used once and never written:
// a new server certificate comes with a new dev-init.
absl::Status WriteDevTlsIdentity(const StatePaths& paths, absl::Time now, int years) {
  UniquePtr<EVP_PKEY> ca_key(EVP_EC_gen("P-256"));
  UniquePtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (ca_key == nullptr || key == nullptr) return FromOpenSslErrors("generating the TLS keys");
  absl::Time start = now - absl::Hours(1);
  MASA_ASSIGN_OR_RETURN(
      auto ca, signer::IssueCertificate("CN=MASA Development TLS CA,O=MASA Development",
                                        ca_key.get(), nullptr, ca_key.get(), nullptr, nullptr,
                                        start, now + absl::Hours(24 * 365 * years), true, 1));
  MASA_ASSIGN_OR_RETURN(auto cert,
                        signer::IssueCertificate("CN=localhost,O=MASA Development", key.get(),
                                                 ca.get(), ca_key.get(), nullptr, nullptr, start,
                                                 now + absl::Hours(24 * 365 * years), false, 2,
                                                 "DNS:localhost,IP:127.0.0.1,IP:::1"));
  MASA_RETURN_IF_ERROR(WritePrivateKeyPem(paths.dir + "/tls-key.pem", key.get()));
  MASA_ASSIGN_OR_RETURN(std::string ca_pem, CertificateToPem(ca.get()));
  MASA_ASSIGN_OR_RETURN(std::string pem, CertificateToPem(cert.get()));
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.dir + "/tls-ca.pem", ca_pem, 0644));
  return WriteFileAtomic(paths.dir + "/tls.pem", pem, 0644);
}

// masad's configuration for this state; every path is relative to the state folder.
constexpr char kDevConfig[] =
    "# masad configuration of a development state (masactl dev-init).\n"
    "# Every key and its default: masad --config masad.toml --print-config\n"
    "[server]\n"
    "listen = \"127.0.0.1:8443\"\n"
    "tls_certificate = \"tls.pem\"\n"
    "tls_key = \"tls-key.pem\"\n"
    "\n[hsm]\n"
    "softhsm_conf = \"softhsm2.conf\"\n"
    "token = \"masa-dev\"\n"
    "pin_file = \"user.pin\"\n"
    "\n[store]\n"
    "state_dir = \".\"\n"
    "\n[metrics]\n"
    "# GET /metrics (Prometheus) without a token: plain HTTP, loopback only; \"\" turns it off\n"
    "listen = \"127.0.0.1:9464\"\n"
    "\n[grpc]\n"
    "# The OVGS gRPC API (ovgs.v1.OwnershipVoucherService): TLS, the REST API's tokens\n"
    "listen = \"127.0.0.1:8444\"\n";

// The label of development token i (0-based): masa-dev, masa-dev-2, masa-dev-3, ...
std::string DevTokenLabel(int i) {
  return i == 0 ? std::string(kDevTokenLabel) : absl::StrCat(kDevTokenLabel, "-", i + 1);
}

// The [hsm] tokens line of masad.toml for `n` development tokens ("" for one: the default
// single token), each with the state's user PIN file.
std::string DevTokensLine(int n) {
  if (n <= 1) return "";
  std::vector<std::string> uris;
  for (int i = 0; i < n; ++i) {
    uris.push_back(
        absl::StrCat("  \"pkcs11:token=", DevTokenLabel(i), "?pin-source=file:user.pin\""));
  }
  return absl::StrCat(
      "# Several tokens holding the same signing and audit keys (development: the keys were\n"
      "# imported into each; a real HSM's tokens get them from the vendor's cloning tools).\n"
      "tokens = [\n",
      absl::StrJoin(uris, ",\n"), "\n]\n");
}

// FOR DEVELOPMENT ONLY: a key pair of `type` made in software and imported into every token
// in `tokens` with the same label and CKA_ID, so that several SoftHSM2 tokens hold one key as
// a real HSM's cloned tokens do. Returns the first token's KeyInfo.
absl::StatusOr<hsm::KeyInfo> ImportIntoEvery(const std::vector<std::shared_ptr<hsm::Token>>& tokens,
                                             hsm::KeyType type, const char* label) {
  UniquePtr<EVP_PKEY> key;
  switch (type) {
    case hsm::KeyType::kEcP256:
      key.reset(EVP_EC_gen("P-256"));
      break;
    case hsm::KeyType::kEcP384:
      key.reset(EVP_EC_gen("P-384"));
      break;
    case hsm::KeyType::kRsa3072:
      key.reset(EVP_RSA_gen(3072));
      break;
    case hsm::KeyType::kEd25519:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
  }
  if (key == nullptr) return FromOpenSslErrors("generating a development key");
  UniquePtr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (!i2d_PKCS8PrivateKey_bio(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    return FromOpenSslErrors("encoding a development key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  Secret pkcs8(std::string(data, static_cast<size_t>(len)));
  hsm::KeyInfo first;
  for (size_t i = 0; i < tokens.size(); ++i) {
    MASA_ASSIGN_OR_RETURN(hsm::KeyInfo info,
                          tokens[i]->ImportKeyPair(label, i == 0 ? "" : first.id, pkcs8.view()));
    std::printf("imported key %s\n", info.uri.c_str());
    if (i == 0) first = std::move(info);
  }
  return first;
}

// Builds the whole state in `paths` (a fresh folder). The caller renames it into place.
absl::Status Provision(const StatePaths& paths, const std::string& final_dir, int years,
                       hsm::KeyType signing_type, int token_count) {
  MASA_RETURN_IF_ERROR(MakeDirectory(paths.tokens(), 0700));
  auto conf = [](const std::string& tokens) {
    return absl::StrCat("# SoftHSM2 token of a MASA development state (masactl dev-init)\n",
                        "directories.tokendir = ", tokens, "\n", "objectstore.backend = file\n",
                        "log.level = ERROR\n", "slots.removable = false\n");
  };
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.softhsm_conf(), conf(paths.tokens()), 0600));

  MASA_ASSIGN_OR_RETURN(Secret so_pin, Secret::RandomHex(16));
  MASA_ASSIGN_OR_RETURN(Secret user_pin, Secret::RandomHex(16));
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.so_pin(), so_pin.view(), 0600));
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.user_pin(), user_pin.view(), 0600));

  MASA_ASSIGN_OR_RETURN(auto module, LoadModuleFor(paths));
  std::vector<std::shared_ptr<hsm::Token>> tokens;
  for (int i = 0; i < token_count; ++i) {
    const std::string label = DevTokenLabel(i);
    MASA_RETURN_IF_ERROR(module->InitToken(label, so_pin, user_pin));
    MASA_ASSIGN_OR_RETURN(std::shared_ptr<hsm::Token> t,
                          hsm::Token::Open(module, label, user_pin, {.sessions = 1}));
    tokens.push_back(std::move(t));
    std::printf("created token \"%s\" (SoftHSM2, %s)\n", label.c_str(), module->path().c_str());
  }
  const std::shared_ptr<hsm::Token>& token = tokens.front();

  // The vendor CA key lives in the first token only; it certifies, it does not sign vouchers.
  MASA_ASSIGN_OR_RETURN(hsm::KeyInfo ca_info,
                        token->GenerateKeyPair(hsm::KeyType::kEcP384, kVendorCaKeyLabel));
  std::printf("generated key %s\n", ca_info.uri.c_str());
  hsm::KeyInfo masa_info, audit_info;
  if (token_count == 1) {
    MASA_ASSIGN_OR_RETURN(masa_info, token->GenerateKeyPair(signing_type, kSigningKeyLabel));
    MASA_ASSIGN_OR_RETURN(audit_info,
                          token->GenerateKeyPair(hsm::KeyType::kEcP256, kAuditKeyLabel));
    for (const auto* info : {&masa_info, &audit_info}) {
      std::printf("generated key %s\n", info->uri.c_str());
    }
  } else {
    MASA_ASSIGN_OR_RETURN(masa_info, ImportIntoEvery(tokens, signing_type, kSigningKeyLabel));
    MASA_ASSIGN_OR_RETURN(audit_info,
                          ImportIntoEvery(tokens, hsm::KeyType::kEcP256, kAuditKeyLabel));
  }

  MASA_ASSIGN_OR_RETURN(auto provider, hsm::ProviderContext::Create(token));
  MASA_ASSIGN_OR_RETURN(auto ca_key, provider->LoadPrivateKey(ca_info.uri));
  MASA_ASSIGN_OR_RETURN(auto ca_pub, provider->PublicKey(ca_info));
  MASA_ASSIGN_OR_RETURN(auto masa_pub, provider->PublicKey(masa_info));
  MASA_ASSIGN_OR_RETURN(auto audit_pub, provider->PublicKey(audit_info));

  absl::Time now = absl::Now();
  absl::Time start = now - absl::Hours(1);  // tolerate devices whose clock runs a little slow
  MASA_ASSIGN_OR_RETURN(
      auto ca_cert,
      signer::IssueCertificate("CN=MASA Development Vendor CA,O=MASA Development Vendor",
                               ca_pub.get(), nullptr, ca_key.get(), provider->libctx(), nullptr,
                               start, now + absl::Hours(24 * 365 * 2 * years), true, 1));
  MASA_ASSIGN_OR_RETURN(
      auto masa_cert,
      signer::IssueCertificate("CN=MASA Development Signer,O=MASA Development Vendor",
                               masa_pub.get(), ca_cert.get(), ca_key.get(), provider->libctx(),
                               nullptr, start, now + absl::Hours(24 * 365 * years), false, 2));

  MASA_ASSIGN_OR_RETURN(std::string ca_pem, CertificateToPem(ca_cert.get()));
  MASA_ASSIGN_OR_RETURN(std::string masa_pem, CertificateToPem(masa_cert.get()));
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.trust_anchor(), ca_pem, 0644));
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.signing_cert(), masa_pem, 0644));
  MASA_RETURN_IF_ERROR(WritePublicKeyPem(paths.audit_key(), audit_pub.get()));
  MASA_RETURN_IF_ERROR(WriteDevTlsIdentity(paths, now, years));
  std::string config = kDevConfig;
  const std::string pin_line = "pin_file = \"user.pin\"\n";
  config.insert(config.find(pin_line) + pin_line.size(), DevTokensLine(token_count));
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.dir + "/masad.toml", config, 0600));
  MASA_ASSIGN_OR_RETURN(std::string ca_der, CertificateToDer(ca_cert.get()));
  MASA_ASSIGN_OR_RETURN(std::string masa_der, CertificateToDer(masa_cert.get()));
  for (const auto& t : tokens) {
    MASA_RETURN_IF_ERROR(t->StoreCertificate(kVendorCaKeyLabel, ca_info.id, ca_der));
    MASA_RETURN_IF_ERROR(t->StoreCertificate(kSigningKeyLabel, masa_info.id, masa_der));
  }

  // The token folder is named in the config; point it at where the state will live.
  StatePaths final_paths(final_dir);
  MASA_RETURN_IF_ERROR(WriteFileAtomic(paths.softhsm_conf(), conf(final_paths.tokens()), 0600));
  std::printf("vendor CA:   %s\nMASA signer: %s\n", SubjectName(ca_cert.get()).c_str(),
              SubjectName(masa_cert.get()).c_str());
  return absl::OkStatus();
}

absl::Status DevInit(const std::string& dir, int years, hsm::KeyType signing_type,
                     int token_count) {
  std::error_code ec;
  std::filesystem::path target = std::filesystem::absolute(dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad state folder ", dir));
  target = target.lexically_normal();
  if (target.has_filename() == false) target = target.parent_path();
  if (std::filesystem::exists(target) && !std::filesystem::is_empty(target, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat(target.string(),
                     " already exists and is not empty; dev-init refuses to overwrite a state"));
  }
  // Build beside the target and rename at the end, so a failure leaves nothing half-made.
  std::string partial = absl::StrCat(target.string(), ".partial-", getpid());
  MASA_RETURN_IF_ERROR(MakeDirectory(partial, 0700));
  absl::Status status =
      Provision(StatePaths(partial), target.string(), years, signing_type, token_count);
  if (status.ok()) {
    if (std::filesystem::exists(target)) std::filesystem::remove(target, ec);  // empty folder
    if (rename(partial.c_str(), target.c_str()) != 0) {
      status = FromErrno(errno, "cannot move the new state to", target.string());
    }
  }
  if (!status.ok()) {
    std::filesystem::remove_all(partial, ec);
    return status;
  }
  std::printf("state ready in %s (trust anchor: %s)\n", target.c_str(),
              StatePaths(target.string()).trust_anchor().c_str());
  return absl::OkStatus();
}

}  // namespace

int DevInitCommand(const Args& args) {
  Flags flags("masactl dev-init --state DIR",
              "Creates a development state: a SoftHSM2 token under DIR with a vendor CA key\n"
              "(P-384), a MASA signing key (--algorithm, default P-256) and an audit key\n"
              "(P-256) generated inside it, a\n"
              "self-signed vendor CA certificate and a MASA certificate it issued, and\n"
              "DIR/trust-anchor.pem for devices. Random PINs go to DIR/so.pin and DIR/user.pin\n"
              "(mode 0600). Also a TLS identity for localhost (DIR/tls.pem, DIR/tls-key.pem)\n"
              "issued by a development TLS CA (DIR/tls-ca.pem: what clients trust), and\n"
              "DIR/masad.toml to run masad on it. Refuses to touch an existing, non-empty DIR.\n"
              "With --tokens N (development only), N tokens masa-dev, masa-dev-2, ... hold the\n"
              "same signing and audit keys (made in software and imported into each, as a real\n"
              "HSM's cloning tools would copy them) and masad.toml lists them as [hsm] tokens.");
  flags.Option("state", "DIR", "the state folder to create", true)
      .Option("years", "N", "validity of the MASA certificate in years (default 5)")
      .Option("algorithm", "ALG",
              "the MASA signing key: p256 (default), p384, rsa3072 or ed25519 (RFC 8419 CMS)")
      .Option("tokens", "N", "SoftHSM2 tokens holding the signing and audit keys (default 1)");
  auto parsed = flags.Parse(args);
  if (!parsed.ok()) return ReportError(parsed.status());
  if (parsed->help) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  int years = 5;
  if (auto y = parsed->Get("years")) {
    char* end = nullptr;
    long v = std::strtol(y->c_str(), &end, 10);
    if (*end != '\0' || v < 1 || v > 30) {
      return ReportError(absl::InvalidArgumentError("--years must be a whole number from 1 to 30"));
    }
    years = static_cast<int>(v);
  }
  hsm::KeyType signing_type = hsm::KeyType::kEcP256;
  if (auto a = parsed->Get("algorithm")) {
    static const std::pair<const char*, hsm::KeyType> kTypes[] = {
        {"p256", hsm::KeyType::kEcP256},
        {"p384", hsm::KeyType::kEcP384},
        {"rsa3072", hsm::KeyType::kRsa3072},
        {"ed25519", hsm::KeyType::kEd25519}};
    auto it = std::find_if(std::begin(kTypes), std::end(kTypes),
                           [&](const auto& t) { return *a == t.first; });
    if (it == std::end(kTypes)) {
      return ReportError(
          absl::InvalidArgumentError("--algorithm must be p256, p384, rsa3072 or ed25519"));
    }
    signing_type = it->second;
  }
  int token_count = 1;
  if (auto t = parsed->Get("tokens")) {
    char* end = nullptr;
    long v = std::strtol(t->c_str(), &end, 10);
    if (t->empty() || *end != '\0' || v < 1 || v > 8) {
      return ReportError(absl::InvalidArgumentError("--tokens must be a whole number from 1 to 8"));
    }
    token_count = static_cast<int>(v);
  }
  absl::Status status = DevInit(*parsed->Get("state"), years, signing_type, token_count);
  return status.ok() ? 0 : ReportError(status);
}

}  // namespace masa::tools
