#include "queue/bearer.h"

#include "absl/strings/match.h"

namespace masa::queue {

std::string BearerTokenOf(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  std::string_view value = authorization;
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(absl::string_view(value.data(), kScheme.size()),
                              absl::string_view(kScheme.data(), kScheme.size()))) {
    return std::string();
  }
  value.remove_prefix(kScheme.size());
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && blank(value.front())) value.remove_prefix(1);
  while (!value.empty() && blank(value.back())) value.remove_suffix(1);
  return std::string(value);
}

}  // namespace masa::queue
