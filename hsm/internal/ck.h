// The one gate to CK_FUNCTION_LIST: every C_* call goes through MASA_CK, and every CK_RV
// becomes an absl::Status in FromCkRv. Only hsm/ may include this header.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace masa::hsm {
class Module;
}  // namespace masa::hsm

namespace masa::hsm::internal {

// "CKR_PIN_INCORRECT", or "CKR_0x..." for a value this file does not know.
std::string CkRvName(CK_RV rv);

// The one CK_RV -> absl::Status table. `function` names the call ("C_Login"); the message
// is "C_Login: CKR_PIN_INCORRECT". Never sees a PIN or other secret.
absl::Status FromCkRv(CK_RV rv, std::string_view function);

// Whether `status` came from FromCkRv(rv, ...) (possibly annotated since): the one place
// that reads a CK_RV back out of a Status, for callers that react to one value.
bool HasCkRv(const absl::Status& status, CK_RV rv);

// The outcome of one C_* call: its name and CK_RV. Converts implicitly to absl::Status so
// that MASA_RETURN_IF_ERROR(MASA_CK(...)) reads naturally; rv() lets a caller treat a
// particular value (CKR_USER_ALREADY_LOGGED_IN, ...) as success.
class CkResult {
 public:
  CkResult(const char* function, CK_RV rv) : function_(function), rv_(rv) {}
  bool ok() const { return rv_ == CKR_OK; }
  CK_RV rv() const { return rv_; }
  const char* function() const { return function_; }
  absl::Status status() const { return FromCkRv(rv_, function_); }
  operator absl::Status() const { return status(); }  // NOLINT: implicit by design

 private:
  const char* function_;
  CK_RV rv_;
};

// Calls `functions->fn(args...)` and names it: MASA_CK(fl, C_Login, session, CKU_USER, ...).
#define MASA_CK(functions, fn, ...) \
  ::masa::hsm::internal::CkResult(#fn, (functions)->fn(__VA_ARGS__))

// The module's function list (for hsm/ internals and hsm/ tests only).
CK_FUNCTION_LIST* FunctionListOf(const Module& module);

// C_GetTokenInfo, one call at a time in this process. SoftHSM2 fills utcTime with gmtime(),
// whose result is one static buffer: two threads asking about two tokens at once (a group's
// probes) race on it. Every C_GetTokenInfo of hsm/ goes through here.
CkResult GetTokenInfo(CK_FUNCTION_LIST* fl, CK_SLOT_ID slot, CK_TOKEN_INFO* info);

// Reads one attribute of `object` (two C_GetAttributeValue calls: size, then value).
// CKR_ATTRIBUTE_SENSITIVE comes back as kPermissionDenied.
absl::StatusOr<std::string> GetAttribute(CK_FUNCTION_LIST* fl, CK_SESSION_HANDLE session,
                                         CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
// Reads a CK_BBOOL / CK_ULONG attribute.
absl::StatusOr<bool> GetBoolAttribute(CK_FUNCTION_LIST* fl, CK_SESSION_HANDLE session,
                                      CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
absl::StatusOr<CK_ULONG> GetUlongAttribute(CK_FUNCTION_LIST* fl, CK_SESSION_HANDLE session,
                                           CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);

// Every object matching `attributes` (C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal;
// the search is always finalized, even on error).
absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(CK_FUNCTION_LIST* fl,
                                                          CK_SESSION_HANDLE session,
                                                          CK_ATTRIBUTE* attributes, CK_ULONG count);

// Fixed-width blank-padded CK_UTF8CHAR fields (labels, manufacturer, ...) as a string
// without the trailing blanks.
std::string FromPadded(const CK_UTF8CHAR* field, size_t size);

}  // namespace masa::hsm::internal
