#include "hsm/internal/ck.h"

#include <cctype>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace masa::hsm::internal {

std::string CkRvName(CK_RV rv) {
  switch (rv) {
#define MASA_CKR(name) \
  case name:           \
    return #name
    MASA_CKR(CKR_OK);
    MASA_CKR(CKR_CANCEL);
    MASA_CKR(CKR_HOST_MEMORY);
    MASA_CKR(CKR_SLOT_ID_INVALID);
    MASA_CKR(CKR_GENERAL_ERROR);
    MASA_CKR(CKR_FUNCTION_FAILED);
    MASA_CKR(CKR_ARGUMENTS_BAD);
    MASA_CKR(CKR_NO_EVENT);
    MASA_CKR(CKR_NEED_TO_CREATE_THREADS);
    MASA_CKR(CKR_CANT_LOCK);
    MASA_CKR(CKR_ATTRIBUTE_READ_ONLY);
    MASA_CKR(CKR_ATTRIBUTE_SENSITIVE);
    MASA_CKR(CKR_ATTRIBUTE_TYPE_INVALID);
    MASA_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
    MASA_CKR(CKR_ACTION_PROHIBITED);
    MASA_CKR(CKR_DATA_INVALID);
    MASA_CKR(CKR_DATA_LEN_RANGE);
    MASA_CKR(CKR_DEVICE_ERROR);
    MASA_CKR(CKR_DEVICE_MEMORY);
    MASA_CKR(CKR_DEVICE_REMOVED);
    MASA_CKR(CKR_ENCRYPTED_DATA_INVALID);
    MASA_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE);
    MASA_CKR(CKR_FUNCTION_CANCELED);
    MASA_CKR(CKR_FUNCTION_NOT_PARALLEL);
    MASA_CKR(CKR_FUNCTION_NOT_SUPPORTED);
    MASA_CKR(CKR_KEY_HANDLE_INVALID);
    MASA_CKR(CKR_KEY_SIZE_RANGE);
    MASA_CKR(CKR_KEY_TYPE_INCONSISTENT);
    MASA_CKR(CKR_KEY_NOT_NEEDED);
    MASA_CKR(CKR_KEY_CHANGED);
    MASA_CKR(CKR_KEY_NEEDED);
    MASA_CKR(CKR_KEY_INDIGESTIBLE);
    MASA_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED);
    MASA_CKR(CKR_KEY_NOT_WRAPPABLE);
    MASA_CKR(CKR_KEY_UNEXTRACTABLE);
    MASA_CKR(CKR_MECHANISM_INVALID);
    MASA_CKR(CKR_MECHANISM_PARAM_INVALID);
    MASA_CKR(CKR_OBJECT_HANDLE_INVALID);
    MASA_CKR(CKR_OPERATION_ACTIVE);
    MASA_CKR(CKR_OPERATION_NOT_INITIALIZED);
    MASA_CKR(CKR_PIN_INCORRECT);
    MASA_CKR(CKR_PIN_INVALID);
    MASA_CKR(CKR_PIN_LEN_RANGE);
    MASA_CKR(CKR_PIN_EXPIRED);
    MASA_CKR(CKR_PIN_LOCKED);
    MASA_CKR(CKR_SESSION_CLOSED);
    MASA_CKR(CKR_SESSION_COUNT);
    MASA_CKR(CKR_SESSION_HANDLE_INVALID);
    MASA_CKR(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    MASA_CKR(CKR_SESSION_READ_ONLY);
    MASA_CKR(CKR_SESSION_EXISTS);
    MASA_CKR(CKR_SESSION_READ_ONLY_EXISTS);
    MASA_CKR(CKR_SESSION_READ_WRITE_SO_EXISTS);
    MASA_CKR(CKR_SIGNATURE_INVALID);
    MASA_CKR(CKR_SIGNATURE_LEN_RANGE);
    MASA_CKR(CKR_TEMPLATE_INCOMPLETE);
    MASA_CKR(CKR_TEMPLATE_INCONSISTENT);
    MASA_CKR(CKR_TOKEN_NOT_PRESENT);
    MASA_CKR(CKR_TOKEN_NOT_RECOGNIZED);
    MASA_CKR(CKR_TOKEN_WRITE_PROTECTED);
    MASA_CKR(CKR_UNWRAPPING_KEY_HANDLE_INVALID);
    MASA_CKR(CKR_UNWRAPPING_KEY_SIZE_RANGE);
    MASA_CKR(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
    MASA_CKR(CKR_USER_ALREADY_LOGGED_IN);
    MASA_CKR(CKR_USER_NOT_LOGGED_IN);
    MASA_CKR(CKR_USER_PIN_NOT_INITIALIZED);
    MASA_CKR(CKR_USER_TYPE_INVALID);
    MASA_CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    MASA_CKR(CKR_USER_TOO_MANY_TYPES);
    MASA_CKR(CKR_WRAPPED_KEY_INVALID);
    MASA_CKR(CKR_WRAPPED_KEY_LEN_RANGE);
    MASA_CKR(CKR_WRAPPING_KEY_HANDLE_INVALID);
    MASA_CKR(CKR_WRAPPING_KEY_SIZE_RANGE);
    MASA_CKR(CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
    MASA_CKR(CKR_RANDOM_SEED_NOT_SUPPORTED);
    MASA_CKR(CKR_RANDOM_NO_RNG);
    MASA_CKR(CKR_DOMAIN_PARAMS_INVALID);
    MASA_CKR(CKR_CURVE_NOT_SUPPORTED);
    MASA_CKR(CKR_BUFFER_TOO_SMALL);
    MASA_CKR(CKR_SAVED_STATE_INVALID);
    MASA_CKR(CKR_INFORMATION_SENSITIVE);
    MASA_CKR(CKR_STATE_UNSAVEABLE);
    MASA_CKR(CKR_CRYPTOKI_NOT_INITIALIZED);
    MASA_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED);
    MASA_CKR(CKR_MUTEX_BAD);
    MASA_CKR(CKR_MUTEX_NOT_LOCKED);
    MASA_CKR(CKR_FUNCTION_REJECTED);
#undef MASA_CKR
    default:
      if (rv >= CKR_VENDOR_DEFINED)
        return absl::StrFormat("CKR_VENDOR_DEFINED+0x%x", rv - CKR_VENDOR_DEFINED);
      return absl::StrFormat("CKR_0x%08x", rv);
  }
}

