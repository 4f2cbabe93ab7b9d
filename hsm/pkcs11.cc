#include "hsm/pkcs11.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file.h"
#include "common/log.h"
#include "common/openssl.h"
#include "common/status.h"
#include "hsm/internal/ck.h"
#include "hsm/internal/session_pool.h"

namespace masa::hsm {
namespace {

using internal::CkResult;
using internal::FindObjects;
using internal::FromCkRv;
using internal::FromPadded;
using internal::GetAttribute;
using internal::GetUlongAttribute;
using internal::SessionPool;

constexpr size_t kLabelSize = 32;  // CK_TOKEN_INFO.label
constexpr size_t kKeyIdSize = 16;

// DER of the namedCurve OIDs (CKA_EC_PARAMS).
constexpr unsigned char kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr unsigned char kP384Params[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
// id-Ed25519 (1.3.101.112), as RFC 8410 and PKCS#11 3.0 name the curve.
constexpr unsigned char kEd25519Params[] = {0x06, 0x03, 0x2b, 0x65, 0x70};

std::string_view AsView(const unsigned char* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// A PIN copied into a buffer the module may write to (PKCS#11 takes a non-const pointer),
// wiped when dropped.
class PinBuffer {
 public:
  explicit PinBuffer(const Secret& pin) : bytes_(pin.view().begin(), pin.view().end()) {}
  ~PinBuffer() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  }
  PinBuffer(const PinBuffer&) = delete;
  PinBuffer& operator=(const PinBuffer&) = delete;
  CK_UTF8CHAR* data() { return bytes_.empty() ? nullptr : bytes_.data(); }
  CK_ULONG size() const { return bytes_.size(); }

 private:
  std::vector<CK_UTF8CHAR> bytes_;
};

// A session opened for one administrative step (InitToken), closed on scope exit.
class ScopedSession {
 public:
  ScopedSession(CK_FUNCTION_LIST* fl) : fl_(fl) {}
  ~ScopedSession() {
    if (handle_ != CK_INVALID_HANDLE) (void)MASA_CK(fl_, C_CloseSession, handle_);
  }
  ScopedSession(const ScopedSession&) = delete;
  ScopedSession& operator=(const ScopedSession&) = delete;
  absl::Status Open(CK_SLOT_ID slot, CK_FLAGS flags) {
    return MASA_CK(fl_, C_OpenSession, slot, flags | CKF_SERIAL_SESSION, nullptr, nullptr,
                   &handle_);
  }
  CK_SESSION_HANDLE handle() const { return handle_; }

 private:
  CK_FUNCTION_LIST* fl_;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
};

struct UriDeleter {
  void operator()(P11KitUri* uri) const { p11_kit_uri_free(uri); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriDeleter>;

std::string Padded(std::string_view label) {
  std::string padded(kLabelSize, ' ');
  padded.replace(0, std::min(label.size(), kLabelSize), label.substr(0, kLabelSize));
  return padded;
}

// RFC 7512 URI for an object on the token labelled `token_label`; empty `id` / `label`
// are left out. p11-kit does the percent-encoding.
std::string FormatObjectUri(std::string_view token_label, std::string_view label,
                            std::string_view id, CK_OBJECT_CLASS object_class) {
  UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) return "";
  CK_TOKEN_INFO* token = p11_kit_uri_get_token_info(uri.get());
  std::string padded = Padded(token_label);
  std::memcpy(token->label, padded.data(), kLabelSize);
  if (!label.empty()) {
    CK_ATTRIBUTE attribute = {CKA_LABEL, const_cast<char*>(label.data()), label.size()};
    p11_kit_uri_set_attribute(uri.get(), &attribute);
  }
  if (!id.empty()) {
    CK_ATTRIBUTE attribute = {CKA_ID, const_cast<char*>(id.data()), id.size()};
    p11_kit_uri_set_attribute(uri.get(), &attribute);
  }
  CK_ATTRIBUTE class_attribute = {CKA_CLASS, &object_class, sizeof(object_class)};
  p11_kit_uri_set_attribute(uri.get(), &class_attribute);
  char* text = nullptr;
  if (p11_kit_uri_format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &text) != P11_KIT_URI_OK ||
      text == nullptr) {
    return "";
  }
  std::string result(text);
  free(text);
  return result;
}

// CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens return the bare point.
// Returns the content when `value` is exactly one OCTET STRING whose content has a length
// `plausible` accepts, else `value` unchanged.
template <typename Plausible>
std::string UnwrapOctetString(const std::string& value, Plausible plausible) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  size_t size = value.size();
  if (size < 2 || p[0] != 0x04) return value;
  size_t length = 0;
  size_t header = 0;
  if (p[1] < 0x80) {
    length = p[1];
    header = 2;
  } else {
    size_t n = p[1] & 0x7f;
    if (n == 0 || n > 2 || size < 2 + n) return value;
    for (size_t i = 0; i < n; ++i) length = (length << 8) | p[2 + i];
    header = 2 + n;
  }
  if (header + length != size || !plausible(length)) return value;
  return value.substr(header);
}

int BitLength(std::string_view big_endian) {
  size_t i = 0;
  while (i < big_endian.size() && big_endian[i] == 0) ++i;
  if (i == big_endian.size()) return 0;
  int bits = static_cast<int>((big_endian.size() - i - 1) * 8);
  for (auto top = static_cast<unsigned char>(big_endian[i]); top != 0; top >>= 1) ++bits;
  return bits;
}

// ---------------------------------------------------------------------------------------
// Module

class ModuleImpl;

// One entry per module file: at most one live ModuleImpl per path in the process.
struct ModuleEntry {
  std::weak_ptr<ModuleImpl> module;
  bool live = false;  // a ModuleImpl exists (maybe with no references, finalizing)
};

struct ModuleRegistry {
  std::mutex mu;
  std::condition_variable finalized;
  std::map<std::string, ModuleEntry> entries;  // by real path; never erased
};

ModuleRegistry& Registry() {
  static auto* registry = new ModuleRegistry;  // never destroyed: used by static teardown
  return *registry;
}

class ModuleImpl final : public Module {
 public:
  ModuleImpl(std::string path, std::string key, void* library, CK_FUNCTION_LIST* fl,
             bool finalize)
      : path_(std::move(path)), key_(std::move(key)), library_(library), fl_(fl),
        finalize_(finalize) {}

