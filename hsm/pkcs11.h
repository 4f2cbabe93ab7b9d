// PKCS#11 access: module loading, tokens, login, a session pool, keys named by pkcs11: URIs.
// Nothing outside hsm/ sees a CK_* type; every C_* call goes through one wrapper.
//
//   MASA_ASSIGN_OR_RETURN(auto module, hsm::Module::Load("/usr/lib/softhsm/libsofthsm2.so"));
//   MASA_ASSIGN_OR_RETURN(auto pin, ReadSecretFile(dir + "/user.pin"));
//   MASA_ASSIGN_OR_RETURN(std::shared_ptr<hsm::Token> token,
//                         hsm::Token::Open(module, "masa-dev", pin, {.sessions = 4}));
//   MASA_ASSIGN_OR_RETURN(auto key, token->FindKey("pkcs11:token=masa-dev;object=masa-signing"));
//   MASA_ASSIGN_OR_RETURN(std::string sig, token->Sign(key, {SignMechanism::kEcdsa}, digest));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secret.h"

namespace masa::hsm {

class Module;
class Token;
class Session;

// Key pairs the appliance generates. RSA and Ed25519 only where the token has the mechanism
// (kFailedPrecondition otherwise).
enum class KeyType { kEcP256, kEcP384, kRsa3072, kEd25519 };

// What family a key belongs to, as read back from the token.
enum class KeyFamily { kEc, kRsa, kEdwards };

// The public half of a key pair as the token holds it.
struct PublicKeyInfo {
  KeyFamily family = KeyFamily::kEc;
  // kEc / kEdwards: DER of CKA_EC_PARAMS (a namedCurve OID, or for Edwards the OID or
  // PrintableString "edwards25519" form the token uses).
  std::string ec_params;
  // kEc: the uncompressed point 04||X||Y; kEdwards: the 32-byte public key. Already
  // unwrapped from the DER OCTET STRING of CKA_EC_POINT.
  std::string ec_point;
  // kRsa: big-endian modulus and public exponent.
  std::string rsa_modulus;
  std::string rsa_public_exponent;
  // Size in bits (256, 384, 3072, 255...).
  int bits = 0;
};

// A private key in the token, identified by label and CKA_ID, with its public half.
struct KeyInfo {
  std::string label;  // CKA_LABEL
  std::string id;     // CKA_ID (raw bytes)
  std::string uri;    // canonical RFC 7512 URI: token, object, id, type=private
  PublicKeyInfo public_key;
};

// How to sign. kEcdsa takes a digest and returns the raw r||s the token produces;
// kRsaPkcs1 takes a DER DigestInfo; kRsaPss takes a digest; kEddsa takes the whole message.
enum class SignMechanism { kEcdsa, kRsaPkcs1, kRsaPss, kEddsa };
enum class HashAlgorithm { kSha256, kSha384, kSha512 };
struct SignParams {
  SignMechanism mechanism = SignMechanism::kEcdsa;
  HashAlgorithm pss_hash = HashAlgorithm::kSha256;  // kRsaPss: hash and MGF1 hash
  size_t pss_salt_length = 32;                      // kRsaPss
};

struct TokenDescription {
  uint64_t slot_id = 0;
  std::string label;  // trailing blanks removed
  std::string manufacturer;
  std::string model;
  std::string serial;
  bool initialized = false;
};

// A loaded PKCS#11 module (dlopen + C_GetFunctionList + C_Initialize with OS locking).
// Load() of the same file (by real path) returns the same object while any reference
// lives; C_Finalize and dlclose run when the last reference goes (the code stays mapped,
// RTLD_NODELETE, so a module's exit handlers never run into unmapped code). When someone
// else in the process initialized the module already (CKR_CRYPTOKI_ALREADY_INITIALIZED) it is
// used as is and not finalized. Thread-safe.
class Module {
 public:
  // kNotFound when `path` does not exist, kFailedPrecondition when it is not a PKCS#11
  // module (no C_GetFunctionList, not a shared object) or C_Initialize fails (the message
  // names the CK_RV).
  static absl::StatusOr<std::shared_ptr<Module>> Load(const std::string& path);

  virtual ~Module() = default;

  // Every slot with a token present.
  virtual absl::StatusOr<std::vector<TokenDescription>> Tokens() = 0;

  // Initializes a new token labelled `label` in a free (uninitialized) slot and sets the
  // user PIN. kAlreadyExists when a token with that label exists; the PINs are not kept.
  virtual absl::Status InitToken(std::string_view label, const Secret& so_pin,
                                 const Secret& user_pin) = 0;

