// The appliance's state folder on the embedded defaults (SoftHSM2 token, files beside it)
// and how tools open it. One place for the folder's conventions.
//
//   DIR/softhsm2.conf, DIR/tokens/   the SoftHSM2 token "masa-dev" (development only)
//   DIR/user.pin, DIR/so.pin         its PINs (0600); MASA_HSM_PIN overrides user.pin
//   DIR/trust-anchor.pem             the vendor CA certificate devices trust
//   DIR/masa.pem                     the MASA signing certificate (issued by the vendor CA)
//   DIR/audit-key.pem                the public half of the audit checkpoint key
//   DIR/store/                       the LMDB environment
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/openssl.h"
#include "hsm/pkcs11.h"
#include "hsm/provider/provider.h"

namespace masa::tools {

inline constexpr char kDevTokenLabel[] = "masa-dev";
inline constexpr char kVendorCaKeyLabel[] = "vendor-ca";
inline constexpr char kSigningKeyLabel[] = "masa-signing";
inline constexpr char kAuditKeyLabel[] = "masa-audit";
inline constexpr char kDefaultModule[] = "/usr/lib/softhsm/libsofthsm2.so";

struct StatePaths {
  explicit StatePaths(std::string dir) : dir(std::move(dir)) {}
  std::string dir;
  std::string softhsm_conf() const { return dir + "/softhsm2.conf"; }
  std::string tokens() const { return dir + "/tokens"; }
  std::string user_pin() const { return dir + "/user.pin"; }
  std::string so_pin() const { return dir + "/so.pin"; }
  std::string trust_anchor() const { return dir + "/trust-anchor.pem"; }
  std::string signing_cert() const { return dir + "/masa.pem"; }
  std::string audit_key() const { return dir + "/audit-key.pem"; }
  std::string store() const { return dir + "/store"; }
};

// The PKCS#11 module path: $MASA_PKCS11_MODULE, else SoftHSM2's.
std::string ModulePath();

// Points SoftHSM2 at DIR/softhsm2.conf (when the folder has one) and loads the module.
// Must run before anything else in the process loads SoftHSM2.
absl::StatusOr<std::shared_ptr<hsm::Module>> LoadModuleFor(const StatePaths& paths);

// A state folder opened for signing: token logged in, provider context, MASA key and
// certificate chain loaded once.
struct SigningState {
  std::shared_ptr<hsm::Token> token;
  std::unique_ptr<hsm::ProviderContext> provider;
  UniquePtr<EVP_PKEY> key;             // the MASA signing key (in the HSM)
  UniquePtr<X509> cert;                // its certificate
  std::vector<UniquePtr<X509>> chain;  // up to and including the vendor trust anchor
  std::vector<X509*> chain_ptrs() const;
};

// Opens DIR for signing with `sessions` HSM sessions. The PIN comes from $MASA_HSM_PIN or
// DIR/user.pin. kNotFound names what is missing (e.g. "run masactl dev-init first").
absl::StatusOr<SigningState> OpenSigningState(const StatePaths& paths, size_t sessions = 2);

}  // namespace masa::tools