  ~ModuleImpl() override {
    if (finalize_) {
      absl::Status status = MASA_CK(fl_, C_Finalize, nullptr);
      if (!status.ok()) Log(LogLevel::kWarning, absl::StrCat(path_, ": ", status.message()));
    }
    dlclose(library_);
  }

  absl::StatusOr<std::vector<TokenDescription>> Tokens() override;
  absl::Status InitToken(std::string_view label, const Secret& so_pin,
                         const Secret& user_pin) override;
  const std::string& path() const override { return path_; }

  CK_FUNCTION_LIST* functions() const { return fl_; }
  const std::string& key() const { return key_; }

  // The slot of the one initialized token labelled `label`: kNotFound when none,
  // kFailedPrecondition when several tokens carry that label.
  absl::StatusOr<CK_SLOT_ID> FindSlot(std::string_view label);

  // PKCS#11 login is per application and C_Login answers CKR_USER_ALREADY_LOGGED_IN
  // without looking at the PIN. So that a second Token::Open with a wrong PIN still
  // fails, remember a keyed MAC (never the PIN) of the PIN each successful login used.
  void RememberLogin(const std::string& token, const Secret& pin);
  // kPermissionDenied when this process logged in to `token` with another PIN; OK when it
  // used this PIN, or when the login was not made through this module object.
  absl::Status CheckLogin(const std::string& token, const Secret& pin);

 private:
  const std::string path_;
  const std::string key_;
  void* const library_;
  CK_FUNCTION_LIST* const fl_;
  const bool finalize_;  // false when someone else in the process initialized the module
  std::mutex init_mu_;   // one InitToken at a time: they compete for the free slot

  std::mutex login_mu_;
  std::string mac_key_;                       // random, per module object
  std::map<std::string, std::string> logins_;  // token -> HMAC-SHA256(mac_key_, PIN)
  std::string PinMac(const Secret& pin);       // requires login_mu_
};

std::string ModuleImpl::PinMac(const Secret& pin) {
  if (mac_key_.empty()) {
    mac_key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(mac_key_.data()), 32) != 1) {
      mac_key_.clear();
      return "";
    }
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), mac_key_.data(), static_cast<int>(mac_key_.size()),
           reinterpret_cast<const unsigned char*>(pin.view().data()), pin.view().size(), mac,
           &size) == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(mac), size);
}

void ModuleImpl::RememberLogin(const std::string& token, const Secret& pin) {
  std::lock_guard<std::mutex> lock(login_mu_);
  logins_[token] = PinMac(pin);
}

absl::Status ModuleImpl::CheckLogin(const std::string& token, const Secret& pin) {
  std::lock_guard<std::mutex> lock(login_mu_);
  auto it = logins_.find(token);
  if (it == logins_.end()) return absl::OkStatus();
  std::string mac = PinMac(pin);
  if (!mac.empty() && mac.size() == it->second.size() &&
      CRYPTO_memcmp(mac.data(), it->second.data(), mac.size()) == 0) {
    return absl::OkStatus();
  }
  return Annotate(FromCkRv(CKR_PIN_INCORRECT, "C_Login"),
                  "the PIN differs from the one this process is logged in with");
}

