// Status propagation helpers shared by every component.
// absl ships Status/StatusOr but (in Debian 12's 20220623) no propagation macros.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <string>
#include <string_view>

#define MASA_CONCAT_INNER_(a, b) a##b
#define MASA_CONCAT_(a, b) MASA_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define MASA_RETURN_IF_ERROR(expr)                                  \
  do {                                                              \
    if (::absl::Status masa_status_ = (expr); !masa_status_.ok()) { \
      return masa_status_;                                          \
    }                                                               \
  } while (false)

// `MASA_ASSIGN_OR_RETURN(auto x, Foo());` declares x from an OK StatusOr, else returns
// its status from the enclosing function.
#define MASA_ASSIGN_OR_RETURN(lhs, rexpr) \
  MASA_ASSIGN_OR_RETURN_IMPL_(MASA_CONCAT_(masa_statusor_, __LINE__), lhs, rexpr)

#define MASA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

namespace masa {

// Debian 12's abseil is built with its own absl::string_view, which absl::StrCat and
// absl::Status need; this turns a std::string_view into one without a copy.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Prefixes `status`'s message with `context` ("loading key: ..."), keeping its code.
inline absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), std::string(context) + ": " + std::string(status.message()));
}

}  // namespace masa
