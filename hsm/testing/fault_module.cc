// libmasa_pkcs11_fault.so: a PKCS#11 module for tests that forwards every call to a real
// module and fails on command. It makes the faults a real HSM shows and SoftHSM2 cannot
// produce on demand; everything else stays real.
//
// Environment (read once, at the first C_GetFunctionList):
//   MASA_FAULT_MODULE   the real module (default /usr/lib/softhsm/libsofthsm2.so)
//   MASA_FAULT_CONTROL  the rule file; unset or absent file = no faults
//
// The rule file is looked at (stat) on every call and re-read when its inode, size or
// mtime changed, so write it atomically (temp file + rename; hsm/testing/fault_control.h
// does). One rule per line, blank lines and lines starting with '#' ignored:
//
//   <token label | *> <C_ function | *> <fault> [seconds] [once | count=N]
//
//   label     the token's CKA label (C_GetTokenInfo, trailing blanks removed); '%XX'
//             escapes a byte (a label with a blank: "my%20token"). A rule with a label
//             hits only calls on that token: calls naming a slot, or a session opened on
//             it. Calls that name neither (C_GetSlotList, C_GetInfo, ...) only match '*'.
//   function  a PKCS#11 function name, "C_Sign", or '*' for every function.
//   fault     session_handle_invalid | device_removed | device_error | token_not_present |
//             user_not_logged_in   -> the call answers CKR_<FAULT> without reaching the
//                                     real module
//             hang <seconds>       -> the call sleeps, then is forwarded; the sleep ends
//                                     early as soon as the rule is no longer in the file,
//                                     so a test releases a hung thread by removing it
//             delay <milliseconds> -> the call sleeps that long, then is forwarded: a slow
//                                     token (every call answers, late), to load a queue
//   once      the rule fires for the first matching call only; count=N for N calls. The
//             count restarts when the file is re-read.
//
// The first rule (in file order) that matches a call and has calls left decides it.
// Example: make token masa-a fail every signature, and hang masa-b's next C_Sign for 30 s:
//
//   masa-a C_Sign device_error
//   masa-b C_Sign hang 30 once
//
// C_Initialize is forwarded (CKR_CRYPTOKI_ALREADY_INITIALIZED from the real module counts
// as success, since tests also load the real module directly); C_Finalize is answered
// without reaching the real module, which stays initialized until the process exits, so that
// one user finalizing cannot pull the module from under another. Only C_GetFunctionList is
// exported (PKCS#11 2.40); callers that look for C_GetInterface fall back to it.
//
// masad uses it like any module (module path = this file, plus the two variables in its
// environment); Python tests write the rule file themselves.
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

constexpr const char* kDefaultModule = "/usr/lib/softhsm/libsofthsm2.so";

// How a function names its token: by slot, by session, or not at all.
enum class Target { kNone, kSlot, kSession };

enum class Fault { kReturn, kHang, kDelay };

struct Rule {
  std::string line;      // as written, to tell whether a hanging rule is still in the file
  std::string label;     // empty = '*'
  std::string function;  // empty = '*'
  Fault fault = Fault::kReturn;
  CK_RV rv = CKR_OK;
  long seconds = 0;  // hang
  long millis = 0;   // delay
  bool limited = false;
  std::unique_ptr<std::atomic<long>> left;  // calls left when limited
};

struct RuleSet {
  std::vector<Rule> rules;
  bool Contains(const std::string& line) const {
    for (const Rule& rule : rules) {
      if (rule.line == line) return true;
    }
    return false;
  }
};

struct State {
  std::once_flag once;
  CK_FUNCTION_LIST* real = nullptr;
  std::string load_error;
  std::string control;  // MASA_FAULT_CONTROL, empty = no faults
  CK_FUNCTION_LIST list = {};

  std::mutex mu;
  bool initialized = false;              // guarded by mu: C_Initialize seen, no C_Finalize
  std::shared_ptr<const RuleSet> rules;  // guarded by mu
  bool have_stat = false;                // guarded by mu
  struct stat last = {};                 // guarded by mu
};

State& GetState() {
  static auto* state = new State;  // never destroyed: calls may come during exit
  return *state;
}

