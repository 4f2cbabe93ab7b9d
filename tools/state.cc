#include "tools/state.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/secret.h"
#include "common/status.h"

namespace masa::tools {

std::string ModulePath() {
  const char* env = std::getenv("MASA_PKCS11_MODULE");
  return env != nullptr && *env != '\0' ? env : kDefaultModule;
}

absl::StatusOr<std::shared_ptr<hsm::Module>> LoadModuleFor(const StatePaths& paths) {
  if (!PathExists(paths.dir)) {
    return absl::NotFoundError(
        absl::StrCat("state folder ", paths.dir, " does not exist; run masactl dev-init first"));
  }
  if (PathExists(paths.softhsm_conf())) setenv("SOFTHSM2_CONF", paths.softhsm_conf().c_str(), 1);
  return hsm::Module::Load(ModulePath());
}

std::vector<X509*> SigningState::chain_ptrs() const {
  std::vector<X509*> out;
  for (const auto& c : chain) out.push_back(c.get());
  return out;
}

absl::StatusOr<SigningState> OpenSigningState(const StatePaths& paths, size_t sessions) {
  MASA_ASSIGN_OR_RETURN(auto module, LoadModuleFor(paths));
  absl::StatusOr<Secret> pin = ReadSecretEnv("MASA_HSM_PIN");
  if (!pin.ok()) pin = ReadSecretFile(paths.user_pin());
  if (!pin.ok()) return Annotate(pin.status(), "reading the HSM user PIN");
  SigningState state;
  auto token = hsm::Token::Open(module, kDevTokenLabel, *pin, {.sessions = sessions});
  if (!token.ok()) {
    return Annotate(token.status(),
                    token.status().code() == absl::StatusCode::kPermissionDenied
                        ? "the HSM refused the user PIN (from MASA_HSM_PIN or user.pin)"
                        : "opening the HSM token");
  }
  state.token = std::move(*token);
  MASA_ASSIGN_OR_RETURN(state.provider, hsm::ProviderContext::Create(state.token));
  MASA_ASSIGN_OR_RETURN(state.key, state.provider->LoadPrivateKey(
                                       hsm::PrivateKeyUri(kDevTokenLabel, kSigningKeyLabel)));
  MASA_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(paths.signing_cert()));
  MASA_ASSIGN_OR_RETURN(state.cert, ParseCertificate(cert_pem));
  MASA_ASSIGN_OR_RETURN(std::string anchor_pem, ReadFile(paths.trust_anchor()));
  MASA_ASSIGN_OR_RETURN(state.chain, ParseCertificates(anchor_pem));
  return state;
}

}  // namespace masa::tools
