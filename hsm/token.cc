// Tokens: opening and logging in (PKCS#11 login is per application), signing through the
// session pool, and storing certificates.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>

#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/openssl.h"
#include "common/status.h"
#include "hsm/internal/ck.h"
#include "hsm/internal/module_impl.h"
#include "hsm/internal/token_impl.h"
#include "hsm/sign_cpu.h"

#if defined(__SANITIZE_ADDRESS__)
#define MASA_HSM_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MASA_HSM_LSAN 1
#endif
#endif
#ifdef MASA_HSM_LSAN
#include <sanitizer/lsan_interface.h>
#endif

namespace masa::hsm {
namespace {

// SignCpuSoFar's totals: relaxed, since each is a sum read on its own.
std::atomic<uint64_t> sign_calls{0};
std::atomic<uint64_t> sign_timed_calls{0};
std::atomic<uint64_t> sign_timed_cpu_ns{0};
thread_local uint64_t sign_calls_on_this_thread = 0;

uint64_t ThreadCpuNs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

// Counts a signing call at its end (every return path), and adds the calling thread's CPU
// time from construction to destruction when this call is one of the sample.
class SignCpuScope {
 public:
  SignCpuScope()
      : timed_(sign_calls_on_this_thread++ % kSignCpuSampleEvery == 0),
        start_ns_(timed_ ? ThreadCpuNs() : 0) {}
  ~SignCpuScope() {
    sign_calls.fetch_add(1, std::memory_order_relaxed);
    if (!timed_) return;
    sign_timed_cpu_ns.fetch_add(ThreadCpuNs() - start_ns_, std::memory_order_relaxed);
    sign_timed_calls.fetch_add(1, std::memory_order_relaxed);
  }
  SignCpuScope(const SignCpuScope&) = delete;
  SignCpuScope& operator=(const SignCpuScope&) = delete;

