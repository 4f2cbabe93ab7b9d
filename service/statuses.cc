// The status vocabulary: one name table per enum of service/types.h.
#include <span>

#include "service/types.h"

namespace masa::service {
namespace {

template <typename E>
struct Name {
  E value;
  std::string_view name;
};

// The product documentation's words. Adding a value: the enum in service.h and one line here.
constexpr Name<VoucherStatus> kVoucherStatuses[] = {
    {VoucherStatus::kCompleted, "completed"},
    {VoucherStatus::kExpired, "expired"},
    {VoucherStatus::kArchived, "archived"},
    {VoucherStatus::kSuperseded, "superseded"},
};
constexpr Name<SerialStatus> kSerialStatuses[] = {
    {SerialStatus::kCompleted, "completed"},
    {SerialStatus::kFailed, "failed"},
};
constexpr Name<RequestStatus> kRequestStatuses[] = {
    {RequestStatus::kCompleted, "completed"},
    {RequestStatus::kPartial, "partial"},
    {RequestStatus::kFailed, "failed"},
};
// Names accepted on input only: what older builds of this API called a value.
constexpr Name<VoucherStatus> kVoucherStatusAliases[] = {
    {VoucherStatus::kCompleted, "issued"},
};

template <typename E>
struct Table;
template <>
struct Table<VoucherStatus> {
  static std::span<const Name<VoucherStatus>> Names() { return kVoucherStatuses; }
  static std::span<const Name<VoucherStatus>> Aliases() { return kVoucherStatusAliases; }
};
template <>
struct Table<SerialStatus> {
  static std::span<const Name<SerialStatus>> Names() { return kSerialStatuses; }
  static std::span<const Name<SerialStatus>> Aliases() { return {}; }
};
template <>
struct Table<RequestStatus> {
  static std::span<const Name<RequestStatus>> Names() { return kRequestStatuses; }
  static std::span<const Name<RequestStatus>> Aliases() { return {}; }
};

}  // namespace

template <typename E>
std::string_view StatusName(E status) {
  for (const auto& [value, name] : Table<E>::Names()) {
    if (value == status) return name;
  }
  return "?";  // only a value missing from its table; the statuses test catches that
}

template <typename E>
std::optional<E> ParseStatus(std::string_view name) {
  for (auto table : {Table<E>::Names(), Table<E>::Aliases()}) {
    for (const auto& entry : table) {
      if (entry.name == name) return entry.value;
    }
  }
  return std::nullopt;
}

template <typename E>
std::vector<std::string_view> StatusNames() {
  std::vector<std::string_view> out;
  for (const auto& entry : Table<E>::Names()) out.push_back(entry.name);
  return out;
}

#define MASA_STATUS_ENUM(E)                                   \
  template std::string_view StatusName<E>(E);                 \
  template std::optional<E> ParseStatus<E>(std::string_view); \
  template std::vector<std::string_view> StatusNames<E>();
MASA_STATUS_ENUM(VoucherStatus)
MASA_STATUS_ENUM(SerialStatus)
MASA_STATUS_ENUM(RequestStatus)
#undef MASA_STATUS_ENUM

std::string_view PrincipalKindName(PrincipalKind kind) {
  return kind == PrincipalKind::kServiceAccount ? "service-account" : "user";
}

}  // namespace masa::service