absl::StatusOr<std::vector<TokenDescription>> ModuleImpl::Tokens() {
  std::vector<CK_SLOT_ID> slots;
  while (true) {
    CK_ULONG count = 0;
    MASA_RETURN_IF_ERROR(MASA_CK(fl_, C_GetSlotList, CK_TRUE, nullptr, &count));
    slots.resize(count);
    CkResult result = MASA_CK(fl_, C_GetSlotList, CK_TRUE, slots.data(), &count);
    if (result.rv() == CKR_BUFFER_TOO_SMALL) continue;  // a token appeared meanwhile
    MASA_RETURN_IF_ERROR(result);
    slots.resize(count);
    break;
  }
  std::vector<TokenDescription> tokens;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    CkResult result = MASA_CK(fl_, C_GetTokenInfo, slot, &info);
    if (result.rv() == CKR_TOKEN_NOT_PRESENT) continue;  // removed since C_GetSlotList
    MASA_RETURN_IF_ERROR(result);
    TokenDescription token;
    token.slot_id = slot;
    token.label = FromPadded(info.label, sizeof(info.label));
    token.manufacturer = FromPadded(info.manufacturerID, sizeof(info.manufacturerID));
    token.model = FromPadded(info.model, sizeof(info.model));
    token.serial = FromPadded(info.serialNumber, sizeof(info.serialNumber));
    token.initialized = (info.flags & CKF_TOKEN_INITIALIZED) != 0;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

absl::StatusOr<CK_SLOT_ID> ModuleImpl::FindSlot(std::string_view label) {
  MASA_ASSIGN_OR_RETURN(std::vector<TokenDescription> tokens, Tokens());
  std::vector<CK_SLOT_ID> matches;
  for (const TokenDescription& token : tokens) {
    if (token.initialized && token.label == label) matches.push_back(token.slot_id);
  }
  if (matches.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no token labelled '", Sv(label), "' in PKCS#11 module ", path_));
  }
  if (matches.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        matches.size(), " tokens are labelled '", Sv(label), "' in PKCS#11 module ", path_));
  }
  return matches.front();
}

absl::Status ModuleImpl::InitToken(std::string_view label, const Secret& so_pin,
                                   const Secret& user_pin) {
  if (label.empty() || label.size() > kLabelSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a token label has 1 to 32 bytes, not ", label.size()));
  }
  if (so_pin.empty() || user_pin.empty()) {
    return absl::InvalidArgumentError("empty PIN");
  }
  std::lock_guard<std::mutex> lock(init_mu_);
  MASA_ASSIGN_OR_RETURN(std::vector<TokenDescription> tokens, Tokens());
  const TokenDescription* free_slot = nullptr;
  for (const TokenDescription& token : tokens) {
    if (token.initialized && token.label == label) {
      return absl::AlreadyExistsError(absl::StrCat("a token labelled '", Sv(label),
                                                   "' exists already in ", path_));
    }
    if (!token.initialized && free_slot == nullptr) free_slot = &token;
  }
  if (free_slot == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("no uninitialized token to initialize in ", path_));
  }
  std::string padded = Padded(label);
  {
    PinBuffer pin(so_pin);
    MASA_RETURN_IF_ERROR(Annotate(
        MASA_CK(fl_, C_InitToken, free_slot->slot_id, pin.data(), pin.size(),
                reinterpret_cast<CK_UTF8CHAR*>(padded.data())),
        "initializing token"));
  }
  // SoftHSM2 gives the new token another slot id and adds a fresh free slot: look again.
  MASA_ASSIGN_OR_RETURN(CK_SLOT_ID slot, FindSlot(label));
  ScopedSession session(fl_);
  MASA_RETURN_IF_ERROR(session.Open(slot, CKF_RW_SESSION));
  {
    PinBuffer pin(so_pin);
    MASA_RETURN_IF_ERROR(Annotate(
        MASA_CK(fl_, C_Login, session.handle(), CKU_SO, pin.data(), pin.size()),
        "logging in as security officer"));
  }
  PinBuffer pin(user_pin);
  absl::Status status = MASA_CK(fl_, C_InitPIN, session.handle(), pin.data(), pin.size());
  (void)MASA_CK(fl_, C_Logout, session.handle());
  return Annotate(status, "setting the user PIN");
}

}  // namespace