 private:
  const bool timed_;
  const uint64_t start_ns_;
};

}  // namespace

SignCpu SignCpuSoFar() {
  return {.calls = sign_calls.load(std::memory_order_relaxed),
          .timed_calls = sign_timed_calls.load(std::memory_order_relaxed),
          .timed_cpu_ns = sign_timed_cpu_ns.load(std::memory_order_relaxed)};
}

namespace internal {
namespace {

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

}  // namespace

absl::StatusOr<std::string> TokenImpl::SignInSession(PooledSession& session, const KeyInfo& key,
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
  // One C_Sign call in the common case: 512 bytes fit RSA-4096, ECDSA P-521 and EdDSA.
  std::string signature(512, '\0');
  std::string data(input);
  CK_ULONG size = signature.size();
  const SignCpuScope timed;
#ifdef MASA_HSM_LSAN
  // SoftHSM2 2.6.1 leaks an ASN1_OCTET_STRING on every CKM_EDDSA signature, allocated by
  // libcrypto. LeakSanitizer can name the module's frame behind libcrypto's (which have no
  // frame pointers) only with its slow unwinder, and that unwinder on every allocation made
  // ASan tests up to 14 times slower. So what this thread allocates during an EdDSA
  // signature is not leak-checked instead (ASan builds only).
  std::optional<__lsan::ScopedDisabler> module_leaks_ignored;
  if (mechanism.mechanism == CKM_EDDSA) module_leaks_ignored.emplace();
#endif
  MASA_RETURN_IF_ERROR(MASA_CK(fl_, C_SignInit, session.handle, &mechanism, handle));
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
  absl::StatusOr<std::string> signature = SignOnce(key, params, input, /*login_first=*/false);
  if (signature.ok()) return signature;
  const absl::Status& failed = signature.status();
  // After a device error the other idle sessions are most likely dead too.
  if (failed.code() == absl::StatusCode::kUnavailable) pool_.CloseIdle();
  // Login state is per application and ends when the token restarts: log in again, once.
  // Session copies of private keys die with a logout, and a handle the token forgot is not
  // the caller's fault either: both get one more try on a fresh session.
  const bool relogin = HasCkRv(failed, CKR_USER_NOT_LOGGED_IN);
  if (!relogin && !HasCkRv(failed, CKR_KEY_HANDLE_INVALID) &&
      !HasCkRv(failed, CKR_OBJECT_HANDLE_INVALID)) {
    return Annotate(failed, absl::StrCat("signing with ", key.uri));
  }
  pool_.CloseIdle();
  Log(LogLevel::kWarning, absl::StrCat("token '", label_, "': ", failed.message(),
                                       relogin ? "; logging in again" : "; retrying once"));
  // C_Login answers CKR_USER_ALREADY_LOGGED_IN when nothing was lost: cheap either way.
  signature = SignOnce(key, params, input, /*login_first=*/true);
  if (signature.ok()) return signature;
  if (HasCkRv(signature.status(), CKR_USER_NOT_LOGGED_IN)) {
    return absl::UnavailableError(
        absl::StrCat("token '", label_,
                     "' still answers CKR_USER_NOT_LOGGED_IN after logging in "
                     "again, signing with ",
                     key.uri));
  }
  return Annotate(signature.status(), absl::StrCat("signing with ", key.uri));
}

absl::StatusOr<std::string> TokenImpl::SignOnce(const KeyInfo& key, const SignParams& params,
                                                std::string_view input, bool login_first) {
  MASA_ASSIGN_OR_RETURN(SessionPool::Lease lease, pool_.Acquire());
  if (login_first) {
    CkResult login = [&] {
      PinBuffer buffer(pin_);
      return MASA_CK(fl_, C_Login, lease.handle(), CKU_USER, buffer.data(), buffer.size());
    }();
    if (!login.ok() && login.rv() != CKR_USER_ALREADY_LOGGED_IN) {
      lease.Discard();
      return Annotate(login.status(), absl::StrCat("logging in to token '", label_, "' again"));
    }
  }
  absl::StatusOr<std::string> signature = SignInSession(lease.session(), key, params, input);
  // After any error the session may be mid-operation or dead: never reuse it.
  if (!signature.ok()) lease.Discard();
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

}  // namespace internal

using internal::CkResult;
using internal::FromPadded;
using internal::ModuleImpl;
using internal::PinBuffer;
using internal::TokenImpl;

absl::StatusOr<std::unique_ptr<Token>> Token::Open(std::shared_ptr<Module> module,
                                                   std::string_view label_view, const Secret& pin,
                                                   TokenOptions options) {
  auto impl = std::dynamic_pointer_cast<ModuleImpl>(module);
  if (impl == nullptr) return absl::InvalidArgumentError("not a module from Module::Load");
  if (options.sessions == 0)
    return absl::InvalidArgumentError("a token needs at least one session");
  std::string label(label_view);
  CK_FUNCTION_LIST* fl = impl->functions();
  MASA_ASSIGN_OR_RETURN(CK_SLOT_ID slot, impl->FindSlot(label));
  CK_TOKEN_INFO info;
  MASA_RETURN_IF_ERROR(internal::GetTokenInfo(fl, slot, &info));

  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  MASA_RETURN_IF_ERROR(
      Annotate(MASA_CK(fl, C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                       nullptr, &session),
               absl::StrCat("opening token '", label, "'")));
  auto close = [&](absl::Status status) {
    (void)MASA_CK(fl, C_CloseSession, session);
    return status;
  };
  CkResult login = [&] {
    PinBuffer buffer(pin);
    return MASA_CK(fl, C_Login, session, CKU_USER, buffer.data(), buffer.size());
  }();
  const std::string login_key =
      absl::StrCat(label, "/", FromPadded(info.serialNumber, sizeof(info.serialNumber)));
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

  return std::make_unique<TokenImpl>(std::move(impl), slot, std::move(label), info,
                                     Secret(std::string(pin.view())), session,
                                     std::move(mechanisms), options);
}

}  // namespace masa::hsm