  // The module's path, for messages.
  virtual const std::string& path() const = 0;
};

struct TokenOptions {
  // Sessions in the pool: one per signing thread. Sign() blocks while all are leased.
  size_t sessions = 4;
  // Sign with a per-session, in-memory copy of each private key (C_CopyObject with
  // CKA_TOKEN=FALSE, made once per session and key) instead of the token object. SoftHSM2
  // re-reads the token object's file on every use of a token object; the copy avoids that.
  // Falls back to the token object when the token refuses the copy (CKA_COPYABLE=FALSE).
  bool session_key_copies = true;
};

// A logged-in token and its session pool. All methods are thread-safe.
class Token {
 public:
  // Opens the token labelled `label` and logs in as CKU_USER with `pin`. The Token keeps a
  // copy of the PIN for its life (a Secret, wiped when the Token goes), to log in again
  // when the token answers CKR_USER_NOT_LOGGED_IN (an HSM restarted, a partition reset).
  // kNotFound: no such token; kPermissionDenied: wrong PIN (the PIN never appears in the
  // message); kFailedPrecondition: PIN locked.
  // PKCS#11 login is per application: several Tokens of one process may share a token
  // (each with its own pool); a second Open is checked against the PIN the process logged
  // in with, since the module itself no longer checks it. Destroying a Token closes its
  // sessions but never calls C_Logout.
  static absl::StatusOr<std::unique_ptr<Token>> Open(std::shared_ptr<Module> module,
                                                     std::string_view label, const Secret& pin,
                                                     TokenOptions options = {});

  virtual ~Token() = default;

  virtual const std::string& label() const = 0;

  // The one private key (token object) matching the RFC 7512 `uri` (parsed and matched by
  // p11-kit; token attributes must match this token, type= if present must be private).
  // kInvalidArgument: not a pkcs11: URI; kNotFound: no key, or another token;
  // kInvalidArgument: more than one key matches (names how many).
  virtual absl::StatusOr<KeyInfo> FindKey(std::string_view uri) = 0;

  // Every private key on the token.
  virtual absl::StatusOr<std::vector<KeyInfo>> ListKeys() = 0;

  // Generates a key pair inside the token: private key sensitive, non-extractable, token
  // object, with a fresh random CKA_ID shared by both halves. kAlreadyExists when a private
  // key with `label` exists.
  virtual absl::StatusOr<KeyInfo> GenerateKeyPair(KeyType type, std::string_view label) = 0;

  // Signs `input` with `key` (see SignMechanism for what input is). Takes a session from
  // the pool (blocking while all are leased) and the key handle cached for it. A session
  // that saw any error is closed, and a fresh one opened on the next call; after a
  // kUnavailable error every idle session is closed too (they are likely dead as well), so
  // that a retry gets a fresh session. When the token answers CKR_USER_NOT_LOGGED_IN the
  // Token logs in again with its PIN and signs once more on a fresh session; likewise once
  // for a key handle the token no longer knows. kUnavailable when the token is busy or gone
  // (device removed or in error, token not present, session closed or invalid, still not
  // logged in after logging in again: retry, maybe elsewhere); kInvalidArgument for a
  // mechanism the key's family cannot do (checked before the token is asked); kNotFound
  // when the key is gone. `key` may come from another Token holding the same key: the key
  // is looked up here by its CKA_ID and CKA_LABEL.
  virtual absl::StatusOr<std::string> Sign(const KeyInfo& key, const SignParams& params,
                                           std::string_view input) = 0;

  // FOR DEVELOPMENT AND TESTS ONLY. Creates a private key token object from `pkcs8_der`
  // (an unencrypted PKCS#8 PrivateKeyInfo: EC P-256 or P-384, RSA, Ed25519) as sensitive
  // and non-extractable, and its public key object, both with CKA_LABEL `label` and CKA_ID
  // `id` (a fresh random one when empty). The key existed outside the HSM, so this is no
  // substitute for GenerateKeyPair: it exists so that two SoftHSM2 tokens can hold the same
  // key, as a real HSM's tokens do after the vendor's cloning tools copied it. kAlreadyExists
  // when a private key with `label` exists; kInvalidArgument when `pkcs8_der` is not such a
  // key; kUnimplemented for a Token that cannot import.
  virtual absl::StatusOr<KeyInfo> ImportKeyPair(std::string_view label, std::string_view id,
                                                std::string_view pkcs8_der) {
    (void)label, (void)id, (void)pkcs8_der;
    return absl::UnimplementedError("this token cannot import keys");
  }

  // Stores a certificate object (CKO_CERTIFICATE, X.509, public token object) with `label`,
  // `id` and CKA_VALUE `der`, and CKA_SUBJECT/ISSUER/SERIAL_NUMBER taken from it.
  // kInvalidArgument when `der` is not one DER certificate.
  virtual absl::Status StoreCertificate(std::string_view label, std::string_view id,
                                        std::string_view der) = 0;

  // Number of sessions in the pool.
  virtual size_t pool_size() const = 0;
};

// Builds the RFC 7512 URI for the private key `label` on token `token_label`
// (p11-kit formatting: percent-encoding as needed).
std::string PrivateKeyUri(std::string_view token_label, std::string_view label);

}  // namespace masa::hsm