absl::StatusOr<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("no PKCS#11 module path given");
  if (!PathExists(path)) {
    return absl::NotFoundError(absl::StrCat("PKCS#11 module ", path, " does not exist"));
  }
  char* real = realpath(path.c_str(), nullptr);
  std::string key = real != nullptr ? real : path;
  free(real);

  ModuleRegistry& registry = Registry();
  std::unique_lock<std::mutex> lock(registry.mu);
  ModuleEntry& entry = registry.entries[key];
  while (true) {
    if (std::shared_ptr<ModuleImpl> module = entry.module.lock()) return module;
    if (!entry.live) break;
    // The last reference just went; let C_Finalize finish before initializing again.
    registry.finalized.wait(lock);
  }

  dlerror();
  // RTLD_NODELETE: dlclose() leaves the code mapped. A module may leave behind atexit
  // handlers, thread-local destructors or OpenSSL callbacks that would run into unmapped
  // code, and LeakSanitizer needs the module mapped to name its frames.
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (library == nullptr) {
    const char* error = dlerror();
    return absl::FailedPreconditionError(absl::StrCat("cannot load PKCS#11 module ", path, ": ",
                                                      error != nullptr ? error : "dlopen failed"));
  }
  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  if (get_function_list == nullptr) {
    dlclose(library);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a PKCS#11 module: it has no C_GetFunctionList"));
  }
  CK_FUNCTION_LIST* fl = nullptr;
  CkResult got = CkResult("C_GetFunctionList", get_function_list(&fl));
  if (!got.ok() || fl == nullptr) {
    dlclose(library);
    return absl::FailedPreconditionError(absl::StrCat(
        "loading PKCS#11 module ", path, ": ", got.ok() ? "no function list" : got.status().message()));
  }
  CK_C_INITIALIZE_ARGS args = {};
  args.flags = CKF_OS_LOCKING_OK;
  CkResult initialized = MASA_CK(fl, C_Initialize, &args);
  bool finalize = true;
  if (initialized.rv() == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    // Someone else in this process (another library) initialized it: use it, but leave
    // C_Finalize to them.
    Log(LogLevel::kWarning, absl::StrCat("PKCS#11 module ", path,
                                         " was already initialized in this process; "
                                         "it will not be finalized by masa::hsm"));
    finalize = false;
  } else if (!initialized.ok()) {
    dlclose(library);
    return absl::FailedPreconditionError(
        absl::StrCat("initializing PKCS#11 module ", path, ": ", initialized.status().message()));
  }
  // The deleter finalizes under the registry lock, so that a concurrent Load() of the same
  // path waits for it instead of racing C_Finalize with C_Initialize.
  std::shared_ptr<ModuleImpl> module(
      new ModuleImpl(path, key, library, fl, finalize), [](ModuleImpl* module) {
        ModuleRegistry& registry = Registry();
        std::lock_guard<std::mutex> lock(registry.mu);
        registry.entries[module->key()].live = false;
        delete module;
        registry.finalized.notify_all();
      });
  entry.module = module;
  entry.live = true;
  return module;
}

namespace internal {
CK_FUNCTION_LIST* FunctionListOf(const Module& module) {
  return dynamic_cast<const ModuleImpl&>(module).functions();
}
}  // namespace internal

// ---------------------------------------------------------------------------------------
// Token

namespace {

class TokenImpl final : public Token {
 public:
  TokenImpl(std::shared_ptr<ModuleImpl> module, CK_SLOT_ID slot, std::string label,
            CK_TOKEN_INFO info, CK_SESSION_HANDLE admin_session, std::set<CK_MECHANISM_TYPE> mechanisms,
            TokenOptions options)
      : module_(std::move(module)),
        fl_(module_->functions()),
        slot_(slot),
        label_(std::move(label)),
        info_(info),
        admin_session_(admin_session),
        mechanisms_(std::move(mechanisms)),
        options_(options),
        pool_(fl_, slot_, options.sessions, 0) {}

  ~TokenImpl() override {
    // No C_Logout: login state is per application, and another Token of this process may
    // use the same token. It ends when the module's last session on it closes.
    (void)MASA_CK(fl_, C_CloseSession, admin_session_);
  }

  const std::string& label() const override { return label_; }
  absl::StatusOr<KeyInfo> FindKey(std::string_view uri) override;
  absl::StatusOr<std::vector<KeyInfo>> ListKeys() override;
  absl::StatusOr<KeyInfo> GenerateKeyPair(KeyType type, std::string_view label) override;
  absl::StatusOr<std::string> Sign(const KeyInfo& key, const SignParams& params,
                                   std::string_view input) override;
  absl::Status StoreCertificate(std::string_view label, std::string_view id,
                                std::string_view der) override;
  size_t pool_size() const override { return pool_.capacity(); }

 private:
  // Reads label, id and the public half of the private key `handle`. Requires admin_mu_.
  absl::StatusOr<KeyInfo> ReadKeyInfo(CK_OBJECT_HANDLE handle);
  // The handle to sign with in `session`: the cached one, else found (and copied).
  absl::StatusOr<CK_OBJECT_HANDLE> KeyHandle(internal::PooledSession& session,
                                             const KeyInfo& key);
  absl::StatusOr<std::string> SignInSession(internal::PooledSession& session,
                                            const KeyInfo& key, const SignParams& params,
                                            std::string_view input);