std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      char hex[3] = {text[i + 1], text[i + 2], 0};
      char* end = nullptr;
      long value = strtol(hex, &end, 16);
      if (end == hex + 2) {
        out.push_back(static_cast<char>(value));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

bool ParseFault(const std::string& name, Rule* rule) {
  static const struct {
    const char* name;
    CK_RV rv;
  } kFaults[] = {
      {"session_handle_invalid", CKR_SESSION_HANDLE_INVALID},
      {"device_removed", CKR_DEVICE_REMOVED},
      {"device_error", CKR_DEVICE_ERROR},
      {"token_not_present", CKR_TOKEN_NOT_PRESENT},
      {"user_not_logged_in", CKR_USER_NOT_LOGGED_IN},
  };
  for (const auto& fault : kFaults) {
    if (name == fault.name) {
      rule->fault = Fault::kReturn;
      rule->rv = fault.rv;
      return true;
    }
  }
  if (name == "hang") {
    rule->fault = Fault::kHang;
    return true;
  }
  if (name == "delay") {
    rule->fault = Fault::kDelay;
    return true;
  }
  return false;
}

// Malformed lines are reported on stderr and skipped: a test tool should say why a rule
// did nothing rather than silently ignore it.
std::shared_ptr<const RuleSet> ParseRules(const std::string& text) {
  auto set = std::make_shared<RuleSet>();
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.empty() || w[0][0] == '#') continue;
    Rule rule;
    rule.line = line;
    bool ok = w.size() >= 3 && ParseFault(w[2], &rule);
    size_t next = 3;
    if (ok && rule.fault == Fault::kHang) {
      char* end = nullptr;
      ok = w.size() > 3 && (rule.seconds = strtol(w[3].c_str(), &end, 10), *end == '\0') &&
           rule.seconds >= 0;
      next = 4;
    } else if (ok && rule.fault == Fault::kDelay) {
      char* end = nullptr;
      ok = w.size() > 3 && (rule.millis = strtol(w[3].c_str(), &end, 10), *end == '\0') &&
           rule.millis >= 0;
      next = 4;
    }
    for (; ok && next < w.size(); ++next) {
      long count = 0;
      if (w[next] == "once") {
        count = 1;
      } else if (w[next].rfind("count=", 0) == 0) {
        char* end = nullptr;
        count = strtol(w[next].c_str() + 6, &end, 10);
        ok = *end == '\0' && count > 0;
      } else {
        ok = false;
      }
      rule.limited = true;
      rule.left = std::make_unique<std::atomic<long>>(count);
    }
    if (!ok) {
      fprintf(stderr, "masa_pkcs11_fault: ignoring malformed rule '%s'\n", line.c_str());
      continue;
    }
    if (w[0] != "*") rule.label = Unescape(w[0]);
    if (w[1] != "*") rule.function = w[1];
    set->rules.push_back(std::move(rule));
  }
  return set;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// The current rules (nullptr: none), re-read when the file changed.
std::shared_ptr<const RuleSet> CurrentRules() {
  State& state = GetState();
  if (state.control.empty()) return nullptr;
  struct stat now = {};
  bool exists = stat(state.control.c_str(), &now) == 0;
  std::lock_guard<std::mutex> lock(state.mu);
  if (!exists) {
    state.have_stat = false;
    state.rules = nullptr;
    return nullptr;
  }
  if (state.have_stat && SameFile(now, state.last)) return state.rules;
  std::ifstream in(state.control);
  std::stringstream text;
  text << in.rdbuf();
  state.rules = ParseRules(text.str());
  state.last = now;
  state.have_stat = true;
  return state.rules;
}

std::string TrimmedLabel(const CK_TOKEN_INFO& info) {
  std::string label(reinterpret_cast<const char*>(info.label), sizeof(info.label));
  size_t nul = label.find('\0');
  if (nul != std::string::npos) label.resize(nul);
  size_t end = label.find_last_not_of(' ');
  label.resize(end == std::string::npos ? 0 : end + 1);
  return label;
}

// The real C_GetTokenInfo, one call at a time: SoftHSM2 fills utcTime with gmtime(), one static
// buffer, and this module asks for a label on every call of every thread.
CK_RV RealGetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return GetState().real->C_GetTokenInfo(slot, info);
}

// The label of the token a call is about, asked of the real module (empty when unknown:
// no such slot or session).
std::string LabelOf(Target target, CK_ULONG handle) {
  CK_FUNCTION_LIST* real = GetState().real;
  CK_SLOT_ID slot = handle;
  if (target == Target::kNone) return "";
  if (target == Target::kSession) {
    CK_SESSION_INFO info;
    if (real->C_GetSessionInfo(handle, &info) != CKR_OK) return "";
    slot = info.slotID;
  }
  CK_TOKEN_INFO info;
  if (RealGetTokenInfo(slot, &info) != CKR_OK) return "";
  return TrimmedLabel(info);
}

