// Module loading (dlopen, C_GetFunctionList, C_Initialize, one live module per file),
// slots and tokens, token initialization, and remembering which PIN a login used.
#include <dlfcn.h>
#include <stdlib.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/log.h"
#include "common/status.h"
#include "hsm/internal/ck.h"
#include "hsm/internal/module_impl.h"
#include "hsm/pkcs11.h"

namespace masa::hsm {
namespace internal {
namespace {

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

}  // namespace

std::string Padded(std::string_view label) {
  std::string padded(kLabelSize, ' ');
  padded.replace(0, std::min(label.size(), kLabelSize), label.substr(0, kLabelSize));
  return padded;
}

ModuleImpl::~ModuleImpl() {
  if (finalize_) {
    absl::Status status = MASA_CK(fl_, C_Finalize, nullptr);
    if (!status.ok()) Log(LogLevel::kWarning, absl::StrCat(path_, ": ", status.message()));
  }
  dlclose(library_);
}

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
    CkResult result = GetTokenInfo(fl_, slot, &info);
    // Removed since C_GetSlotList, or failing: one broken token must not hide the others.
    if (result.rv() == CKR_TOKEN_NOT_PRESENT || result.rv() == CKR_DEVICE_REMOVED ||
        result.rv() == CKR_DEVICE_ERROR) {
      continue;
    }
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
    return absl::FailedPreconditionError(absl::StrCat(matches.size(), " tokens are labelled '",
                                                      Sv(label), "' in PKCS#11 module ", path_));
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
      return absl::AlreadyExistsError(
          absl::StrCat("a token labelled '", Sv(label), "' exists already in ", path_));
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
    MASA_RETURN_IF_ERROR(
        Annotate(MASA_CK(fl_, C_InitToken, free_slot->slot_id, pin.data(), pin.size(),
                         reinterpret_cast<CK_UTF8CHAR*>(padded.data())),
                 "initializing token"));
  }
  // SoftHSM2 gives the new token another slot id and adds a fresh free slot: look again.
  MASA_ASSIGN_OR_RETURN(CK_SLOT_ID slot, FindSlot(label));
  ScopedSession session(fl_);
  MASA_RETURN_IF_ERROR(session.Open(slot, CKF_RW_SESSION));
  {
    PinBuffer pin(so_pin);
    MASA_RETURN_IF_ERROR(
        Annotate(MASA_CK(fl_, C_Login, session.handle(), CKU_SO, pin.data(), pin.size()),
                 "logging in as security officer"));
  }
  PinBuffer pin(user_pin);
  absl::Status status = MASA_CK(fl_, C_InitPIN, session.handle(), pin.data(), pin.size());
  (void)MASA_CK(fl_, C_Logout, session.handle());
  return Annotate(status, "setting the user PIN");
}

CK_FUNCTION_LIST* FunctionListOf(const Module& module) {
  return dynamic_cast<const ModuleImpl&>(module).functions();
}

}  // namespace internal

using internal::CkResult;
using internal::ModuleImpl;

absl::StatusOr<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("no PKCS#11 module path given");
  if (!PathExists(path)) {
    return absl::NotFoundError(absl::StrCat("PKCS#11 module ", path, " does not exist"));
  }
  char* real = realpath(path.c_str(), nullptr);
  std::string key = real != nullptr ? real : path;
  free(real);

  internal::ModuleRegistry& registry = internal::Registry();
  std::unique_lock<std::mutex> lock(registry.mu);
  internal::ModuleEntry& entry = registry.entries[key];
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
    return absl::FailedPreconditionError(
        absl::StrCat("loading PKCS#11 module ", path, ": ",
                     got.ok() ? "no function list" : got.status().message()));
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
  std::shared_ptr<ModuleImpl> module(new ModuleImpl(path, key, library, fl, finalize),
                                     [](ModuleImpl* module) {
                                       internal::ModuleRegistry& registry = internal::Registry();
                                       std::lock_guard<std::mutex> lock(registry.mu);
                                       registry.entries[module->key()].live = false;
                                       delete module;
                                       registry.finalized.notify_all();
                                     });
  entry.module = module;
  entry.live = true;
  return module;
}

}  // namespace masa::hsm