  const std::shared_ptr<ModuleImpl> module_;  // outlives every session below
  CK_FUNCTION_LIST* const fl_;
  const CK_SLOT_ID slot_;
  const std::string label_;
  const CK_TOKEN_INFO info_;
  // Opened at login and kept for the Token's life (keeps the application logged in);
  // used, under admin_mu_, for lookups, key generation and certificate storage.
  const CK_SESSION_HANDLE admin_session_;
  std::mutex admin_mu_;
  const std::set<CK_MECHANISM_TYPE> mechanisms_;
  const TokenOptions options_;
  SessionPool pool_;
  std::atomic<bool> copy_refusal_logged_{false};
  // Serializes a session's first look-up of a key with the copy it makes: SoftHSM2 builds a
  // C_CopyObject copy from the original's attributes before applying the template, so a
  // search in another session at that moment finds the half-made copy as a second token
  // key. Taken once per session and key, never on the signing path.
  std::mutex key_lookup_mu_;
};

absl::StatusOr<KeyInfo> TokenImpl::ReadKeyInfo(CK_OBJECT_HANDLE handle) {
  KeyInfo key;
  MASA_ASSIGN_OR_RETURN(key.label, GetAttribute(fl_, admin_session_, handle, CKA_LABEL));
  MASA_ASSIGN_OR_RETURN(key.id, GetAttribute(fl_, admin_session_, handle, CKA_ID));
  MASA_ASSIGN_OR_RETURN(CK_ULONG key_type,
                        GetUlongAttribute(fl_, admin_session_, handle, CKA_KEY_TYPE));
  key.uri = FormatObjectUri(label_, key.label, key.id, CKO_PRIVATE_KEY);

  CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> search = {{CKA_CLASS, &public_class, sizeof(public_class)},
                                      {CKA_TOKEN, &yes, sizeof(yes)},
                                      {CKA_KEY_TYPE, &key_type, sizeof(key_type)}};
  if (!key.id.empty()) {
    search.push_back({CKA_ID, key.id.data(), key.id.size()});
  } else {
    search.push_back({CKA_LABEL, key.label.data(), key.label.size()});
  }
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> publics,
                        FindObjects(fl_, admin_session_, search.data(), search.size()));
  if (publics.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", key.uri, " has no public key object with the same CKA_ID"));
  }
  CK_OBJECT_HANDLE pub = publics.front();
  PublicKeyInfo& info = key.public_key;
  switch (key_type) {
    case CKK_EC: {
      info.family = KeyFamily::kEc;
      MASA_ASSIGN_OR_RETURN(info.ec_params, GetAttribute(fl_, admin_session_, pub, CKA_EC_PARAMS));
      MASA_ASSIGN_OR_RETURN(std::string point, GetAttribute(fl_, admin_session_, pub, CKA_EC_POINT));
      info.ec_point = UnwrapOctetString(point, [](size_t n) { return n % 2 == 1; });
      if (info.ec_params == AsView(kP256Params, sizeof(kP256Params))) {
        info.bits = 256;
      } else if (info.ec_params == AsView(kP384Params, sizeof(kP384Params))) {
        info.bits = 384;
      } else {
        info.bits = static_cast<int>((info.ec_point.size() - 1) / 2 * 8);
      }
      break;
    }
    case CKK_EC_EDWARDS: {
      info.family = KeyFamily::kEdwards;
      MASA_ASSIGN_OR_RETURN(info.ec_params, GetAttribute(fl_, admin_session_, pub, CKA_EC_PARAMS));
      MASA_ASSIGN_OR_RETURN(std::string point, GetAttribute(fl_, admin_session_, pub, CKA_EC_POINT));
      info.ec_point = UnwrapOctetString(point, [](size_t n) { return n == 32 || n == 57; });
      info.bits = info.ec_point.size() == 57 ? 448 : 255;
      break;
    }
    case CKK_RSA: {
      info.family = KeyFamily::kRsa;
      MASA_ASSIGN_OR_RETURN(info.rsa_modulus, GetAttribute(fl_, admin_session_, pub, CKA_MODULUS));
      MASA_ASSIGN_OR_RETURN(info.rsa_public_exponent,
                            GetAttribute(fl_, admin_session_, pub, CKA_PUBLIC_EXPONENT));
      info.bits = BitLength(info.rsa_modulus);
      break;
    }
    default:
      return absl::FailedPreconditionError(
          absl::StrFormat("key %s has unsupported CKA_KEY_TYPE 0x%x", key.uri, key_type));
  }
  return key;
}

absl::StatusOr<KeyInfo> TokenImpl::FindKey(std::string_view uri_text) {
  UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) return absl::ResourceExhaustedError("p11_kit_uri_new failed");
  std::string text(uri_text);
  int parsed = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri.get());
  if (parsed != P11_KIT_URI_OK) {
    return absl::InvalidArgumentError(absl::StrCat("not a valid pkcs11: URI '", text,
                                                   "': ", p11_kit_uri_message(parsed)));
  }
  if (p11_kit_uri_any_unrecognized(uri.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("pkcs11: URI '", text, "' has attributes this library does not know"));
  }
  if (!p11_kit_uri_match_token_info(uri.get(), &info_)) {
    return absl::NotFoundError(
        absl::StrCat("URI '", text, "' names another token than '", label_, "'"));
  }
  CK_ULONG count = 0;
  CK_ATTRIBUTE* attributes = p11_kit_uri_get_attributes(uri.get(), &count);
  std::vector<CK_ATTRIBUTE> search(attributes, attributes + count);
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  auto class_it = std::find_if(search.begin(), search.end(),
                               [](const CK_ATTRIBUTE& a) { return a.type == CKA_CLASS; });
  if (class_it == search.end()) {
    search.push_back({CKA_CLASS, &private_class, sizeof(private_class)});
  } else if (class_it->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
             *static_cast<CK_OBJECT_CLASS*>(class_it->pValue) != CKO_PRIVATE_KEY) {
    return absl::InvalidArgumentError(
        absl::StrCat("URI '", text, "' does not name a private key (type= must be private)"));
  }
  // Every session of this application sees the pool's session-object copies of the keys:
  // look at token objects only.
  CK_BBOOL yes = CK_TRUE;
  search.push_back({CKA_TOKEN, &yes, sizeof(yes)});

  std::lock_guard<std::mutex> lock(admin_mu_);
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                        FindObjects(fl_, admin_session_, search.data(), search.size()));
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("no private key matches '", text, "'"));
  }
  if (found.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        found.size(), " private keys match '", text, "'; add id= or object= to choose one"));
  }
  return ReadKeyInfo(found.front());
}