// What the rules make of this call: CKR_OK to forward it (maybe after a hang or a delay), else the
// CK_RV to answer.
CK_RV Decide(const char* function, Target target, CK_ULONG handle) {
  std::shared_ptr<const RuleSet> rules = CurrentRules();
  if (rules == nullptr) return CKR_OK;
  bool have_label = false;
  std::string label;
  for (const Rule& rule : rules->rules) {
    if (!rule.function.empty() && rule.function != function) continue;
    if (!rule.label.empty()) {
      if (!have_label) {
        label = LabelOf(target, handle);
        have_label = true;
      }
      if (label != rule.label) continue;
    }
    if (rule.limited) {
      long left = rule.left->load();
      do {
        if (left <= 0) break;
      } while (!rule.left->compare_exchange_weak(left, left - 1));
      if (left <= 0) continue;
    }
    if (rule.fault == Fault::kReturn) return rule.rv;
    if (rule.fault == Fault::kDelay) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rule.millis));
      return CKR_OK;
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(rule.seconds);
    while (std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::shared_ptr<const RuleSet> now = CurrentRules();
      if (now == nullptr || !now->Contains(rule.line)) break;
    }
    return CKR_OK;
  }
  return CKR_OK;
}

template <typename F>
struct Forwarder;

template <typename... Args>
struct Forwarder<CK_RV (*)(Args...)> {
  template <auto Field, const char* Name, Target kTarget>
  static CK_RV Call(Args... args) {
    CK_ULONG handle = 0;
    if constexpr (kTarget != Target::kNone) handle = std::get<0>(std::tie(args...));
    CK_RV rv = Decide(Name, kTarget, handle);
    if (rv != CKR_OK) return rv;
    return (GetState().real->*Field)(args...);
  }
};

// C_GetTokenInfo as the Forwarder would forward it, through RealGetTokenInfo.
CK_RV GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
  CK_RV rv = Decide("C_GetTokenInfo", Target::kSlot, slot);
  if (rv != CKR_OK) return rv;
  return RealGetTokenInfo(slot, info);
}

CK_RV Initialize(void* args) {
  CK_RV rv = Decide("C_Initialize", Target::kNone, 0);
  if (rv != CKR_OK) return rv;
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.initialized) return CKR_CRYPTOKI_ALREADY_INITIALIZED;
  rv = state.real->C_Initialize(args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) return rv;
  state.initialized = true;
  return CKR_OK;
}