absl::Status FromCkRv(CK_RV rv, std::string_view function) {
  if (rv == CKR_OK) return absl::OkStatus();
  std::string message = absl::StrCat(Sv(function), ": ", CkRvName(rv));
  switch (rv) {
    // Wrong credentials: the caller must supply another PIN.
    case CKR_PIN_INCORRECT:
    case CKR_ATTRIBUTE_SENSITIVE:
    case CKR_KEY_UNEXTRACTABLE:
    case CKR_ACTION_PROHIBITED:
    case CKR_INFORMATION_SENSITIVE:
      return absl::PermissionDeniedError(message);
    // Retry later, maybe after reopening: the token is busy, gone or its session died.
    case CKR_DEVICE_REMOVED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_COUNT:
    case CKR_FUNCTION_CANCELED:
    case CKR_CANCEL:
      return absl::UnavailableError(message);
    // The request itself is wrong for this key or token.
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_KEY_SIZE_RANGE:
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_ATTRIBUTE_TYPE_INVALID:
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_ATTRIBUTE_READ_ONLY:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_CURVE_NOT_SUPPORTED:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_ARGUMENTS_BAD:
    case CKR_SLOT_ID_INVALID:
      return absl::InvalidArgumentError(message);
    // Something must be fixed first: unlock the PIN, log in, initialize the token, ...
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
    case CKR_USER_ALREADY_LOGGED_IN:
    case CKR_USER_TYPE_INVALID:
    case CKR_USER_TOO_MANY_TYPES:
    case CKR_SESSION_EXISTS:
    case CKR_SESSION_READ_ONLY:
    case CKR_SESSION_READ_ONLY_EXISTS:
    case CKR_SESSION_READ_WRITE_SO_EXISTS:
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_CRYPTOKI_ALREADY_INITIALIZED:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OPERATION_ACTIVE:
    case CKR_CANT_LOCK:
    case CKR_NEED_TO_CREATE_THREADS:
      return absl::FailedPreconditionError(message);
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_FUNCTION_NOT_PARALLEL:
    case CKR_SESSION_PARALLEL_NOT_SUPPORTED:
    case CKR_RANDOM_NO_RNG:
      return absl::UnimplementedError(message);
    case CKR_HOST_MEMORY:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

bool HasCkRv(const absl::Status& status, CK_RV rv) {
  if (status.ok()) return rv == CKR_OK;
  std::string name = absl::StrCat(": ", CkRvName(rv));
  std::string_view message(status.message().data(), status.message().size());
  size_t at = message.find(name);
  // Whole name only: CKR_KEY_HANDLE_INVALID must not match CKR_KEY_HANDLE_INVALID_X.
  while (at != std::string_view::npos) {
    size_t end = at + name.size();
    if (end == message.size() ||
        !(isalnum(static_cast<unsigned char>(message[end])) || message[end] == '_')) {
      return true;
    }
    at = message.find(name, end);
  }
  return false;
}

absl::StatusOr<std::string> GetAttribute(CK_FUNCTION_LIST* fl, CK_SESSION_HANDLE session,
                                         CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute = {type, nullptr, 0};
  MASA_RETURN_IF_ERROR(MASA_CK(fl, C_GetAttributeValue, session, object, &attribute, 1));
  if (attribute.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return FromCkRv(CKR_ATTRIBUTE_SENSITIVE, "C_GetAttributeValue");
  }
  std::string value(attribute.ulValueLen, '\0');
  attribute.pValue = value.data();
  MASA_RETURN_IF_ERROR(MASA_CK(fl, C_GetAttributeValue, session, object, &attribute, 1));
  value.resize(attribute.ulValueLen);
  return value;
}

absl::StatusOr<bool> GetBoolAttribute(CK_FUNCTION_LIST* fl, CK_SESSION_HANDLE session,
                                      CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attribute = {type, &value, sizeof(value)};
  MASA_RETURN_IF_ERROR(MASA_CK(fl, C_GetAttributeValue, session, object, &attribute, 1));
  return value != CK_FALSE;
}

absl::StatusOr<CK_ULONG> GetUlongAttribute(CK_FUNCTION_LIST* fl, CK_SESSION_HANDLE session,
                                           CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attribute = {type, &value, sizeof(value)};
  MASA_RETURN_IF_ERROR(MASA_CK(fl, C_GetAttributeValue, session, object, &attribute, 1));
  return value;
}

absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(CK_FUNCTION_LIST* fl,
                                                          CK_SESSION_HANDLE session,
                                                          CK_ATTRIBUTE* attributes,
                                                          CK_ULONG count) {
  MASA_RETURN_IF_ERROR(MASA_CK(fl, C_FindObjectsInit, session, attributes, count));
  std::vector<CK_OBJECT_HANDLE> found;
  absl::Status status;
  while (true) {
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG n = 0;
    status = MASA_CK(fl, C_FindObjects, session, batch, 64, &n);
    if (!status.ok() || n == 0) break;
    found.insert(found.end(), batch, batch + n);
  }
  // Always end the search, or the session stays mid-operation.
  absl::Status final_status = MASA_CK(fl, C_FindObjectsFinal, session);
  if (!status.ok()) return status;
  if (!final_status.ok()) return final_status;
  return found;
}

CkResult GetTokenInfo(CK_FUNCTION_LIST* fl, CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
  static std::mutex mu;  // constexpr-constructed, trivially destroyed
  std::lock_guard<std::mutex> lock(mu);
  return MASA_CK(fl, C_GetTokenInfo, slot, info);
}

std::string FromPadded(const CK_UTF8CHAR* field, size_t size) {
  std::string value(reinterpret_cast<const char*>(field), size);
  // Some tokens NUL-pad instead of blank-pad.
  size_t nul = value.find('\0');
  if (nul != std::string::npos) value.resize(nul);
  size_t end = value.find_last_not_of(' ');
  value.resize(end == std::string::npos ? 0 : end + 1);
  return value;
}

}  // namespace masa::hsm::internal