absl::StatusOr<std::vector<KeyInfo>> TokenImpl::ListKeys() {
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE search[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                           {CKA_TOKEN, &yes, sizeof(yes)}};
  std::lock_guard<std::mutex> lock(admin_mu_);
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                        FindObjects(fl_, admin_session_, search, 2));
  std::vector<KeyInfo> keys;
  for (CK_OBJECT_HANDLE handle : found) {
    MASA_ASSIGN_OR_RETURN(KeyInfo key, ReadKeyInfo(handle));
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::StatusOr<KeyInfo> TokenImpl::GenerateKeyPair(KeyType type, std::string_view label_view) {
  if (label_view.empty()) return absl::InvalidArgumentError("a key needs a label");
  std::string label(label_view);
  CK_MECHANISM mechanism = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  const unsigned char* ec_params = nullptr;
  size_t ec_params_size = 0;
  switch (type) {
    case KeyType::kEcP256:
      ec_params = kP256Params;
      ec_params_size = sizeof(kP256Params);
      break;
    case KeyType::kEcP384:
      ec_params = kP384Params;
      ec_params_size = sizeof(kP384Params);
      break;
    case KeyType::kRsa3072:
      mechanism.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
      break;
    case KeyType::kEd25519:
      mechanism.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
      ec_params = kEd25519Params;
      ec_params_size = sizeof(kEd25519Params);
      break;
  }
  if (mechanisms_.count(mechanism.mechanism) == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "token '%s' has no key-pair generation mechanism 0x%x for this key type", label_,
        mechanism.mechanism));
  }

  std::string id(kKeyIdSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
    return FromOpenSslErrors("generating a key id", absl::StatusCode::kUnavailable);
  }
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ULONG modulus_bits = 3072;
  unsigned char public_exponent[] = {0x01, 0x00, 0x01};
  std::vector<CK_ATTRIBUTE> public_template = {
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &no, sizeof(no)},
      {CKA_VERIFY, &yes, sizeof(yes)},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  if (type == KeyType::kRsa3072) {
    public_template.push_back({CKA_MODULUS_BITS, &modulus_bits, sizeof(modulus_bits)});
    public_template.push_back({CKA_PUBLIC_EXPONENT, public_exponent, sizeof(public_exponent)});
  } else {
    public_template.push_back(
        {CKA_EC_PARAMS, const_cast<unsigned char*>(ec_params), ec_params_size});
  }
  std::vector<CK_ATTRIBUTE> private_template = {
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)},
      {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_SIGN, &yes, sizeof(yes)},
      // Lets each pool session hold a session-object copy (see KeyHandle()); the copy is
      // as sensitive and non-extractable as the original.
      {CKA_COPYABLE, &yes, sizeof(yes)},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };

  std::lock_guard<std::mutex> lock(admin_mu_);
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE same_label[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                               {CKA_TOKEN, &yes, sizeof(yes)},
                               {CKA_LABEL, label.data(), label.size()}};
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> existing,
                        FindObjects(fl_, admin_session_, same_label, 3));
  if (!existing.empty()) {
    return absl::AlreadyExistsError(
        absl::StrCat("token '", label_, "' already has a private key labelled '", label, "'"));
  }
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  MASA_RETURN_IF_ERROR(Annotate(
      MASA_CK(fl_, C_GenerateKeyPair, admin_session_, &mechanism, public_template.data(),
              public_template.size(), private_template.data(), private_template.size(),
              &public_key, &private_key),
      absl::StrCat("generating key pair '", label, "' on token '", label_, "'")));
  return ReadKeyInfo(private_key);
}