CK_RV Finalize(void* reserved) {
  if (reserved != nullptr) return CKR_ARGUMENTS_BAD;
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  if (!state.initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
  state.initialized = false;
  return CKR_OK;
}

CK_RV GetFunctionListOfThis(CK_FUNCTION_LIST** list);

#define MASA_FAULT_FORWARD(fn, target)                                                           \
  do {                                                                                           \
    static constexpr char kName[] = #fn;                                                         \
    state.list.fn =                                                                              \
        &Forwarder<decltype(state.list.fn)>::Call<&CK_FUNCTION_LIST::fn, kName, Target::target>; \
  } while (0)

void Load() {
  State& state = GetState();
  const char* path = getenv("MASA_FAULT_MODULE");
  if (path == nullptr || *path == '\0') path = kDefaultModule;
  const char* control = getenv("MASA_FAULT_CONTROL");
  if (control != nullptr) state.control = control;
  void* library = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (library == nullptr) {
    const char* error = dlerror();
    state.load_error = error != nullptr ? error : "dlopen failed";
    return;
  }
  auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  if (get == nullptr || get(&state.real) != CKR_OK || state.real == nullptr) {
    state.real = nullptr;
    state.load_error = std::string(path) + " is not a PKCS#11 module";
    return;
  }
  state.list = *state.real;  // version, and anything not overridden below
  state.list.C_Initialize = &Initialize;
  state.list.C_Finalize = &Finalize;
  state.list.C_GetFunctionList = &GetFunctionListOfThis;
  MASA_FAULT_FORWARD(C_GetInfo, kNone);
  MASA_FAULT_FORWARD(C_GetSlotList, kNone);
  MASA_FAULT_FORWARD(C_GetSlotInfo, kSlot);
  state.list.C_GetTokenInfo = &GetTokenInfo;
  MASA_FAULT_FORWARD(C_GetMechanismList, kSlot);
  MASA_FAULT_FORWARD(C_GetMechanismInfo, kSlot);
  MASA_FAULT_FORWARD(C_InitToken, kSlot);
  MASA_FAULT_FORWARD(C_InitPIN, kSession);
  MASA_FAULT_FORWARD(C_SetPIN, kSession);
  MASA_FAULT_FORWARD(C_OpenSession, kSlot);
  MASA_FAULT_FORWARD(C_CloseSession, kSession);
  MASA_FAULT_FORWARD(C_CloseAllSessions, kSlot);
  MASA_FAULT_FORWARD(C_GetSessionInfo, kSession);
  MASA_FAULT_FORWARD(C_GetOperationState, kSession);
  MASA_FAULT_FORWARD(C_SetOperationState, kSession);
  MASA_FAULT_FORWARD(C_Login, kSession);
  MASA_FAULT_FORWARD(C_Logout, kSession);
  MASA_FAULT_FORWARD(C_CreateObject, kSession);
  MASA_FAULT_FORWARD(C_CopyObject, kSession);
  MASA_FAULT_FORWARD(C_DestroyObject, kSession);
  MASA_FAULT_FORWARD(C_GetObjectSize, kSession);
  MASA_FAULT_FORWARD(C_GetAttributeValue, kSession);
  MASA_FAULT_FORWARD(C_SetAttributeValue, kSession);
  MASA_FAULT_FORWARD(C_FindObjectsInit, kSession);
  MASA_FAULT_FORWARD(C_FindObjects, kSession);
  MASA_FAULT_FORWARD(C_FindObjectsFinal, kSession);
  MASA_FAULT_FORWARD(C_EncryptInit, kSession);
  MASA_FAULT_FORWARD(C_Encrypt, kSession);
  MASA_FAULT_FORWARD(C_EncryptUpdate, kSession);
  MASA_FAULT_FORWARD(C_EncryptFinal, kSession);
  MASA_FAULT_FORWARD(C_DecryptInit, kSession);
  MASA_FAULT_FORWARD(C_Decrypt, kSession);
  MASA_FAULT_FORWARD(C_DecryptUpdate, kSession);
  MASA_FAULT_FORWARD(C_DecryptFinal, kSession);
  MASA_FAULT_FORWARD(C_DigestInit, kSession);
  MASA_FAULT_FORWARD(C_Digest, kSession);
  MASA_FAULT_FORWARD(C_DigestUpdate, kSession);
  MASA_FAULT_FORWARD(C_DigestKey, kSession);
  MASA_FAULT_FORWARD(C_DigestFinal, kSession);
  MASA_FAULT_FORWARD(C_SignInit, kSession);
  MASA_FAULT_FORWARD(C_Sign, kSession);
  MASA_FAULT_FORWARD(C_SignUpdate, kSession);
  MASA_FAULT_FORWARD(C_SignFinal, kSession);
  MASA_FAULT_FORWARD(C_SignRecoverInit, kSession);
  MASA_FAULT_FORWARD(C_SignRecover, kSession);
  MASA_FAULT_FORWARD(C_VerifyInit, kSession);
  MASA_FAULT_FORWARD(C_Verify, kSession);
  MASA_FAULT_FORWARD(C_VerifyUpdate, kSession);
  MASA_FAULT_FORWARD(C_VerifyFinal, kSession);
  MASA_FAULT_FORWARD(C_VerifyRecoverInit, kSession);
  MASA_FAULT_FORWARD(C_VerifyRecover, kSession);
  MASA_FAULT_FORWARD(C_DigestEncryptUpdate, kSession);
  MASA_FAULT_FORWARD(C_DecryptDigestUpdate, kSession);
  MASA_FAULT_FORWARD(C_SignEncryptUpdate, kSession);
  MASA_FAULT_FORWARD(C_DecryptVerifyUpdate, kSession);
  MASA_FAULT_FORWARD(C_GenerateKey, kSession);
  MASA_FAULT_FORWARD(C_GenerateKeyPair, kSession);
  MASA_FAULT_FORWARD(C_WrapKey, kSession);
  MASA_FAULT_FORWARD(C_UnwrapKey, kSession);
  MASA_FAULT_FORWARD(C_DeriveKey, kSession);
  MASA_FAULT_FORWARD(C_SeedRandom, kSession);
  MASA_FAULT_FORWARD(C_GenerateRandom, kSession);
  MASA_FAULT_FORWARD(C_GetFunctionStatus, kSession);
  MASA_FAULT_FORWARD(C_CancelFunction, kSession);
  MASA_FAULT_FORWARD(C_WaitForSlotEvent, kNone);
}

#undef MASA_FAULT_FORWARD

CK_RV GetFunctionListOfThis(CK_FUNCTION_LIST** list) {
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  State& state = GetState();
  std::call_once(state.once, Load);
  if (state.real == nullptr) {
    fprintf(stderr, "masa_pkcs11_fault: %s\n", state.load_error.c_str());
    return CKR_GENERAL_ERROR;
  }
  *list = &state.list;
  return CKR_OK;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST** list) {
  return GetFunctionListOfThis(list);
}