absl::StatusOr<CK_OBJECT_HANDLE> TokenImpl::KeyHandle(internal::PooledSession& session,
                                                      const KeyInfo& key) {
  std::string cache_key = absl::StrCat(key.id.size(), ":", key.id, key.label);
  if (auto it = session.keys.find(cache_key); it != session.keys.end()) return it->second;
  std::lock_guard<std::mutex> lock(key_lookup_mu_);

  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> search = {{CKA_CLASS, &private_class, sizeof(private_class)},
                                      {CKA_TOKEN, &yes, sizeof(yes)}};
  std::string id = key.id;
  std::string label = key.label;
  if (!id.empty()) search.push_back({CKA_ID, id.data(), id.size()});
  if (!label.empty()) search.push_back({CKA_LABEL, label.data(), label.size()});
  if (id.empty() && label.empty()) {
    return absl::InvalidArgumentError("the key has neither CKA_ID nor CKA_LABEL");
  }
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                        FindObjects(fl_, session.handle, search.data(), search.size()));
  if (found.size() != 1) {
    return absl::NotFoundError(absl::StrCat(found.size(), " private keys on token '", label_,
                                            "' match ", key.uri));
  }
  CK_OBJECT_HANDLE handle = found.front();
  if (options_.session_key_copies) {
    // SoftHSM2 re-checks the token object's file on every use of a token object; a
    // session-object copy lives only in memory, so signing stops touching the disk.
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE copy_template[] = {{CKA_TOKEN, &no, sizeof(no)}};
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
    CkResult copied = MASA_CK(fl_, C_CopyObject, session.handle, handle, copy_template, 1, &copy);
    if (copied.ok()) {
      handle = copy;
    } else if (!copy_refusal_logged_.exchange(true)) {
      Log(LogLevel::kInfo, absl::StrCat("token '", label_, "' will not copy key ", key.uri, " (",
                                        copied.status().message(),
                                        "); signing with the token object"));
    }
  }
  session.keys.emplace(std::move(cache_key), handle);
  return handle;
}

CK_MECHANISM_TYPE HashMechanism(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return CKM_SHA256;
    case HashAlgorithm::kSha384:
      return CKM_SHA384;
    case HashAlgorithm::kSha512:
      return CKM_SHA512;
  }
  return CKM_SHA256;
}

CK_RSA_PKCS_MGF_TYPE Mgf1(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return CKG_MGF1_SHA256;
    case HashAlgorithm::kSha384:
      return CKG_MGF1_SHA384;
    case HashAlgorithm::kSha512:
      return CKG_MGF1_SHA512;
  }
  return CKG_MGF1_SHA256;
}

absl::StatusOr<std::string> TokenImpl::SignInSession(internal::PooledSession& session,
                                                     const KeyInfo& key,
                                                     const SignParams& params,
                                                     std::string_view input) {
  MASA_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE handle, KeyHandle(session, key));
  CK_RSA_PKCS_PSS_PARAMS pss = {};
  CK_MECHANISM mechanism = {CKM_ECDSA, nullptr, 0};
  switch (params.mechanism) {
    case SignMechanism::kEcdsa:
      break;
    case SignMechanism::kRsaPkcs1:
      mechanism.mechanism = CKM_RSA_PKCS;
      break;
    case SignMechanism::kRsaPss:
      mechanism.mechanism = CKM_RSA_PKCS_PSS;
      pss.hashAlg = HashMechanism(params.pss_hash);
      pss.mgf = Mgf1(params.pss_hash);
      pss.sLen = params.pss_salt_length;
      mechanism.pParameter = &pss;
      mechanism.ulParameterLen = sizeof(pss);
      break;
    case SignMechanism::kEddsa:
      mechanism.mechanism = CKM_EDDSA;
      break;
  }
  MASA_RETURN_IF_ERROR(MASA_CK(fl_, C_SignInit, session.handle, &mechanism, handle));
  // One C_Sign call in the common case: 512 bytes fit RSA-4096, ECDSA P-521 and EdDSA.
  std::string signature(512, '\0');
  std::string data(input);
  CK_ULONG size = signature.size();
  CkResult signed_once =
      MASA_CK(fl_, C_Sign, session.handle, reinterpret_cast<CK_BYTE*>(data.data()), data.size(),
              reinterpret_cast<CK_BYTE*>(signature.data()), &size);
  if (signed_once.rv() == CKR_BUFFER_TOO_SMALL) {
    signature.resize(size);
    MASA_RETURN_IF_ERROR(MASA_CK(fl_, C_Sign, session.handle,
                                 reinterpret_cast<CK_BYTE*>(data.data()), data.size(),
                                 reinterpret_cast<CK_BYTE*>(signature.data()), &size));
  } else {
    MASA_RETURN_IF_ERROR(signed_once);
  }
  signature.resize(size);
  return signature;
}

absl::StatusOr<std::string> TokenImpl::Sign(const KeyInfo& key, const SignParams& params,
                                             std::string_view input) {
  // Tokens differ in when (or whether) they notice a mechanism that does not fit the key
  // (SoftHSM2 accepts CKM_RSA_PKCS for an EC key at C_SignInit and fails C_Sign with
  // CKR_GENERAL_ERROR); say it plainly and spare the session.
  KeyFamily needed = KeyFamily::kEc;
  if (params.mechanism == SignMechanism::kRsaPkcs1 || params.mechanism == SignMechanism::kRsaPss) {
    needed = KeyFamily::kRsa;
  } else if (params.mechanism == SignMechanism::kEddsa) {
    needed = KeyFamily::kEdwards;
  }
  if (key.public_key.family != needed) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", key.uri, " cannot sign with the requested mechanism"));
  }
  MASA_ASSIGN_OR_RETURN(SessionPool::Lease lease, pool_.Acquire());
  absl::StatusOr<std::string> signature = SignInSession(lease.session(), key, params, input);
  // After any error the session may be mid-operation or dead: never reuse it.
  if (!signature.ok()) {
    lease.Discard();
    return Annotate(signature.status(), absl::StrCat("signing with ", key.uri));
  }
  return signature;
}

absl::Status TokenImpl::StoreCertificate(std::string_view label_view, std::string_view id_view,
                                         std::string_view der_view) {
  std::string label(label_view);
  std::string id(id_view);
  std::string der(der_view);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return FromOpenSslErrors("the certificate is not one DER X.509 certificate",
                             absl::StatusCode::kInvalidArgument);
  }
  auto name_der = [](X509_NAME* name) {
    unsigned char* out = nullptr;
    int n = i2d_X509_NAME(name, &out);
    std::string result = n > 0 ? std::string(reinterpret_cast<char*>(out), n) : std::string();
    OPENSSL_free(out);
    return result;
  };
  std::string subject = name_der(X509_get_subject_name(cert.get()));
  std::string issuer = name_der(X509_get_issuer_name(cert.get()));
  std::string serial;
  {
    unsigned char* out = nullptr;
    int n = i2d_ASN1_INTEGER(X509_get_serialNumber(cert.get()), &out);
    if (n > 0) serial.assign(reinterpret_cast<char*>(out), n);
    OPENSSL_free(out);
  }
  CK_OBJECT_CLASS certificate_class = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE certificate_type = CKC_X_509;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE attributes[] = {
      {CKA_CLASS, &certificate_class, sizeof(certificate_class)},
      {CKA_CERTIFICATE_TYPE, &certificate_type, sizeof(certificate_type)},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &no, sizeof(no)},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
      {CKA_VALUE, der.data(), der.size()},
      {CKA_SUBJECT, subject.data(), subject.size()},
      {CKA_ISSUER, issuer.data(), issuer.size()},
      {CKA_SERIAL_NUMBER, serial.data(), serial.size()},
  };
  std::lock_guard<std::mutex> lock(admin_mu_);
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  return Annotate(MASA_CK(fl_, C_CreateObject, admin_session_, attributes,
                          sizeof(attributes) / sizeof(attributes[0]), &object),
                  absl::StrCat("storing certificate '", label, "' on token '", label_, "'"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Token>> Token::Open(std::shared_ptr<Module> module,
                                                   std::string_view label_view,
                                                   const Secret& pin, TokenOptions options) {
  auto impl = std::dynamic_pointer_cast<ModuleImpl>(module);
  if (impl == nullptr) return absl::InvalidArgumentError("not a module from Module::Load");
  if (options.sessions == 0) return absl::InvalidArgumentError("a token needs at least one session");
  std::string label(label_view);
  CK_FUNCTION_LIST* fl = impl->functions();
  MASA_ASSIGN_OR_RETURN(CK_SLOT_ID slot, impl->FindSlot(label));
  CK_TOKEN_INFO info;
  MASA_RETURN_IF_ERROR(MASA_CK(fl, C_GetTokenInfo, slot, &info));

  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  MASA_RETURN_IF_ERROR(Annotate(MASA_CK(fl, C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                        nullptr, nullptr, &session),
                                absl::StrCat("opening token '", label, "'")));
  auto close = [&](absl::Status status) {
    (void)MASA_CK(fl, C_CloseSession, session);
    return status;
  };
  CkResult login = [&] {
    PinBuffer buffer(pin);
    return MASA_CK(fl, C_Login, session, CKU_USER, buffer.data(), buffer.size());
  }();
  const std::string login_key = absl::StrCat(
      label, "/", FromPadded(info.serialNumber, sizeof(info.serialNumber)));
  if (login.ok()) {
    impl->RememberLogin(login_key, pin);
  } else if (login.rv() == CKR_USER_ALREADY_LOGGED_IN) {
    // Login state is per application: another Token of this process logged in.
    absl::Status same_pin = impl->CheckLogin(login_key, pin);
    if (!same_pin.ok()) {
      return close(Annotate(same_pin, absl::StrCat("logging in to token '", label, "'")));
    }
  } else {
    return close(Annotate(login, absl::StrCat("logging in to token '", label, "'")));
  }

  std::set<CK_MECHANISM_TYPE> mechanisms;
  CK_ULONG count = 0;
  absl::Status listed = MASA_CK(fl, C_GetMechanismList, slot, nullptr, &count);
  if (!listed.ok()) return close(listed);
  std::vector<CK_MECHANISM_TYPE> list(count);
  listed = MASA_CK(fl, C_GetMechanismList, slot, list.data(), &count);
  if (!listed.ok()) return close(listed);
  mechanisms.insert(list.begin(), list.begin() + std::min<size_t>(count, list.size()));

  return std::make_unique<TokenImpl>(std::move(impl), slot, std::move(label), info, session,
                                     std::move(mechanisms), options);
}

std::string PrivateKeyUri(std::string_view token_label, std::string_view label) {
  return FormatObjectUri(token_label, label, "", CKO_PRIVATE_KEY);
}

}  // namespace masa::hsm
